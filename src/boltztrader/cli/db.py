"""``boltz db``: migrate the database schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.cli.common import DatabaseUrlOption, out, run, settings_from, with_engine
from boltztrader.db import migrate
from boltztrader.db.engine import display_url, normalize_url

app = typer.Typer(help="Migrate the database schema (SQLite or PostgreSQL).", no_args_is_help=True)


def _prepare_sqlite_dir(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)


@app.command()
def upgrade(
    database_url: DatabaseUrlOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the schema up to REVISION (the newest by default)."""
    url = normalize_url(settings_from(database_url=database_url).database_url)
    _prepare_sqlite_dir(url)

    async def work(engine: AsyncEngine) -> str | None:
        await migrate.upgrade(engine, revision)
        return await migrate.current_revision(engine)

    current = run(lambda: with_engine(url, work))
    out.print(f"database {display_url(url)} is at revision [bold]{current}[/]")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes every table.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Migrate the schema down to REVISION. Destroys the data of the removed tables."""
    url = normalize_url(settings_from(database_url=database_url).database_url)

    async def work(engine: AsyncEngine) -> str | None:
        await migrate.downgrade(engine, revision)
        return await migrate.current_revision(engine)

    current = run(lambda: with_engine(url, work))
    out.print(f"database {display_url(url)} is at revision [bold]{current or 'base'}[/]")


@app.command()
def current(database_url: DatabaseUrlOption = None) -> None:
    """Show the schema revision of the database and the newest the code knows."""
    url = normalize_url(settings_from(database_url=database_url).database_url)

    revision = run(lambda: with_engine(url, migrate.current_revision))
    head = migrate.head_revision()
    state = "up to date" if revision == head else f"behind: run `boltz db upgrade` to reach {head}"
    out.print(f"database {display_url(url)}: revision {revision or 'none'} ({state})")
