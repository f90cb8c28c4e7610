"""Stream events applied under duplicates, reordering and disconnects: each fill once, DB == broker."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import func, select

from boltztrader.db.tables import order_events
from boltztrader.domain.order_states import OrderStatus

from ..contract.harness import price_of, set_faults, set_price
from .conftest import Rig
from .invariants import check, settled
from .streams import fill_total, ingesting, stream_has_fills, wait_stream_up

S = OrderStatus


async def _until_fills(rig: Rig, order_id: str, quantity: Decimal, *, seconds: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while await fill_total(rig, order_id) < quantity:
        assert loop.time() < deadline, f"fills of {order_id} never reached {quantity}"
        await asyncio.sleep(0.05)


async def test_duplicated_and_reordered_events_apply_each_fill_once(split_rig: Rig) -> None:
    """With every event duplicated and half of them reordered, split fills are each counted once."""
    rig = split_rig
    async with ingesting(rig):
        await wait_stream_up(rig)
        set_faults(rig.paper, {"seed": 7, "stream": {"duplicate": 1, "reorder": 0.5}})
        quantity = rig.harness.spot.quantity * 3
        order_ids = [await rig.new_intent(quantity=quantity) for _ in range(3)]
        for order_id in order_ids:
            await rig.manager.submit(order_id)
        await rig.manager.submit(await rig.new_intent())  # its events push out any held-back event
        for order_id in order_ids:
            await settled(rig, order_id, want={S.FILLED})
            if stream_has_fills(rig):
                await _until_fills(rig, order_id, quantity)
        set_faults(rig.paper, {})
    for order_id in order_ids:
        record = await check(rig, order_id, fills_complete=stream_has_fills(rig))
        assert record.filled_quantity == quantity


async def test_fills_while_the_stream_is_down_are_recovered_by_polling(rig: Rig) -> None:
    """Resting orders that fill while the stream keeps dropping still end filled, as at the broker."""
    spot = rig.harness.spot
    price = price_of(rig.paper, spot.symbol)
    limit = (price * Decimal("0.98") / spot.tick).to_integral_value() * spot.tick
    async with ingesting(rig):
        await wait_stream_up(rig)
        order_ids = [await rig.new_intent(order_type="limit", price=limit) for _ in range(3)]
        for order_id in order_ids:
            assert (await rig.manager.submit(order_id)).status is S.OPEN
        set_faults(rig.paper, {"stream": {"disconnect_every": 2}})
        set_price(rig.paper, spot.symbol, limit - spot.tick)
        for order_id in order_ids:
            await settled(rig, order_id, want={S.FILLED}, seconds=30)
        set_faults(rig.paper, {})
    for order_id in order_ids:
        await check(rig, order_id)
    async with rig.engine.connect() as conn:
        polled = (await conn.execute(select(func.count()).select_from(order_events).where(
            order_events.c.order_id.in_(order_ids), order_events.c.actor == "reconcile"))).scalar_one()
    assert polled >= 1  # the events lost while the stream was down were recovered by the gap's sweep
