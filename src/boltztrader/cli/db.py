"""``boltz db``: migrate the database schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import URL

from boltztrader.cli.common import DatabaseUrlOption, out, run, settings_from
from boltztrader.db import migrate
from boltztrader.db.engine import create_engine, display_url, normalize_url, ping

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

    async def go() -> str | None:
        engine = create_engine(url)
        try:
            await ping(engine)
            await migrate.upgrade(engine, revision)
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    current = run(go)
    out.print(f"database {display_url(url)} is at revision [bold]{current}[/]")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes every table.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Migrate the schema down to REVISION. Destroys the data of the removed tables."""
    url = normalize_url(settings_from(database_url=database_url).database_url)

    async def go() -> str | None:
        engine = create_engine(url)
        try:
            await ping(engine)
            await migrate.downgrade(engine, revision)
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    current = run(go)
    out.print(f"database {display_url(url)} is at revision [bold]{current or 'base'}[/]")


@app.command()
def current(database_url: DatabaseUrlOption = None) -> None:
    """Show the schema revision of the database and the newest the code knows."""
    url = normalize_url(settings_from(database_url=database_url).database_url)

    async def go() -> str | None:
        engine = create_engine(url)
        try:
            await ping(engine)
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    revision = run(go)
    head = migrate.head_revision()
    state = "up to date" if revision == head else f"behind: run `boltz db upgrade` to reach {head}"
    out.print(f"database {display_url(url)}: revision {revision or 'none'} ({state})")
