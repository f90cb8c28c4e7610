"""KiteBroker's failure paths against the paper Kite: auth, 429, 5xx, timeouts, drops, rate budget."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from aiohttp import web

from boltztrader.brokers.kite import KiteBroker, KiteConfig
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.secrets import Secret
from boltztrader.errors import (
    BrokerAuthError,
    BrokerDown,
    BrokerProtocolError,
    ConnectionFailed,
    InvalidOrder,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
)
from tests.paper.conftest import RunningPaper, free_port

from .conftest import Account, admin, eventually, kite_config, set_clock, venue_now
from .test_broker import cid, order, status_is


def faults(paper: RunningPaper, *rules: dict[str, object]) -> None:
    admin(paper, "PUT", "/_paper/faults", json={"rules": list(rules)})


async def test_a_wrong_token_is_an_auth_error_and_needs_login(account: Account) -> None:
    """A token Kite does not know gives BrokerAuthError and sets needs_login."""
    broker = KiteBroker(account.config(token="not-a-token"))
    try:
        assert not broker.needs_login
        with pytest.raises(BrokerAuthError):
            await broker.get_balance()
        assert broker.needs_login
        with pytest.raises(BrokerAuthError):  # refused locally from now on: nothing is sent
            await broker.place_order(order(cid()))
        assert admin(account.paper, "GET", f"/_paper/accounts/{account.created['account_id']}")["orders"] == 0
    finally:
        await broker.close()


async def test_no_token_means_needs_login_without_a_call(paper: RunningPaper, account: Account) -> None:
    """An adapter configured without an access token needs a login and raises before any request."""
    broker = KiteBroker(kite_config(paper, account.api_key, account.api_secret, None))
    try:
        assert broker.needs_login
        with pytest.raises(BrokerAuthError):
            await broker.get_positions()
        assert broker.rate_budgets() == []
    finally:
        await broker.close()


async def test_the_token_dies_at_six_ist_and_a_new_login_revives_the_adapter(broker: KiteBroker,
                                                                             account: Account) -> None:
    """Past the next 06:00 IST calls raise BrokerAuthError; a login with a new request token fixes it."""
    await broker.get_balance()
    set_clock(account.paper, venue_now(account.paper) + timedelta(days=1, hours=1))
    with pytest.raises(BrokerAuthError):
        await broker.get_balance()
    assert broker.needs_login
    fresh = admin(account.paper, "POST", f"/_paper/accounts/{account.api_key}/request_token")["request_token"]
    session = await broker.generate_session(fresh)
    assert isinstance(session.access_token, Secret)
    assert session.expires_at > venue_now(account.paper)
    assert not broker.needs_login
    assert (await broker.get_balance()).currency == "INR"


async def test_a_used_request_token_is_refused(account: Account) -> None:
    """A request token is single use: exchanging it twice is a BrokerAuthError."""
    broker = account.broker()
    try:
        with pytest.raises(BrokerAuthError):
            await broker.generate_session(account.created["request_token"])
    finally:
        await broker.close()


async def test_429_is_rate_limited_and_the_budget_counts_placements(broker: KiteBroker,
                                                                      paper: RunningPaper) -> None:
    """Placements are counted per second as the orders budget; Kite's own 429 is RateLimited."""
    assert broker.rate_budgets() == []
    admin(paper, "PUT", "/_paper/limits", json={"orders_per_second": 3})
    placed, refused = 0, None
    for _ in range(10):
        try:
            await broker.place_order(order(cid()))
        except RateLimited as exc:
            refused = exc
            break
        placed += 1
    assert 1 <= placed <= 3
    assert refused is not None
    assert refused.retry_after == Decimal(1)
    [budget] = broker.rate_budgets()
    assert (budget.name, budget.limit, budget.window_seconds, budget.used) == ("orders", 10, 1, 10)
    await asyncio.sleep(1.1)
    [budget] = broker.rate_budgets()
    assert budget.used == 0


async def test_a_few_placements_show_in_the_budget(broker: KiteBroker) -> None:
    """Three placements in a second use three of the ten-a-second order budget."""
    for _ in range(3):
        await broker.place_order(order(cid()))
    [budget] = broker.rate_budgets()
    assert (budget.used, budget.remaining) == (3, 7)


