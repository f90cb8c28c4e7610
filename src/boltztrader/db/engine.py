"""Async engines for the two supported databases: embedded SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from boltztrader.errors import ConfigError, DatabaseUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000

# What a failed connection attempt can raise: SQLAlchemy wraps most driver errors, but asyncpg
# raises some of its own (a missing database, a refused login) unwrapped on connect.
CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError,
)


def normalize_url(raw: str) -> URL:
    """Parse a database URL and pin the async driver we use for its database.

    ``postgres://`` and ``postgresql://`` (as hosted PostgreSQL services print them) become
    ``postgresql+asyncpg://``; ``sqlite://`` becomes ``sqlite+aiosqlite://``. Anything else is a
    configuration error, reported without the password.
    """
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ConfigError("malformed database URL (expected sqlite+aiosqlite:///path or "
                          "postgresql+asyncpg://user@host:port/db)") from None
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgres", "postgresql"):
        if driver not in ("", "asyncpg", "psycopg2", "psycopg"):
            raise ConfigError(f"unsupported PostgreSQL driver {driver!r}: use postgresql+asyncpg")
        return url.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        if driver not in ("", "aiosqlite", "pysqlite"):
            raise ConfigError(f"unsupported SQLite driver {driver!r}: use sqlite+aiosqlite")
        return url.set(drivername="sqlite+aiosqlite")
    raise ConfigError(f"unsupported database {backend!r}: BoltzTrader runs on SQLite or PostgreSQL")


def display_url(url: URL) -> str:
    """The URL as it may appear in logs and messages: never with its password."""
    return url.render_as_string(hide_password=True)


def create_engine(raw_url: str | URL, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An AsyncEngine for ``raw_url``; SQLite gets WAL, foreign keys and write-ahead locking."""
    url = raw_url if isinstance(raw_url, URL) else normalize_url(raw_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                               pool_pre_ping=False)


def _sqlite_engine(url: URL, *, echo: bool) -> AsyncEngine:
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that every transaction can begin
        # IMMEDIATE below: a deferred one that reads first and writes later can fail with
        # SQLITE_BUSY at once under concurrent writers instead of waiting its turn.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # FULL: an acknowledged write survives power loss, not just a crash of our process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def ping(engine: AsyncEngine, *, within_seconds: float = 5.0) -> None:
    """Run ``SELECT 1``; raise DatabaseUnavailable (without the password) if that fails."""
    try:
        async with asyncio.timeout(within_seconds), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except CONNECT_ERRORS as exc:
        raise DatabaseUnavailable(
            f"database {display_url(engine.url)} is unreachable: {first_line(exc)}"
        ) from exc


def first_line(exc: BaseException) -> str:
    """The driver's own one-line reason for a database error, for messages to humans."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text_ = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text_[0]}" if text_ else type(cause).__name__


# Options SQLAlchemy's asyncpg dialect understands that asyncpg.connect() does not.
_SQLALCHEMY_ONLY = ("async_fallback", "async_creator_fn", "prepared_statement_cache_size",
                    "prepared_statement_name_func")


async def connect_listener(engine: AsyncEngine, application_name: str) -> Any:
    """A raw asyncpg connection to the engine's PostgreSQL database, outside its pool, for LISTEN
    (it is held for as long as the listener lives); named ``application_name`` in pg_stat_activity."""
    _args, options = engine.dialect.create_connect_args(engine.url)
    for name in _SQLALCHEMY_ONLY:
        options.pop(name, None)
    settings = dict(options.pop("server_settings", None) or {})
    settings.setdefault("application_name", application_name)
    return await asyncpg.connect(**options, server_settings=settings)


async def close_listener(connection: Any) -> None:
    """Close a listening connection, politely if it answers within 2 s, else at once."""
    try:
        await asyncio.wait_for(connection.close(), 2.0)
    except Exception:  # a connection that is already gone cannot close politely
        connection.terminate()
