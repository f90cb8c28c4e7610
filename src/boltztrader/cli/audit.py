"""``boltz audit``: verify the hash-chained audit ledger, sign checkpoints, make signing keys.

Exit codes: 0 the ledger is sound; 1 it is not (one line names the chain, the first bad seq and
why); 2 bad input (missing or malformed file, bad URL, unreachable database), as one line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader import audit
from boltztrader.audit import LedgerReport
from boltztrader.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DatabaseUrlOption,
    fail,
    out,
    settings_from,
    with_engine,
)
from boltztrader.db.engine import display_url, first_line, normalize_url
from boltztrader.errors import LedgerIntegrityError, TradingError

SHOW_CHAINS = 20

T = TypeVar("T")

app = typer.Typer(help="Verify the audit ledger and sign checkpoints of it.", no_args_is_help=True)

def database_url(flag: str | None) -> str:
    """The database URL: the flag, else BOLTZ_DATABASE_URL, else the embedded SQLite file."""
    return settings_from(database_url=flag).database_url


class _BadInput(Exception):
    """Input we cannot work with; the message is the one line the user sees."""


@app.command()
def verify(
    database_url_: DatabaseUrlOption = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="Signed checkpoint file.")] = None,
    public_key: Annotated[Path | None, typer.Option("--public-key", help="PEM public key.")] = None,
) -> None:
    """Verify every chain; exit 1 naming the first bad entry, 0 when the ledger is sound."""
    try:
        if checkpoint is not None and public_key is None:
            raise _BadInput("--checkpoint needs --public-key: a checkpoint is trusted only by its signature")
        signed = audit.read_checkpoint(_existing(checkpoint)) if checkpoint is not None else None
        key = audit.load_public_key(_existing(public_key)) if public_key is not None else None
        url = _url(database_url(database_url_))
        report = _with_engine(
            url, lambda engine: audit.verify_ledger(engine, checkpoint=signed, public_key=key))
    except (_BadInput, TradingError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    failure = report.first_failure()
    if failure is not None:
        raise fail(f"audit ledger verification FAILED: {failure}", EXIT_FAILED)
    _summary(report)


@app.command("checkpoint")
def checkpoint_(
    key: Annotated[Path, typer.Option("--key", help="PEM Ed25519 private key file.")],
    out_file: Annotated[Path, typer.Option("--out", help="Checkpoint file to write.")],
    database_url_: DatabaseUrlOption = None,
) -> None:
    """Verify the ledger, then write a checkpoint of every chain's head signed with KEY."""
    try:
        _existing(key)
        url = _url(database_url(database_url_))
        signed = _with_engine(url, lambda engine: audit.export_checkpoint(engine, key, out_file))
    except LedgerIntegrityError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    except (_BadInput, TradingError, OSError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    heads = signed.checkpoint.heads
    out.print(f"checkpoint of {len(heads)} chain(s), {sum(h.seq for h in heads)} entries "
              f"written to {out_file} (key {signed.public_key_fingerprint})")


@app.command()
def keygen(out_dir: Annotated[Path, typer.Option("--out-dir", help="Directory for the key pair.")]) -> None:
    """Create an Ed25519 key pair for signing checkpoints (private key file mode 0600)."""
    try:
        private_path, public_path = audit.generate_keypair(out_dir)
    except OSError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    out.print(f"private key: {private_path} (keep it outside the database host; mode 0600)")
    out.print(f"public key:  {public_path}")


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise _BadInput(f"file not found: {path}")
    return path


def _url(raw: str) -> URL:
    url = normalize_url(raw)
    name = url.database
    if url.get_backend_name() == "sqlite" and name and name != ":memory:" and not Path(name).is_file():
        raise _BadInput(f"database file not found: {name}")
    return url


def _with_engine(url: URL, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    try:
        return asyncio.run(with_engine(url, work))
    except SQLAlchemyError as exc:
        hint = " (is the schema migrated? run `boltz db upgrade`)" if "audit_" in str(exc) else ""
        raise _BadInput(
            f"cannot read the audit ledger from {display_url(url)}: {first_line(exc)}{hint}") from None


def _summary(report: LedgerReport) -> None:
    table = Table(title="audit ledger", title_justify="left")
    table.add_column("chain")
    table.add_column("entries", justify="right")
    table.add_column("head seq", justify="right")
    table.add_column("head hash")
    for chain in report.chains[:SHOW_CHAINS]:
        table.add_row(chain.chain, str(chain.entries), str(chain.head.seq), chain.head.hash[:16] + "…")
    out.print(table)
    if len(report.chains) > SHOW_CHAINS:
        out.print(f"… and {len(report.chains) - SHOW_CHAINS} more chains")
    signed = " and the signed checkpoint" if report.checkpoint is not None else ""
    out.print(f"[green]OK[/]: {len(report.chains)} chain(s), {report.entries} entries verified "
              f"against their heads{signed}", soft_wrap=True)
