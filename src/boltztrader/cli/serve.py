"""``boltz serve``: the HTTP service."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from boltztrader.api.app import create_app
from boltztrader.cli.common import DatabaseUrlOption, err, run, settings_from
from boltztrader.wiring import build_container


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default: BOLTZ_HOST, "
                                              "else 127.0.0.1).", show_default=False)] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: BOLTZ_PORT, else 8000).",
                                             show_default=False)] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Start the API service (after checking that the database is reachable and migrated)."""
    settings = settings_from(host=host, port=port, database_url=database_url)

    async def go() -> None:
        container = build_container(settings)
        try:
            await container.check_ready()
        except BaseException:
            await container.aclose()
            raise
        app = create_app(container)
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                                lifespan="on", access_log=False)
        err.print(f"BoltzTrader {settings.mode.value} mode on http://{settings.host}:{settings.port} "
                  f"(database {container.database_display_url})")
        await uvicorn.Server(config).serve()

    run(go)
