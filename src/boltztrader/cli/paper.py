"""``boltz paper``: run the paper brokers (local Kite Connect, Binance and Alpaca servers)."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import typer

from boltztrader.cli.common import fail, out
from boltztrader.paper.engine import EngineConfig
from boltztrader.paper.registry import DEFAULT_PORTS, specs
from boltztrader.paper.server import serve as serve_brokers
from boltztrader.paper.venue import VenueConfig

app = typer.Typer(help="Paper brokers that speak each broker's real wire protocol.", no_args_is_help=True)


class Which(StrEnum):
    KITE = "kite"
    BINANCE = "binance"
    ALPACA = "alpaca"
    ALL = "all"


@app.command()
def serve(
    broker: Annotated[Which, typer.Option(help="Which paper broker to run.")] = Which.ALL,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(
        help="Port (one broker only; default: kite 7101, binance 7102, alpaca 7103).",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the price random walks (same seed, same prices).")] = 7,
    real_hours: Annotated[bool, typer.Option(
        "--real-hours", help="Keep each exchange's sessions (default: open around the clock).")] = False,
    tick_seconds: Annotated[float, typer.Option(
        help="Seconds between random-walk price steps; 0 moves prices only through /_paper/.")] = 1.0,
    spread_bps: Annotated[str, typer.Option(help="Bid-ask spread around the price, in basis points.")] = "2",
    slippage_bps: Annotated[str, typer.Option(help="Extra price move against market orders, in bps.")] = "0",
    fill_parts: Annotated[int, typer.Option(help="Split every fill into this many partial fills.")] = 1,
    no_rate_limits: Annotated[bool, typer.Option(
        "--no-rate-limits",
        help="Do not enforce the brokers' rate limits (throughput benchmarks only).")] = False,
) -> None:
    """Start paper brokers; each prints its URL. Admin API under /_paper/ on each."""
    chosen = list(specs().values()) if broker is Which.ALL else [specs()[broker.value]]
    if port is not None and len(chosen) > 1:
        raise fail("--port needs a single --broker; with all, each uses its default port")
    if fill_parts < 1 or tick_seconds < 0:
        raise fail("--fill-parts must be at least 1 and --tick-seconds not negative")
    try:
        engine = EngineConfig(spread_bps=Decimal(spread_bps), slippage_bps=Decimal(slippage_bps),
                              fill_parts=fill_parts)
    except ArithmeticError:
        raise fail("--spread-bps and --slippage-bps must be numbers") from None
    config = VenueConfig(seed=seed, engine=engine, real_hours=real_hours, tick_seconds=tick_seconds,
                         rate_limits=not no_rate_limits)
    ports = {spec.name: port if port is not None else DEFAULT_PORTS[spec.name] for spec in chosen}
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(serve_brokers(chosen, host, ports, config, announce=out.print))
        except OSError as exc:
            raise fail(f"cannot listen on {host}: {exc.strerror or exc}") from None
