"""Checks 6-11: exposure, fat-finger caps, instrument rules, reference and collar, buying power, positions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from boltztrader.domain.enums import OrderType, Side, TimeInForce
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.money import is_multiple
from boltztrader.risk.checks import (
    check_buying_power,
    check_exposure,
    check_instrument_rules,
    check_max_notional,
    check_max_qty,
    check_position_limit,
    check_price_collar,
    check_reference_fresh,
)
from boltztrader.risk.context import OpenOrder, Position
from boltztrader.risk.limits import Limits
from boltztrader.risk.reasons import Rule
from tests.unit.risk.builders import (
    BTC,
    NOW,
    alpaca_ctx,
    balance,
    ctx,
    failed,
    kite_ctx,
    quote,
    run,
    state,
)

D = Decimal
US = timedelta(microseconds=1)


def test_exposure_at_exactly_point_two_of_balance_passes() -> None:
    """The seed's rule: notional 20,000 on a 100,000 balance passes; one cent more is EXCEEDS_EXPOSURE."""
    assert run(check_exposure, ctx(quantity=D("1"), limit_price=D("20000"))).passed
    assert failed(run(check_exposure, ctx(quantity=D("1"), limit_price=D("20000.01"))), Rule.EXPOSURE)


def test_exposure_counts_against_balance_left_after_open_orders() -> None:
    """With 50,000 reserved by open orders, the cap is 0.2 x 50,000 = 10,000."""
    held = OpenOrder("o-1", "ETHUSDT", Side.BUY, D("1"), D("50000"), NOW)
    account = state(open_orders=(held,))
    assert run(check_exposure, ctx(quantity=D("1"), limit_price=D("10000")), account).passed
    assert failed(
        run(check_exposure, ctx(quantity=D("1"), limit_price=D("10000.01")), account), Rule.EXPOSURE
    )


def test_exposure_lets_an_exit_of_a_large_position_through() -> None:
    """Selling a held position is not new exposure, however large it is."""
    account = state(positions={"BTCUSDT": Position(D("10"), D("50000"), D("50000"))})
    assert run(check_exposure, ctx(side=Side.SELL, quantity=D("10")), account).passed


def test_max_notional_boundary() -> None:
    """With a 1,000 cap, a 1,000 order passes and 1,000.01 is MAX_NOTIONAL."""
    limits = Limits(max_order_notional=D("1000"))
    assert run(check_max_notional, ctx(quantity=D("0.02"), limit_price=D("50000")), limits=limits).passed
    over = ctx(quantity=D("0.02"), limit_price=D("50000.50"))
    assert failed(run(check_max_notional, over, limits=limits), Rule.MAX_NOTIONAL)


def test_max_qty_takes_the_tighter_of_user_cap_and_instrument_freeze() -> None:
    """The cap is min(user cap, instrument max/freeze qty): exactly at it passes, one step over is MAX_QTY."""
    frozen = Instrument(
        broker=BTC.broker,
        market=BTC.market,
        symbol="BTCUSDT",
        currency="USDT",
        tick_size=D("0.01"),
        step_size=D("0.001"),
        freeze_qty=D("2"),
    )
    assert run(check_max_qty, ctx(instrument=frozen, quantity=D("2"))).passed
    assert failed(run(check_max_qty, ctx(instrument=frozen, quantity=D("2.001"))), Rule.MAX_QTY)
    limits = Limits(max_order_qty=D("1.5"))
    assert run(check_max_qty, ctx(instrument=frozen, quantity=D("1.5")), limits=limits).passed
    assert failed(
        run(check_max_qty, ctx(instrument=frozen, quantity=D("1.501")), limits=limits), Rule.MAX_QTY
    )


def test_instrument_rules_round_quantity_down_and_price_to_tick() -> None:
    """A buy of 0.012345 @ 50000.019 becomes 0.01234 @ 50000.01, and says so in ``adjusted``."""
    verdict = run(check_instrument_rules, ctx(quantity=D("0.012345"), limit_price=D("50000.019")))
    assert verdict.passed
    assert verdict.adjusted == {"quantity": D("0.01234"), "limit_price": D("50000.01")}


def test_instrument_rules_leave_a_valid_order_unchanged() -> None:
    """An order already on step and tick passes with no adjustment."""
    verdict = run(check_instrument_rules)
    assert verdict.passed
    assert verdict.adjusted is None


def test_instrument_min_notional_boundary() -> None:
    """BTC's minimum notional is 5: 0.0001 @ 50000 passes, 0.0001 @ 49999.99 is INSTRUMENT_RULES."""
    assert run(check_instrument_rules, ctx(quantity=D("0.0001"), limit_price=D("50000"))).passed
    below = ctx(quantity=D("0.0001"), limit_price=D("49999.99"))
    assert failed(run(check_instrument_rules, below), Rule.INSTRUMENT_RULES)


