"""Every error leaves the API as an RFC 9457 problem with the right status, and never with a secret."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from boltztrader import errors
from boltztrader.api import problems
from boltztrader.db.orders import VersionConflict
from boltztrader.domain.signals import InvalidSignal

PROBLEM = "application/problem+json"
SENTINEL = "SENTINEL-7f3a-secret"


class BrokerSessionGone(errors.BrokerAuthError):
    """A subclass the mapping does not name: it is shown as its parent is."""


class Unmapped(errors.TradingError):
    """An error class nobody gave a status: shown as an internal error, its message hidden."""


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int
    api_secret: str


CASES: dict[str, tuple[BaseException, int, str]] = {
    "invalid-signal": (InvalidSignal("quantity must be positive", "quantity"), 422, "invalid-signal"),
    "signal-conflict": (errors.SignalConflict("signal s1 was sent before with other content"), 409,
                        "signal-conflict"),
    "order-not-found": (errors.OrderNotFound("no order o1"), 404, "order-not-found"),
    "not-found": (errors.NotFound("no user u1"), 404, "not-found"),
    "account-not-found": (errors.AccountNotFound("no account a1"), 404, "account-not-found"),
    "forbidden": (errors.Forbidden("admins only"), 403, "forbidden"),
    "already-exists": (errors.AlreadyExists("a user with email a@b.co exists"), 409, "already-exists"),
    "invalid-input": (errors.InvalidInput("not an email address", "email"), 422, "invalid-input"),
    "account": (errors.AccountError("account a1 does not take postbacks"), 422, "account-error"),
    "link": (errors.InvalidAccountLink("api key missing", "api_key"), 422, "invalid-account-link"),
    "account-conflict": (errors.AccountConflict("alice has a zerodha account main"), 409, "account-conflict"),
    "paper": (errors.PaperBrokerUnreachable(f"paper at {SENTINEL}"), 502, "paper-broker"),
    "risk": (errors.RiskRejected(["LOW_CONFIDENCE"]), 422, "risk-rejected"),
    "funds": (errors.InsufficientFunds("binance", -2010, "insufficient balance"), 422, "broker-rejected"),
    "duplicate": (errors.DuplicateOrder("binance", -2010, "duplicate order"), 409, "duplicate-order"),
    "transition": (errors.InvalidTransition("filled", "cancel"), 409, "invalid-transition"),
    "version": (VersionConflict(f"row moved {SENTINEL}"), 409, "version-conflict"),
    "broker-auth": (BrokerSessionGone(f"token {SENTINEL} expired"), 502, "broker-auth"),
    "broker-down": (errors.BrokerDown(f"https://api.example.com/?key={SENTINEL}"), 503, "broker-unavailable"),
    "unknown": (errors.OutcomeUnknown(f"timeout {SENTINEL}"), 504, "outcome-unknown"),
    "database": (errors.DatabaseUnavailable(f"postgresql://u:{SENTINEL}@db/x"), 503, "database-unavailable"),
    "config": (errors.ConfigError(f"BOLTZ_MASTER_KEY {SENTINEL} malformed"), 500, "configuration"),
    "credential": (errors.CredentialError(f"blob {SENTINEL}"), 500, "credential"),
    "ledger": (errors.LedgerIntegrityError(f"chain {SENTINEL}"), 500, "ledger-integrity"),
    "unmapped": (Unmapped(f"internal {SENTINEL}"), 500, "internal"),
    "bug": (RuntimeError(f"internal {SENTINEL}"), 500, "internal"),
}


def build_app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.get("/raise/{name}")
    async def raise_(name: str) -> None:
        raise CASES[name][0]

    @app.get("/rate-limited/{seconds}")
    async def rate_limited(seconds: str) -> None:
        raise errors.RateLimited("slow down", retry_after=None if seconds == "none" else Decimal(seconds))

    @app.post("/orders")
    async def order(body: Order) -> dict[str, int]:
        return {"quantity": body.quantity}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: Starlette re-raises an unhandled error after answering 500.
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["type"], str)
    return body


@pytest.mark.parametrize("name", sorted(CASES))
async def test_each_error_is_a_problem_with_its_status(client: httpx.AsyncClient, name: str) -> None:
    """Each error class answers its own status and problem type, and no secret from its message."""
    exc, status, slug = CASES[name]
    response = await client.get(f"/raise/{name}")
    body = assert_problem(response, status)
    assert body["type"] == problems.TYPE_PREFIX + slug
    assert body["detail"]
    assert SENTINEL not in response.text
    if status < 500 and slug != "version-conflict":
        assert body["detail"] == str(exc)


async def test_client_errors_carry_what_to_fix(client: httpx.AsyncClient) -> None:
    """Validation problems name the field; a risk denial lists its reason codes; a broker refusal its code."""
    assert (await client.get("/raise/invalid-signal")).json()["field"] == "quantity"
    assert (await client.get("/raise/invalid-input")).json()["field"] == "email"
    assert (await client.get("/raise/risk")).json()["reasons"] == ["LOW_CONFIDENCE"]
    funds = (await client.get("/raise/funds")).json()
    assert (funds["broker"], funds["code"]) == ("binance", "-2010")


async def test_an_auth_error_asks_for_a_bearer_token(client: httpx.AsyncClient) -> None:
    """AuthError is 401 with WWW-Authenticate: Bearer."""
    app = build_app()

    @app.get("/private")
    async def private() -> None:
        raise errors.AuthError("this endpoint needs an API token")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.get("/private")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("seconds", "header"), [("1.2", "2"), ("30", "30"), ("0", "1"), ("none", "1")])
async def test_rate_limited_says_when_to_retry(client: httpx.AsyncClient, seconds: str, header: str) -> None:
    """RateLimited is 429 with Retry-After in whole seconds, rounded up, at least 1."""
    response = await client.get(f"/rate-limited/{seconds}")
    assert_problem(response, 429)
    assert response.headers["retry-after"] == header


async def test_a_malformed_request_lists_field_errors_without_the_values(client: httpx.AsyncClient) -> None:
    """A body that does not validate is a 422 problem listing each field, never echoing what was sent."""
    response = await client.post("/orders", json={"quantity": f"{SENTINEL}-q", "api_secret": 12345,
                                                  "password": f"{SENTINEL}-pw"})
    body = assert_problem(response, 422)
    assert body["type"] == problems.TYPE_PREFIX + "invalid-request"
    found = body["errors"]
    assert isinstance(found, list)
    assert {tuple(e["loc"]) for e in found} == {("body", "quantity"), ("body", "api_secret"),
                                                ("body", "password")}
    assert all(set(e) == {"loc", "msg", "type"} for e in found)
    assert SENTINEL not in response.text
    assert "12345" not in response.text


async def test_http_errors_of_the_framework_are_problems_too(client: httpx.AsyncClient) -> None:
    """An unknown path is a 404 problem and a wrong method a 405 problem keeping its Allow header."""
    missing = await client.get("/no/such/path")
    assert assert_problem(missing, 404)["type"] == "about:blank"
    wrong = await client.delete("/orders")
    assert_problem(wrong, 405)
    assert wrong.headers["allow"] == "POST"


def test_every_error_class_has_a_deliberate_status() -> None:
    """Each class of the error tree maps to its own kind or a parent's, never the catch-all by default."""
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.TradingError) and c is not errors.TradingError]
    assert classes
    decided = set(problems.KINDS) - {errors.TradingError}
    undecided = [c.__name__ for c in classes if not decided.intersection(c.__mro__)]
    assert undecided == []
