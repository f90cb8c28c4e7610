"""Positions follow our fills (once each) and are compared with the broker's own."""

from __future__ import annotations

from decimal import Decimal

from boltztrader.audit import verify_ledger
from boltztrader.db.positions import holdings
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import Market, OrderType, Side
from boltztrader.domain.reports import PlaceOrder
from boltztrader.orders.positions import reconcile_positions

from .conftest import World, signal


async def _filled(world: World, sig: str, **overrides: str) -> None:
    result = await world.intake.process_signal(signal(id=sig, **overrides))
    for order_id in result.to_submit:
        await world.manager.submit(order_id)


async def test_a_buy_then_a_partial_sell_moves_the_position_and_realises_profit(world: World) -> None:
    """Buying 0.01 then selling 0.004 leaves 0.006 at the buy's price; the sell realises a difference."""
    await _filled(world, "buy-1", quantity="0.01")
    async with world.engine.connect() as conn:
        after_buy = (await holdings(conn, "acct-alice"))["BTCUSDT"]
    assert after_buy.quantity == Decimal("0.01")
    await _filled(world, "sell-1", quantity="0.004", side="sell")
    async with world.engine.connect() as conn:
        after_sell = (await holdings(conn, "acct-alice"))["BTCUSDT"]
    assert after_sell.quantity == Decimal("0.006")
    assert after_sell.average_price == after_buy.average_price
    assert after_sell.realized_pnl != 0  # the sell fills at the bid, below the ask the buy paid


async def test_our_positions_agree_with_the_brokers_and_drift_is_flagged(world: World) -> None:
    """After our own trades nothing drifts; a trade made outside BoltzTrader is flagged, not hidden."""
    await _filled(world, "buy-2", quantity="0.01")
    broker = world.brokers["acct-alice"]
    assert await reconcile_positions(world.engine, user_id="alice", account_id="acct-alice", broker=broker,
                                     clock=SystemClock()) == []
    outside = signal(id="outside", quantity="0.002")
    await _filled_outside(world, outside)
    drifts = await reconcile_positions(world.engine, user_id="alice", account_id="acct-alice", broker=broker,
                                       clock=SystemClock())
    assert [(d.symbol, d.ours, d.broker) for d in drifts] == [("BTCUSDT", Decimal("0.01"), Decimal("0.012"))]
    assert (await verify_ledger(world.engine)).ok


async def _filled_outside(world: World, body: dict[str, str]) -> None:
    """A market buy placed straight at the broker, as a user trading in the broker's own app would."""
    await world.brokers["acct-alice"].place_order(PlaceOrder(
        client_order_id="manual-1", symbol="BTCUSDT", market=Market.CRYPTO, side=Side.BUY,
        order_type=OrderType.MARKET, quantity=Decimal(body["quantity"])))
