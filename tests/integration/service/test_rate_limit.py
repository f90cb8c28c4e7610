"""Per-caller request limits: over the limit a caller gets 429 with Retry-After; others are not affected."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from boltztrader.api.app import create_app
from boltztrader.settings import load_settings
from boltztrader.wiring import build_container


@pytest.fixture
def tight_app(db_url: str) -> httpx.AsyncClient:
    """The plain service with a limit of 2 requests a second and a burst of 3."""
    settings = load_settings({"BOLTZ_DATABASE_URL": db_url, "BOLTZ_RATE_LIMIT": "2", "BOLTZ_RATE_BURST": "3"})
    app = create_app(build_container(settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_caller_over_its_limit_gets_429_with_retry_after(tight_app: httpx.AsyncClient) -> None:
    """Three requests pass, the fourth is refused with Retry-After; another token still passes."""
    async with tight_app as client:
        mine = {"Authorization": "Bearer btz_one"}
        answers = [await client.get("/v1/signals/x", headers=mine) for _ in range(4)]
        assert [a.status_code for a in answers[:3]] == [401, 401, 401]  # admitted (then refused by auth)
        assert answers[3].status_code == 429
        assert answers[3].headers["content-type"] == "application/problem+json"
        assert int(answers[3].headers["retry-after"]) >= 1
        other = await client.get("/v1/signals/x", headers={"Authorization": "Bearer btz_two"})
        assert other.status_code == 401
        assert (await client.get("/healthz")).status_code == 200  # probes are never limited
        await asyncio.sleep(0.6)  # one token back at 2 a second
        assert (await client.get("/v1/signals/x", headers=mine)).status_code == 401
