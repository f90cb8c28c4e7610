"""What every ``boltz`` command shares: settings from flags, one-line errors, consoles."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.engine import create_engine, ping
from boltztrader.errors import TradingError
from boltztrader.settings import Settings, load_settings

T = TypeVar("T")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL; overrides BOLTZ_DATABASE_URL.", show_default=False),
]

EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``message`` as one line on stderr and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment with the command's flags on top; ConfigError on bad input."""
    return load_settings(**overrides)


def run(make: Callable[[], Awaitable[T]]) -> T:
    """Run one coroutine to completion; our own errors become a one-line message, not a traceback."""
    try:
        return asyncio.run(make())  # type: ignore[arg-type]
    except TradingError as exc:
        raise fail(str(exc)) from None


async def with_engine(url: URL, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Open an engine on ``url``, check that the database answers, run ``work``, close the engine."""
    engine = create_engine(url)
    try:
        await ping(engine)
        return await work(engine)
    finally:
        await engine.dispose()
