"""``boltz serve``: the HTTP service."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from boltztrader.api.app import create_app
from boltztrader.cli.common import DatabaseUrlOption, err, run, settings_from
from boltztrader.errors import ConfigError
from boltztrader.settings import Role
from boltztrader.wiring import build_container


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default: BOLTZ_HOST, "
                                              "else 127.0.0.1).", show_default=False)] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: BOLTZ_PORT, else 8000).",
                                             show_default=False)] = None,
    database_url: DatabaseUrlOption = None,
    demo: Annotated[bool | None, typer.Option(
        "--demo/--no-demo", help="Run the paper brokers inside the service, with a demo user and the "
        "demo model sending signals (default: BOLTZ_DEMO).", show_default=False)] = None,
    api_only: Annotated[bool, typer.Option(
        "--api-only", help="The API and the intake only: intents are written and `boltz worker` "
        "processes send them (the same as BOLTZ_ROLE=api).")] = False,
) -> None:
    """Start the service: API and trading (after checking that the database is reachable and migrated)."""
    settings = settings_from(host=host, port=port, database_url=database_url, demo=demo,
                             role=Role.API.value if api_only else None)
    if settings.role is Role.WORKER:
        raise ConfigError("BOLTZ_ROLE=worker is for `boltz worker`; `boltz serve` runs roles all and api")

    async def go() -> None:
        container = build_container(settings)
        try:
            await container.check_ready()
        except BaseException:
            await container.aclose()
            raise
        app = create_app(container, trading=True, announce=err.print)
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                                lifespan="on", access_log=False)
        role = " (API only)" if settings.role is Role.API else ""
        err.print(f"BoltzTrader {settings.mode.value} mode{role} on http://{settings.host}:{settings.port} "
                  f"(database {container.database_display_url})")
        await uvicorn.Server(config).serve()

    run(go)
