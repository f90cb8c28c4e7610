"""Start-up and continuous reconcile: unsettled rows are settled once, drift is fixed or flagged."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from boltztrader.db import orders as repo
from boltztrader.db.tables import audit_ledger
from boltztrader.domain.enums import OrderType
from boltztrader.domain.ids import client_order_id
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.domain.reports import PlaceOrder
from boltztrader.orders.manager import place_order_of
from boltztrader.orders.resolve import ABSENT_REASON

from ..contract.harness import order, price_of, set_price
from .conftest import Rig
from .invariants import check, paper_orders, row
from .streams import reconciler

S = OrderStatus


async def _mark_submitting(rig: Rig, order_id: str) -> repo.OrderRecord:
    async with rig.engine.begin() as conn:
        return await repo.transition(conn, order_id, OrderEvent.SUBMIT_STARTED, actor="crashed-worker")


async def test_startup_settles_every_row_left_by_a_crash_before_the_account_trades(rig: Rig) -> None:
    """Pending rows are sent, a sent-but-unrecorded row is found, an unsent submitting row ends rejected."""
    pending = await rig.new_intent()
    sent = await rig.new_intent()
    await rig.broker.place_order(place_order_of(await _mark_submitting(rig, sent)))  # then the crash
    lost = await rig.new_intent()
    await _mark_submitting(rig, lost)  # the crash came before the send
    recon = reconciler(rig)
    assert not recon.is_ready(rig.account_id)
    after = {r.id: r for r in await recon.startup(rig.account_id)}
    assert recon.is_ready(rig.account_id)
    assert after[pending].status is S.FILLED
    assert after[sent].status is S.FILLED
    assert after[lost].status is S.REJECTED
    assert after[lost].reject_reason == ABSENT_REASON
    assert len(paper_orders(rig, after[sent].client_order_id)) == 1
    assert paper_orders(rig, after[lost].client_order_id) == []
    for order_id in (pending, sent, lost):
        await check(rig, order_id)


async def test_sweep_applies_fills_it_missed_and_flags_foreign_orders(rig: Rig) -> None:
    """A row left open while its order filled is fixed; an order we never made is flagged, not adopted."""
    spot = rig.harness.spot
    limit = (price_of(rig.paper, spot.symbol) * Decimal("0.98") / spot.tick).to_integral_value() * spot.tick
    ours = await rig.new_intent(order_type="limit", price=limit)
    assert (await rig.manager.submit(ours)).status is S.OPEN
    foreign_cid = client_order_id("someone-else", rig.account_id)
    far = (limit * Decimal("0.9") / spot.tick).to_integral_value() * spot.tick
    foreign: PlaceOrder = order(spot, foreign_cid, order_type=OrderType.LIMIT,
                                limit_price=far)
    foreign_ack = await rig.broker.place_order(foreign)
    set_price(rig.paper, spot.symbol, limit - spot.tick)
    assert (await row(rig, ours)).status is S.OPEN  # nothing listens: the row is behind the broker
    await reconciler(rig).sweep(rig.account_id)
    await check(rig, ours)
    assert (await row(rig, ours)).status is S.FILLED
    async with rig.engine.connect() as conn:
        flagged = (await conn.execute(select(audit_ledger.c.action).where(
            audit_ledger.c.entity_id == f"{rig.account_id}:{foreign_ack.broker_order_id}"))).scalars().all()
        assert await repo.by_client_id(conn, foreign_cid) is None
    assert flagged == ["reconcile.drift"]
