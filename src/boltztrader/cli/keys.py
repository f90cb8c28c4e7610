"""``boltz keys``: the credential vault's master keys: make one, rotate to it, see what each wraps.

Exit codes: 0 done; 1 some stored credential could not be re-wrapped (each is named, one line
each); 2 bad input (configuration, unreachable database), as one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.keyring import (
    DEV_KEY_FILE,
    Keyring,
    create_key_file,
    generate_master_key,
    load_keyring,
)
from boltztrader.accounts.rotation import (
    DEFAULT_BATCH_SIZE,
    RotationReport,
    count_accounts,
    count_by_key,
    rotate_credentials,
)
from boltztrader.accounts.vault import Vault
from boltztrader.cli.common import (
    EXIT_FAILED,
    DatabaseUrlOption,
    err,
    fail,
    out,
    run,
    settings_from,
    with_engine,
)
from boltztrader.db.engine import normalize_url
from boltztrader.domain.secrets import Secret
from boltztrader.errors import ConfigError, TradingError
from boltztrader.settings import RunMode, Settings

SHOW_FAILURES = 20

app = typer.Typer(help="Master keys of the credential vault: generate, rotate, status.", no_args_is_help=True)

BatchSizeOption = Annotated[
    int, typer.Option("--batch-size", min=1, max=10_000, help="Accounts re-wrapped per transaction.")
]


def keyring_from(settings: Settings) -> Keyring:
    """The keys the service holds: BOLTZ_MASTER_KEY(_FILE) and BOLTZ_PREVIOUS_MASTER_KEYS.

    In paper mode without a configured key, the development key file, if the service made one;
    these commands never create a key the service would not use.
    """
    dev_file = DEV_KEY_FILE if settings.mode is RunMode.PAPER and DEV_KEY_FILE.is_file() else None
    return load_keyring(master_key=_secret(settings.master_key), master_key_file=settings.master_key_file,
                        previous=_secret(settings.previous_master_keys), dev_key_file=dev_file)


def _secret(value: SecretStr | None) -> Secret | None:
    return None if value is None else Secret(value.get_secret_value())


@app.command()
def generate(
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the key to this new file (mode 0600) instead of printing it.")] = None,
) -> None:
    """Print a new random master key, for BOLTZ_MASTER_KEY (or write it to a new key file)."""
    if out_file is None:
        typer.echo(generate_master_key())
        return
    try:
        key = create_key_file(out_file)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote master key {key.key_id} to {out_file}")


@app.command()
def rotate(database_url: DatabaseUrlOption = None, batch_size: BatchSizeOption = DEFAULT_BATCH_SIZE) -> None:
    """Re-wrap every stored credential under the current master key; safe to interrupt and re-run."""
    try:
        settings = settings_from(database_url=database_url)
        vault = Vault(keyring_from(settings))
        url = normalize_url(settings.database_url)
    except TradingError as exc:
        raise fail(str(exc)) from None

    async def work(engine: AsyncEngine) -> RotationReport:
        total = await count_accounts(engine)
        columns = (TextColumn("re-wrapping credentials"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("rotate", total=total)
            return await rotate_credentials(engine, vault, batch_size=batch_size,
                                            on_accounts=lambda n: progress.advance(task, n))

    report = run(lambda: with_engine(url, work))
    _print_report(report, vault.primary_key_id)
    if report.failures:
        raise typer.Exit(EXIT_FAILED)


def _print_report(report: RotationReport, primary: str) -> None:
    out.print(f"re-wrapped {report.rewrapped} credential(s) under master key {primary}; "
              f"{report.already_current} already current", soft_wrap=True)
    for line in report.failures[:SHOW_FAILURES]:
        err.print(f"[bold red]not re-wrapped:[/] {escape(line)}", soft_wrap=True)
    if len(report.failures) > SHOW_FAILURES:
        err.print(f"... and {len(report.failures) - SHOW_FAILURES} more not re-wrapped")
    if report.changed_meanwhile:
        out.print(f"{report.changed_meanwhile} credential(s) kept changing while rotating: run it again",
                  soft_wrap=True)
    if report.complete:
        out.print("every stored credential is under the current master key: "
                  "previous keys may now be removed from BOLTZ_PREVIOUS_MASTER_KEYS", soft_wrap=True)


@app.command()
def status(database_url: DatabaseUrlOption = None) -> None:
    """Count the stored credentials under each master key, and show which keys this process holds."""
    try:
        settings = settings_from(database_url=database_url)
        url = normalize_url(settings.database_url)
    except TradingError as exc:
        raise fail(str(exc)) from None
    roles: dict[str, str] = {}
    try:
        keyring = keyring_from(settings)
        roles = {keyring.primary.key_id: "primary", **{k.key_id: "previous" for k in keyring.previous}}
    except ConfigError as exc:
        err.print(f"this process holds no master key ({exc})", soft_wrap=True, markup=False)

    counts = run(lambda: with_engine(url, count_by_key))
    table = Table("master key", "credentials", "held by this process as")
    for key_id in dict.fromkeys([*roles, *sorted(counts)]):
        table.add_row(key_id, str(counts.get(key_id, 0)), roles.get(key_id, "not held"))
    out.print(table)
