"""Kite postbacks: the paper Kite posts them for real; the adapter accepts only a valid checksum."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from aiohttp import web

from boltztrader.brokers.kite import KiteBroker
from boltztrader.brokers.kite.login import InvalidPostback
from boltztrader.domain.enums import Market, OrderType, Product, Side, TimeInForce
from boltztrader.domain.ids import client_order_id
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import PlaceOrder

from ...paper.conftest import free_port
from .conftest import Account, admin


async def _receive_postbacks(account: Account) -> tuple[asyncio.Queue[bytes], web.AppRunner]:
    """A local HTTP receiver registered as the account's postback URL."""
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def handle(request: web.Request) -> web.Response:
        received.put_nowait(await request.read())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/postback", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    admin(account.paper, "PUT", f"/_paper/accounts/{account.api_key}/postback",
          json={"url": f"http://127.0.0.1:{port}/postback"})
    return received, runner


async def test_a_real_postback_becomes_an_order_update_and_a_forged_one_is_refused(
        account: Account, broker: KiteBroker) -> None:
    """The paper Kite's postback for our order maps to its update; a forged one fails the checksum."""
    received, runner = await _receive_postbacks(account)
    try:
        cid = client_order_id("postback-signal", "acct-1")
        ack = await broker.place_order(PlaceOrder(
            client_order_id=cid, symbol="INFY", market=Market.NSE, side=Side.BUY, order_type=OrderType.MARKET,
            quantity=Decimal(1), time_in_force=TimeInForce.DAY, product=Product.CNC))
        body = b""
        for _ in range(10):  # take the postbacks until the final one for our order
            body = await asyncio.wait_for(received.get(), timeout=10)
            update = broker.postback_update(body)
            if update.order.status is OrderStatus.FILLED:
                break
        assert update.order.broker_order_id == ack.broker_order_id
        assert update.order.client_order_id == cid
        assert update.order.status is OrderStatus.FILLED
        # Kite's checksum binds the order id and timestamp to the app secret (not the whole body):
        # a postback for another order id, or with a made-up checksum, is refused.
        for field, value in (("order_id", "999999999999999"), ("checksum", "0" * 64)):
            forged = json.loads(body) | {field: value}
            with pytest.raises(InvalidPostback, match="checksum"):
                broker.postback_update(json.dumps(forged).encode())
        with pytest.raises(InvalidPostback):
            broker.postback_update(b"not json")
    finally:
        await runner.cleanup()
