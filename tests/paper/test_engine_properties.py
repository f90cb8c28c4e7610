"""Property tests of the paper engine: balances never negative, conservation, fill limits, split sums."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from boltztrader.paper.engine import Engine, EngineConfig, split_quantity
from boltztrader.paper.engine_rules import LIMIT_KINDS
from boltztrader.paper.model import (
    ZERO,
    AssetClass,
    Kind,
    NotCancelable,
    OrderRequest,
    Rejected,
    Side,
    TimeInForce,
)

from .test_engine_fixtures import ALL, D, at

SIDES = st.sampled_from([Side.BUY, Side.SELL])
KINDS = st.sampled_from([Kind.MARKET, Kind.LIMIT, Kind.STOP_MARKET, Kind.STOP_LIMIT, Kind.TAKE_PROFIT_MARKET,
                         Kind.TAKE_PROFIT_LIMIT])
TIFS = st.sampled_from(list(TimeInForce))
OP = st.one_of(
    st.tuples(st.just("price"), st.integers(50, 150), st.one_of(st.none(), st.integers(1, 30))),
    st.tuples(st.just("order"), SIDES, KINDS, st.integers(1, 40), st.integers(50, 150), st.integers(50, 150),
              TIFS, st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("replace"), st.integers(0, 30), st.integers(1, 40), st.integers(50, 150)),
)
CONFIGS = st.builds(EngineConfig, spread_bps=st.sampled_from([D(0), D(2), D(25)]),
                    slippage_bps=st.sampled_from([D(0), D(5)]), fill_parts=st.integers(1, 4),
                    allow_short=st.booleans())
SCALE = {"BTCUSDT": (D("0.01"), D(1)), "INFY": (D(1), D(10)), "BTCUSDT.P": (D("0.01"), D(200))}


def run(symbol: str, config: EngineConfig, ops: list[tuple[object, ...]], check: object) -> Engine:
    """Apply ``ops`` to a fresh engine, ignoring refusals, calling ``check(engine)`` after each step."""
    eng = Engine(ALL, config)
    eng.open_account("a", {"USDT": D(3000), "BTC": D(5), "INR": D(30000)})
    eng.set_leverage("a", "BTCUSDT.P", 5)
    qty_unit, price_unit = SCALE[symbol]
    eng.set_price(symbol, price_unit * 100, at(0))
    ids: list[int] = []
    for n, op in enumerate(ops):
        now = at(n)
        try:
            if op[0] == "price":
                liquidity = None if op[2] is None else qty_unit * int(str(op[2]))
                eng.set_price(symbol, price_unit * int(str(op[1])), now, liquidity=liquidity)
            elif op[0] == "order":
                _, side, kind, qty, px, trig, tif, reduce = op
                assert isinstance(kind, Kind)
                assert isinstance(side, Side)
                assert isinstance(tif, TimeInForce)
                request = OrderRequest(symbol, side, kind, quantity=qty_unit * int(str(qty)),
                                       price=price_unit * int(str(px)),
                                       trigger_price=price_unit * int(str(trig)),
                                       time_in_force=tif, reduce_only=bool(reduce))
                ids.append(eng.submit("a", request, now)[0].order_id)
            elif op[0] == "cancel" and ids:
                eng.cancel("a", ids[int(str(op[1])) % len(ids)], now)
            elif op[0] == "replace" and ids:
                target = eng.get("a", ids[int(str(op[1])) % len(ids)])
                new_price = price_unit * int(str(op[3])) if target.request.kind in LIMIT_KINDS else None
                eng.replace("a", target.order_id, now, quantity=qty_unit * int(str(op[2])), price=new_price)
        except (Rejected, NotCancelable):
            pass
        assert callable(check)
        check(eng)
    return eng


def common_checks(eng: Engine) -> None:
    for balance in eng.account("a").balances.values():
        assert balance.free >= 0, balance
        assert balance.locked >= 0, balance
    for order in eng.orders("a"):
        assert 0 <= order.filled_quantity <= order.quantity
        assert order.locked >= 0
        if order.state.is_final:
            assert order.locked == 0
    open_orders = eng.orders("a", open_only=True)
    assert all(not o.state.is_final for o in open_orders)


@settings(max_examples=200, deadline=None)
@given(CONFIGS, st.lists(OP, min_size=10, max_size=60))
def test_spot_balances_never_negative_and_conserved(config: EngineConfig,
                                                    ops: list[tuple[object, ...]]) -> None:
    """SPOT: free and locked never go negative, locked equals the open orders' reservations, and totals
    move exactly by fills and fees."""
    def check(eng: Engine) -> None:
        common_checks(eng)
        bal = eng.account("a").balances
        fills = eng.fills("a")
        bought = sum((f.quantity for f in fills if f.side is Side.BUY), ZERO)
        sold = sum((f.quantity for f in fills if f.side is Side.SELL), ZERO)
        spent = sum((f.quantity * f.price for f in fills if f.side is Side.BUY), ZERO)
        earned = sum((f.quantity * f.price for f in fills if f.side is Side.SELL), ZERO)
        fees = sum((f.fee for f in fills), ZERO)
        assert bal["BTC"].total == D(5) + bought - sold
        assert bal["USDT"].total == D(3000) - spent + earned - fees
        open_orders = eng.orders("a", open_only=True)
        assert bal["USDT"].locked == sum((o.locked for o in open_orders if o.side is Side.BUY), ZERO)
        assert bal["BTC"].locked == sum((o.locked for o in open_orders if o.side is Side.SELL), ZERO)

    run("BTCUSDT", config, ops, check)


@settings(max_examples=200, deadline=None)
@given(CONFIGS, st.lists(OP, min_size=10, max_size=60))
def test_equity_cash_never_negative_and_sells_never_oversell(config: EngineConfig,
                                                            ops: list[tuple[object, ...]]) -> None:
    """EQUITY: cash never goes negative, and without shorting resting sells never exceed the holding."""
    def check(eng: Engine) -> None:
        common_checks(eng)
        account = eng.account("a")
        fills = eng.fills("a")
        signed = (f.quantity * f.price * (1 if f.side is Side.SELL else -1) - f.fee for f in fills)
        cash_flow = sum(signed, ZERO)
        assert account.balances["INR"].total == D(30000) + cash_flow
        pos = account.positions.get("INFY")
        held = ZERO if pos is None else pos.quantity
        if not config.allow_short:
            assert held >= 0
            resting = sum((o.remaining for o in eng.orders("a", open_only=True) if o.side is Side.SELL), ZERO)
            assert resting <= held

    run("INFY", config, ops, check)


@settings(max_examples=200, deadline=None)
@given(CONFIGS, st.lists(OP, min_size=10, max_size=60))
def test_futures_balances_never_negative(config: EngineConfig, ops: list[tuple[object, ...]]) -> None:
    """FUTURES: free never goes negative and locked is the open orders' margin plus the position margin."""
    def check(eng: Engine) -> None:
        common_checks(eng)
        account = eng.account("a")
        pos = account.positions.get("BTCUSDT.P")
        margin = ZERO if pos is None else pos.margin
        assert margin >= 0
        if pos is not None and pos.quantity == 0:
            assert margin == 0
        reserved = sum((o.locked for o in eng.orders("a", open_only=True)), ZERO)
        assert account.balances["USDT"].locked == reserved + margin

    run("BTCUSDT.P", config, ops, check)


STEPS = st.sampled_from([D(1), D("0.001"), D("0.00001"), D("0.05")])


@given(st.integers(1, 10**9), STEPS, st.integers(1, 12))
def test_split_quantity_sums_exactly(steps: int, step: Decimal, parts: int) -> None:
    """split_quantity returns at most ``parts`` positive step multiples that sum exactly to the total."""
    total = step * steps
    pieces = split_quantity(total, step, parts)
    assert sum(pieces, ZERO) == total
    assert 1 <= len(pieces) <= min(parts, steps)
    assert all(p > 0 and p % step == 0 for p in pieces)
    assert len(pieces) == min(parts, steps)


def test_asset_classes_are_all_exercised() -> None:
    """The property tests cover one instrument of each asset class."""
    classes = {i.asset_class for i in ALL if i.symbol in SCALE}
    assert classes == set(AssetClass)