def test_quantity_rounding_to_zero_is_denied() -> None:
    """A quantity below one step rounds to zero, which is below the minimum: denied, not sent."""
    assert failed(run(check_instrument_rules, ctx(quantity=D("0.000009"))), Rule.INSTRUMENT_RULES)


def test_notional_order_becomes_a_rounded_quantity() -> None:
    """A 100 USDT market buy at 50,000 becomes quantity 0.002 (notional cleared)."""
    order = ctx(order_type=OrderType.MARKET, limit_price=None, quantity=None, notional=D("100"))
    verdict = run(check_instrument_rules, order)
    assert verdict.passed
    assert verdict.adjusted == {"quantity": D("0.00200"), "notional": None}


@given(
    qty=st.decimals(min_value=D("0.00001"), max_value=D("9000"), places=8),
    price=st.decimals(min_value=D("1"), max_value=D("200000"), places=4),
    side=st.sampled_from(Side),
)
def test_a_passing_instrument_verdict_always_yields_a_valid_order(
    qty: Decimal, price: Decimal, side: Side
) -> None:
    """Whatever the input, a pass means the adjusted quantity and price satisfy every instrument rule."""
    order = ctx(quantity=qty, limit_price=price, side=side, quote=quote(last=format(price, "f")))
    verdict = run(check_instrument_rules, order)
    adjusted = order.with_changes(verdict.adjusted or {})
    if verdict.passed:
        assert adjusted.quantity is not None
        assert adjusted.limit_price is not None
        assert BTC.check(adjusted.quantity, adjusted.limit_price) == []
        assert adjusted.quantity <= qty
        assert is_multiple(adjusted.limit_price, BTC.tick_size)
    else:
        assert adjusted.quantity is not None
        assert BTC.round_qty(qty) * price < 5 or BTC.round_qty(qty) < BTC.min_qty


def test_reference_age_boundaries_per_region() -> None:
    """Crypto references may be 2 s old and equities 5 s; a microsecond more is STALE_REFERENCE."""
    assert run(check_reference_fresh, ctx(quote=quote(age=timedelta(seconds=2)))).passed
    stale = ctx(quote=quote(age=timedelta(seconds=2) + US))
    assert failed(run(check_reference_fresh, stale), Rule.REFERENCE_FRESHNESS)
    assert run(check_reference_fresh, alpaca_ctx(quote=quote("AAPL", "200", timedelta(seconds=5)))).passed
    stale_eq = alpaca_ctx(quote=quote("AAPL", "200", timedelta(seconds=5) + US))
    assert failed(run(check_reference_fresh, stale_eq), Rule.REFERENCE_FRESHNESS)


def test_missing_or_foreign_reference_is_stale() -> None:
    """No quote, or a quote of another symbol, is STALE_REFERENCE."""
    assert failed(run(check_reference_fresh, ctx(quote=None)), Rule.REFERENCE_FRESHNESS)
    assert failed(run(check_reference_fresh, ctx(quote=quote("ETHUSDT"))), Rule.REFERENCE_FRESHNESS)


def test_crypto_collar_boundaries() -> None:
    """At ±3 % of 50,000: 51,500 and 48,500 pass, 51,500.01 and 48,499.99 are PRICE_COLLAR."""
    for price in ("51500", "48500"):
        assert run(check_price_collar, ctx(limit_price=D(price))).passed
    for price in ("51500.01", "48499.99"):
        assert failed(run(check_price_collar, ctx(limit_price=D(price))), Rule.PRICE_COLLAR)


def test_equity_collar_is_five_percent() -> None:
    """AAPL at 200: a 210 buy limit passes, 210.01 does not."""
    assert run(check_price_collar, alpaca_ctx(limit_price=D("210"))).passed
    assert failed(run(check_price_collar, alpaca_ctx(limit_price=D("210.01"))), Rule.PRICE_COLLAR)


def test_market_order_becomes_a_collared_ioc_limit_outside_kite() -> None:
    """A Binance market buy at 50,000 becomes an IOC limit at 51,500; a sell at 48,500."""
    buy = run(check_price_collar, ctx(order_type=OrderType.MARKET, limit_price=None))
    assert buy.adjusted == {
        "order_type": OrderType.LIMIT,
        "limit_price": D("51500.00"),
        "time_in_force": TimeInForce.IOC,
    }
    sell = run(check_price_collar, ctx(order_type=OrderType.MARKET, limit_price=None, side=Side.SELL))
    assert sell.adjusted is not None
    assert sell.adjusted["limit_price"] == D("48500.00")