async def test_injected_429_carries_retry_after(broker: KiteBroker, paper: RunningPaper) -> None:
    """A 429 with Retry-After gives RateLimited with that wait, and no order exists."""
    faults(paper, {"op": "place_order", "action": "rate_limit", "count": 1, "retry_after_s": 4})
    coid = cid()
    with pytest.raises(RateLimited) as caught:
        await broker.place_order(order(coid))
    assert caught.value.retry_after == Decimal(4)
    with pytest.raises(OrderNotFound):
        await broker.get_order("INFY", client_order_id=coid)


@pytest.mark.parametrize("action", ["error_after", "error_before", "drop_after"])
async def test_placement_failures_after_sending_are_outcome_unknown(broker: KiteBroker, paper: RunningPaper,
                                                                    action: str) -> None:
    """A 5xx or a dropped answer to a placement is OutcomeUnknown; the look-up then tells what happened."""
    faults(paper, {"op": "place_order", "action": action, "count": 1, "status": 503})
    coid = cid()
    with pytest.raises(OutcomeUnknown):
        await broker.place_order(order(coid))
    if action == "error_before":
        with pytest.raises(OrderNotFound):
            await broker.get_order("INFY", client_order_id=coid)
    else:
        assert await eventually(lambda: status_is(broker, coid, OrderStatus.FILLED))


async def test_a_held_answer_past_the_read_timeout_is_outcome_unknown(account: Account) -> None:
    """A placement whose answer comes after the read timeout is OutcomeUnknown, and the order is found."""
    broker = account.broker(Timeouts(connect=3, read=0.3))
    try:
        faults(account.paper, {"op": "place_order", "action": "hold_after", "count": 1, "hold_ms": 1200})
        coid = cid()
        with pytest.raises(OutcomeUnknown):
            await broker.place_order(order(coid))
        assert await eventually(lambda: status_is(broker, coid, OrderStatus.FILLED))
    finally:
        await broker.close()


async def test_reads_failing_on_5xx_are_broker_down(broker: KiteBroker, paper: RunningPaper) -> None:
    """A 5xx on a read (balance, order book) is BrokerDown: nothing changed, retry later."""
    faults(paper, {"op": "account", "action": "error_before", "count": 1, "status": 502},
           {"op": "list_orders", "action": "error_before", "count": 1, "status": 500})
    with pytest.raises(BrokerDown):
        await broker.get_balance()
    with pytest.raises(BrokerDown):
        await broker.list_open_orders()
    assert (await broker.get_balance()).currency == "INR"


async def test_a_closed_port_is_connection_failed() -> None:
    """Nothing listening: ConnectionFailed (the request never left), for a placement too."""
    url = f"http://127.0.0.1:{free_port()}"
    broker = KiteBroker(KiteConfig(api_key="k", api_secret=Secret("s"), access_token=Secret("t"),
                                   root_url=url, timeouts=Timeouts(connect=1, read=1)))
    try:
        with pytest.raises(ConnectionFailed):
            await broker.place_order(order(cid()))
        with pytest.raises(ConnectionFailed):
            await broker.get_balance()
    finally:
        await broker.close()


async def test_odd_success_answers_are_classified() -> None:
    """A 200 off the envelope is OutcomeUnknown or BrokerProtocolError; a 200 error envelope is that error."""
    async def garbage(request: web.Request) -> web.Response:
        return web.Response(text="<html>proxy</html>", content_type="text/html")

    async def error_envelope(request: web.Request) -> web.Response:
        return web.json_response({"status": "error", "error_type": "InputException",
                                  "message": "Invalid `quantity`.", "data": None})

    app = web.Application()
    app.router.add_post("/orders/regular", garbage)
    app.router.add_get("/user/margins", garbage)
    app.router.add_post("/orders/amo", error_envelope)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    broker = KiteBroker(KiteConfig(api_key="k", api_secret=Secret("s"), access_token=Secret("t"),
                                   root_url=f"http://127.0.0.1:{port}"))
    try:
        with pytest.raises(OutcomeUnknown):
            await broker.place_order(order(cid()))
        with pytest.raises(BrokerProtocolError):
            await broker.get_balance()
        with pytest.raises(InvalidOrder):
            await broker.place_order(order(cid(), after_market=True))
    finally:
        await broker.close()
        await runner.cleanup()
