"""The ``boltz`` command: every entry point of the execution layer."""

from __future__ import annotations

import sys

import typer

import boltztrader
from boltztrader.cli import audit, db, keys, paper, serve, signal, users, worker
from boltztrader.cli.common import EXIT_USAGE, fail
from boltztrader.errors import TradingError

app = typer.Typer(
    name="boltz",
    help="BoltzTrader: turn AI trading signals into broker orders, exactly once, with an audit trail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(paper.app, name="paper")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(signal.app, name="signal")
app.command()(serve.serve)
app.command()(worker.worker)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(boltztrader.__version__)


def main() -> None:
    """Console entry point: our own errors end as one line and exit code 2, never a traceback."""
    try:
        app()
    except TradingError as exc:
        fail(str(exc))
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
