"""Shared fixtures: real databases on both engines.

Every test that takes ``engine`` runs twice, on a fresh SQLite file and on a fresh PostgreSQL
database. PostgreSQL comes from BOLTZ_TEST_POSTGRES_URL (default: the local server's ``test``
database). When it cannot be reached the PostgreSQL half is skipped with a notice, unless
BOLTZ_TEST_REQUIRE_POSTGRES=1 (as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import migrate
from boltztrader.db.engine import create_engine

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ENGINES = ("sqlite", "postgresql")


@dataclass
class _PostgresState:
    admin_url: URL | None = None
    template: str | None = None
    reason: str = ""
    created: list[str] | None = None


_PG = _PostgresState(created=[])


def _require_postgres() -> bool:
    return os.environ.get("BOLTZ_TEST_REQUIRE_POSTGRES", "") not in ("", "0", "false", "no")


async def _probe_postgres(url: URL) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=5)
        return ""
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        await engine.dispose()


async def _admin(sql: str) -> None:
    assert _PG.admin_url is not None
    engine = create_engine(_PG.admin_url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def _db_url(name: str) -> URL:
    assert _PG.admin_url is not None
    return _PG.admin_url.set(database=name)


async def _create_database(template: str | None = None) -> str:
    name = "boltz_t_" + uuid.uuid4().hex[:16]
    suffix = f" TEMPLATE {template}" if template else ""
    await _admin(f'CREATE DATABASE "{name}"{suffix}')
    assert _PG.created is not None
    _PG.created.append(name)
    return name


async def _drop_database(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_sessionstart(session: pytest.Session) -> None:
    raw = os.environ.get("BOLTZ_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    url = make_url(raw).set(drivername="postgresql+asyncpg")
    reason = asyncio.run(_probe_postgres(url))
    if reason:
        _PG.reason = f"PostgreSQL at {url.render_as_string(hide_password=True)} unreachable ({reason})"
        return
    _PG.admin_url = url

    async def make_template() -> str:
        name = await _create_database()
        engine = create_engine(_db_url(name))
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()
        return name

    _PG.template = asyncio.run(make_template())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _PG.admin_url is None or not _PG.created:
        return

    async def drop_all() -> None:
        for name in _PG.created or []:
            await _drop_database(name)

    asyncio.run(drop_all())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _PG.admin_url is None:
        verdict = "FAILED (required)" if _require_postgres() else "SKIPPED"
        terminalreporter.write_sep("=", f"PostgreSQL tests {verdict}: {_PG.reason}", yellow=True, bold=True)
    else:
        terminalreporter.write_line("PostgreSQL tests ran against " + _PG.admin_url.render_as_string(
            hide_password=True))


def _postgres_or_skip() -> None:
    if _PG.admin_url is None:
        if _require_postgres():
            pytest.fail(f"BOLTZ_TEST_REQUIRE_POSTGRES is set but {_PG.reason}")
        pytest.skip(_PG.reason)


@pytest.fixture(params=ENGINES)
def db_kind(request: pytest.FixtureRequest) -> str:
    """Which engine this run of the test uses: 'sqlite' or 'postgresql'."""
    kind: str = request.param
    if kind == "postgresql":
        _postgres_or_skip()
    return kind


@pytest.fixture
async def empty_db_url(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to a database that exists but holds no tables."""
    if db_kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'boltz.db'}"
        return
    name = await _create_database()
    yield _db_url(name).render_as_string(hide_password=False)
    await _drop_database(name)


@pytest.fixture
async def db_url(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to a fresh database migrated to the newest revision."""
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'boltz.db'}"
        engine = create_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()
        yield url
        return
    name = await _create_database(template=_PG.template)
    yield _db_url(name).render_as_string(hide_password=False)
    await _drop_database(name)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh, migrated database; disposed after the test."""
    eng = create_engine(db_url)
    yield eng
    await eng.dispose()



@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh, migrated PostgreSQL database, for behaviour only PostgreSQL has."""
    _postgres_or_skip()
    name = await _create_database(template=_PG.template)
    eng = create_engine(_db_url(name))
    yield eng
    await eng.dispose()
    await _drop_database(name)
