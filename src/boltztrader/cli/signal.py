"""``boltz signal``: send a trading signal from the command line, and look one up.

``send`` goes through the same intake as the API: validated, routed, sized, risk-checked and
written (signal, intents, audit) before anything is sent. By default this process then sends the
orders itself, after reconciling the target accounts as a service would at start-up, and prints
each account's final status; ``--no-send`` only records the signal and leaves the sending to a
running ``boltz serve``.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from boltztrader.cli.common import DatabaseUrlOption, err, fail, out, run, settings_from
from boltztrader.db import orders as repo
from boltztrader.db.tables import broker_orders
from boltztrader.domain.signals import InvalidSignal
from boltztrader.orders.execution import ExecutionPolicy
from boltztrader.orders.intake import SignalResult
from boltztrader.wiring import build_container
from boltztrader.wiring.runtime import build_runtime

app = typer.Typer(help="Send trading signals and see what became of them.", no_args_is_help=True)

_NO_BACKGROUND = ExecutionPolicy(dispatch_interval=0, approvals_interval=0, sweep_interval=0,
                                 positions_interval=0, balances_interval=0, streams=False)


@app.command()
def send(
    symbol: Annotated[str | None, typer.Option(help="Instrument, e.g. BTCUSDT, INFY, AAPL.")] = None,
    market: Annotated[str | None, typer.Option(help="nse, bse, nfo, us, crypto, crypto_futures.")] = None,
    side: Annotated[str | None, typer.Option(help="buy or sell.")] = None,
    quantity: Annotated[str | None, typer.Option(help="Quantity (or give --notional).")] = None,
    notional: Annotated[str | None, typer.Option(help="Amount in the quote currency.")] = None,
    confidence: Annotated[str, typer.Option(help="The model's confidence, 0 to 1.")] = "1",
    model: Annotated[str, typer.Option("--model", help="Model id (its subscribers get the signal "
                                                       "when no account or user is named).")] = "cli",
    account: Annotated[str | None, typer.Option("--account", help="Send to this account only.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Send to this user's account.")] = None,
    limit_price: Annotated[str | None, typer.Option(help="A limit price (else a market order).")] = None,
    signal_id: Annotated[str | None, typer.Option(
        "--id", help="Signal id (default: a new one). The same signal again (use --file to repeat it "
        "exactly) is answered as before.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="The signal as JSON ('-': standard input) "
                                                             "instead of the options above.")] = None,
    send_orders: Annotated[bool, typer.Option("--send/--no-send", help="Send the orders from this "
                                              "process (default), or leave them to `boltz serve`.")] = True,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Send one signal; prints each target account's order and status."""
    data = _from_file(file) if file is not None else _from_options(
        symbol=symbol, market=market, side=side, quantity=quantity, notional=notional,
        confidence=confidence, model=model, account=account, user=user, limit_price=limit_price,
        signal_id=signal_id)
    settings = settings_from(database_url=database_url)

    async def go() -> tuple[SignalResult, dict[str, repo.OrderRecord]]:
        container = build_container(settings)
        try:
            await container.check_ready()
            runtime = await build_runtime(settings, container.engine, policy=_NO_BACKGROUND)
            try:
                result = await runtime.intake.process_signal(data, source="cli")
                if send_orders and result.to_submit:
                    sending = set(result.to_submit)
                    targets = sorted({o.account_id for o in result.outcomes if o.order_id in sending})
                    for account_id in targets:  # what a service does before an account trades again
                        await runtime.reconciler.startup(account_id)
                    await runtime.manager.submit_many(result.to_submit)
                async with container.engine.connect() as conn:
                    rows = await repo.get_many(conn, [o.order_id for o in result.outcomes])
                return result, rows
            finally:
                await runtime.aclose()
        finally:
            await container.aclose()

    try:
        result, rows = run(go)
    except InvalidSignal as exc:
        raise fail(f"invalid signal: {exc}") from None
    _print(result, rows, sent=send_orders)


@app.command()
def show(
    signal_id: Annotated[str, typer.Argument(help="The signal id.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Each account's order for a signal, with its current status."""
    settings = settings_from(database_url=database_url)

    async def go() -> list[Any]:
        container = build_container(settings)
        try:
            async with container.engine.connect() as conn:
                return list(await conn.execute(select(broker_orders).where(
                    broker_orders.c.signal_id == signal_id).order_by(broker_orders.c.account_id)))
        finally:
            await container.aclose()

    rows = run(go)
    if not rows:
        raise fail(f"no orders for signal {signal_id}")
    table = _table()
    for row in rows:
        table.add_row(row.account_id, row.id, row.symbol, row.side, str(row.quantity), row.status,
                      str(row.filled_quantity), row.reject_reason or "")
    out.print(table)


def _from_options(**given: str | None) -> dict[str, Any]:
    missing = [name for name in ("symbol", "market", "side") if not given[name]]
    if missing:
        raise fail(f"give --{missing[0]} (or --file with the whole signal)")
    data: dict[str, Any] = {
        "id": given["signal_id"] or f"cli-{uuid.uuid4().hex[:16]}", "model_id": given["model"],
        "symbol": given["symbol"], "market": given["market"], "side": given["side"],
        "confidence": _decimal(given["confidence"], "confidence"),
        "created_at": datetime.now(UTC).isoformat(),
    }
    for name, key in (("quantity", "quantity"), ("notional", "notional"), ("limit_price", "limit_price"),
                      ("account", "account_id"), ("user", "user_id")):
        if given[name] is not None:
            data[key] = _decimal(given[name], name) if name in ("quantity", "notional", "limit_price") \
                else given[name]
    return data


def _from_file(path: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        data = json.loads(text, parse_float=Decimal)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise fail(f"{path} must hold one JSON object (the signal)")
    return {k: (str(v) if isinstance(v, int | Decimal) and not isinstance(v, bool) else v)
            for k, v in data.items()}


def _decimal(text: str | None, name: str) -> str:
    try:
        Decimal(text or "")
    except ArithmeticError:
        raise fail(f"--{name.replace('_', '-')} must be a number, not {text!r}") from None
    return str(text)


def _table() -> Table:
    table = Table(show_lines=False)
    for column in ("account", "order", "symbol", "side", "quantity", "status", "filled", "reasons"):
        table.add_column(column)
    return table


def _print(result: SignalResult, rows: dict[str, repo.OrderRecord], *, sent: bool) -> None:
    if result.replay:
        err.print(f"signal {result.signal_id} was received before: its orders are shown, nothing was sent")
    if not result.outcomes:
        err.print(f"signal {result.signal_id}: no account to send it to "
                  "(no subscriber, or none for its market)")
        return
    table = _table()
    for outcome in result.outcomes:
        row = rows[outcome.order_id]
        table.add_row(outcome.account_id, outcome.order_id, row.symbol, row.side, str(row.quantity),
                      str(row.status), str(row.filled_quantity), ", ".join(outcome.reasons))
    out.print(table)
    if not sent and result.to_submit:
        err.print(f"{len(result.to_submit)} order(s) recorded; a running `boltz serve` sends them")
