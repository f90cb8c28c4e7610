"""Enum values are the stored lowercase words; parsing is forgiving about case but not content."""

import pytest

from boltztrader.domain.enums import (
    Broker,
    ExecutionMode,
    Market,
    OrderType,
    Region,
    Side,
    TimeInForce,
    parse_enum,
)


@pytest.mark.parametrize("text", ["buy", "BUY", " Buy ", Side.BUY])
def test_parse_enum_is_case_insensitive(text: str) -> None:
    """Any case and surrounding spaces parse to the same member."""
    assert parse_enum(Side, text) is Side.BUY


def test_parse_enum_accepts_member_names_with_underscores() -> None:
    """Multi-word values parse from their stored form and their member name."""
    assert parse_enum(OrderType, "STOP_LIMIT") is OrderType.STOP_LIMIT
    assert parse_enum(ExecutionMode, "semi_manual") is ExecutionMode.SEMI_MANUAL


def test_parse_enum_error_lists_allowed_values() -> None:
    """An unknown word raises ValueError naming every allowed value."""
    with pytest.raises(ValueError, match="allowed: buy, sell"):
        parse_enum(Side, "hold")


def test_parse_enum_refuses_non_text() -> None:
    """A number is not an enum spelling."""
    with pytest.raises(TypeError):
        parse_enum(Side, 1)  # type: ignore[arg-type]


def test_every_value_is_lowercase_text() -> None:
    """Stored values are lowercase so database rows and JSON compare equal to members."""
    for enum_cls in (Broker, Market, Side, OrderType, TimeInForce, Region, ExecutionMode):
        for member in enum_cls:
            assert member.value == member.value.lower()
            assert member == member.value


@pytest.mark.parametrize(
    ("market", "region"),
    [
        (Market.NSE, Region.INDIA),
        (Market.BSE, Region.INDIA),
        (Market.NFO, Region.INDIA),
        (Market.US, Region.US),
        (Market.CRYPTO, Region.CRYPTO),
        (Market.CRYPTO_FUTURES, Region.CRYPTO),
    ],
)
def test_every_market_has_a_region(market: Market, region: Region) -> None:
    """Routing by region works for every market."""
    assert market.region is region


def test_derivatives_markets() -> None:
    """Only NFO and crypto futures are derivatives markets."""
    assert {m for m in Market if m.is_derivatives} == {Market.NFO, Market.CRYPTO_FUTURES}


def test_side_opposite_is_an_involution() -> None:
    """The opposite of buy is sell and back again."""
    assert Side.BUY.opposite is Side.SELL
    assert Side.SELL.opposite.opposite is Side.SELL


def test_order_type_price_requirements() -> None:
    """Limit-style types need a limit price and stop-style types a trigger price."""
    assert [t for t in OrderType if t.needs_limit_price] == [OrderType.LIMIT, OrderType.STOP_LIMIT]
    assert [t for t in OrderType if t.needs_trigger_price] == [OrderType.STOP, OrderType.STOP_LIMIT]
