"""Composition root: settings in, a container of long-lived parts out.

The only place that decides which concrete parts run together. Later issues add the brokers,
the router, the risk guard and the order manager here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import migrate
from boltztrader.db.engine import create_engine, display_url, ping
from boltztrader.errors import ConfigError, DatabaseUnavailable
from boltztrader.settings import Settings


@dataclass
class Container:
    """The running application's parts; owned by whoever built it, closed with ``aclose``."""

    settings: Settings
    engine: AsyncEngine

    @property
    def database_display_url(self) -> str:
        return display_url(self.engine.url)

    async def database_ok(self) -> bool:
        """True when the database answers a trivial query right now."""
        try:
            await ping(self.engine, within_seconds=2.0)
        except DatabaseUnavailable:
            return False
        return True

    async def check_ready(self) -> None:
        """Raise a one-line error unless the database is reachable and fully migrated."""
        await ping(self.engine)
        current = await migrate.current_revision(self.engine)
        head = migrate.head_revision()
        if current != head:
            raise ConfigError(
                f"database {self.database_display_url} is at revision {current or 'none'}, "
                f"the code needs {head}: run `boltz db upgrade`"
            )

    async def aclose(self) -> None:
        await self.engine.dispose()


def build_container(settings: Settings) -> Container:
    return Container(settings=settings, engine=create_engine(settings.database_url))