def test_kite_market_order_carries_market_protection_instead() -> None:
    """A Kite market order is not converted; it carries market_protection = the collar in percent."""
    verdict = run(check_price_collar, kite_ctx(order_type=OrderType.MARKET, limit_price=None))
    assert verdict.passed
    assert verdict.adjusted == {"market_protection": D("5.00")}


def test_stop_market_becomes_stop_limit_collared_around_its_trigger() -> None:
    """An Alpaca sell stop at 180 becomes a stop-limit with its limit 5 % under the trigger."""
    order = alpaca_ctx(order_type=OrderType.STOP, side=Side.SELL, limit_price=None, trigger_price=D("180"))
    verdict = run(check_price_collar, order)
    assert verdict.adjusted == {"order_type": OrderType.STOP_LIMIT, "limit_price": D("171.00")}


def test_buying_power_counts_open_and_in_flight_orders() -> None:
    """100,000 buying power, 60,000 reserved: a 40,000 buy passes, 40,000.01 is INSUFFICIENT_BUYING_POWER."""
    reserved = (
        OpenOrder("o-1", "ETHUSDT", Side.BUY, D("1"), D("50000"), NOW),
        OpenOrder("o-2", "ETHUSDT", Side.BUY, D("1"), D("10000"), NOW, in_flight=True),
    )
    account = state(open_orders=reserved)
    assert run(check_buying_power, ctx(quantity=D("1"), limit_price=D("40000")), account).passed
    over = ctx(quantity=D("1"), limit_price=D("40000.01"))
    assert failed(run(check_buying_power, over, account), Rule.BUYING_POWER)


def test_buying_power_of_a_market_order_uses_the_collar_edge() -> None:
    """A market buy is paid for at the collar's edge: 1 BTC needs 51,500, not 50,000."""
    order = ctx(order_type=OrderType.MARKET, limit_price=None, quantity=D("1"))
    assert run(check_buying_power, order, state(balance=balance("51500"))).passed
    assert failed(run(check_buying_power, order, state(balance=balance("51499.99"))), Rule.BUYING_POWER)


def test_cash_account_cannot_sell_more_than_it_holds() -> None:
    """Holding 0.01, a cash account may sell 0.01 but not 0.01001."""
    account = state(positions={"BTCUSDT": Position(D("0.01"), D("1"), D("1"))})
    assert run(check_buying_power, ctx(side=Side.SELL, quantity=D("0.01")), account).passed
    assert failed(
        run(check_buying_power, ctx(side=Side.SELL, quantity=D("0.01001")), account), Rule.BUYING_POWER
    )


def test_position_limit_per_symbol_boundary() -> None:
    """Cap 1,000 with 0.01 BTC held: buying 0.01 more at 50,000 reaches exactly 1,000; a cent more fails."""
    limits = Limits(max_position_notional=D("1000"))
    account = state(positions={"BTCUSDT": Position(D("0.01"), D("50000"), D("50000"))})
    assert run(check_position_limit, ctx(), account, limits=limits).passed
    over = ctx(limit_price=D("50000.01"))
    assert failed(run(check_position_limit, over, account, limits=limits), Rule.POSITION_LIMIT)


def test_cash_account_gross_exposure_is_at_most_equity() -> None:
    """Equity 100,000 with 60,000 held: a 40,000 buy reaches 1x equity; 40,000.01 is POSITION_LIMIT."""
    account = state(positions={"ETHUSDT": Position(D("20"), D("3000"), D("3000"))})
    assert run(check_position_limit, ctx(quantity=D("1"), limit_price=D("40000")), account).passed
    over = ctx(quantity=D("1"), limit_price=D("40000.01"))
    assert failed(run(check_position_limit, over, account), Rule.POSITION_LIMIT)


def test_margin_account_has_no_gross_cap_by_default() -> None:
    """A margin account is not held to 1x equity unless a gross cap is configured."""
    account = state(cash_account=False, positions={"ETHUSDT": Position(D("100"), D("3000"), D("3000"))})
    assert run(check_position_limit, ctx(quantity=D("1"), limit_price=D("40000")), account).passed
    capped = Limits(max_gross_exposure=D("2"))
    assert failed(
        run(check_position_limit, ctx(quantity=D("1")), account, limits=capped), Rule.POSITION_LIMIT
    )


def test_declared_reducing_order_that_would_grow_is_denied() -> None:
    """An order declared reduce-only that would open a position is POSITION_LIMIT."""
    assert failed(run(check_position_limit, ctx(reduces_position=True)), Rule.POSITION_LIMIT)
    account = state(positions={"BTCUSDT": Position(D("0.01"), D("1"), D("1"))})
    assert run(check_position_limit, ctx(reduces_position=True, side=Side.SELL), account).passed
