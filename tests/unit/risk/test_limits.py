"""Limits carry the spec's defaults, round-trip through JSON, refuse bad values, and only tighten."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boltztrader.risk.limits import Limits, Stricter
from boltztrader.risk.reasons import Reason, Rule

D = Decimal

SPEC_CODES = [
    "INVALID_SIGNAL",
    "LOW_CONFIDENCE",
    "STALE_SIGNAL",
    "DUPLICATE_SIGNAL",
    "TRADING_HALTED",
    "EXCEEDS_EXPOSURE",
    "MAX_NOTIONAL",
    "MAX_QTY",
    "INSTRUMENT_RULES",
    "PRICE_COLLAR",
    "STALE_REFERENCE",
    "INSUFFICIENT_BUYING_POWER",
    "POSITION_LIMIT",
    "DAILY_LOSS",
    "RATE_LIMIT",
    "MAX_OPEN_ORDERS",
    "MARKET_CLOSED",
    "ACCOUNT_UNAVAILABLE",
    "MISSING_ALGO_ID",
    "REPEATED_EXECUTION",
]


def test_reason_codes_are_exactly_the_specs() -> None:
    """The Reason enum holds exactly the spec's twenty codes, spelt as the audit stores them."""
    assert [r.value for r in Reason] == SPEC_CODES


def test_rules_cover_checks_one_to_eighteen_with_distinct_reasons() -> None:
    """Every spec row 1-18 has a rule, and every reason code belongs to exactly one rule."""
    assert sorted({rule.number for rule in Rule}) == list(range(1, 19))
    assert sorted(rule.reason.value for rule in Rule) == sorted(SPEC_CODES)


def test_defaults_match_the_spec() -> None:
    """Every default is the spec's (confidence, ages, windows, collars, loss, rates, counts, TTL)."""
    limits = Limits()
    assert limits.min_confidence == D("0.7")
    assert limits.max_signal_age == timedelta(seconds=30)
    assert limits.lookalike_window == timedelta(seconds=5)
    assert limits.max_exposure == D("0.2")
    assert (limits.collar_equities, limits.collar_crypto) == (D("0.05"), D("0.03"))
    assert limits.reference_max_age_equities == timedelta(seconds=5)
    assert limits.reference_max_age_crypto == timedelta(seconds=2)
    assert limits.max_position_notional is None
    assert limits.cash_gross_exposure == 1
    assert limits.max_daily_loss == D("0.02")
    assert (limits.kite_orders_per_second, limits.kite_orders_per_minute) == (8, 200)
    assert limits.alpaca_orders_per_second == 3
    assert limits.binance_headroom == D("0.2")
    assert (limits.max_open_orders_account, limits.max_open_orders_symbol) == (20, 5)
    assert (limits.repeated_fills, limits.repeated_window) == (10, timedelta(seconds=60))
    assert limits.approval_ttl == timedelta(minutes=5)


def test_mapping_round_trips_through_json() -> None:
    """to_mapping is JSON-ready and from_mapping rebuilds the same limits, caps included."""
    limits = Limits(max_order_notional=D("12345.67"), approval_ttl=timedelta(seconds=90, microseconds=500))
    text = json.dumps(limits.to_mapping())
    assert Limits.from_mapping(json.loads(text)) == limits


def test_partial_mapping_keeps_defaults_and_reads_floats_by_repr() -> None:
    """A per-user override names only what it changes; 0.8 as a JSON float means Decimal 0.8."""
    limits = Limits.from_mapping(
        {"min_confidence": 0.8, "max_signal_age": "12.5", "max_open_orders_symbol": 3}
    )
    assert limits.min_confidence == D("0.8")
    assert limits.max_signal_age == timedelta(seconds=12.5)
    assert limits.max_open_orders_symbol == 3
    assert limits.max_exposure == D("0.2")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"min_confidence": "1.5"}, "min_confidence"),
        ({"max_exposure": "0"}, "max_exposure"),
        ({"collar_crypto": "abc"}, "collar_crypto"),
        ({"max_signal_age": "-1"}, "max_signal_age"),
        ({"kite_orders_per_second": 11}, "kite_orders_per_second"),
        ({"max_open_orders_account": "2.5"}, "max_open_orders_account"),
        ({"allow_amo": "yes"}, "allow_amo"),
        ({"max_daily_loss": None}, "max_daily_loss"),
        ({"max_order_qty": "NaN"}, "max_order_qty"),
        ({"max_exposur": "0.1"}, "max_exposur"),
    ],
)
def test_bad_values_raise_value_error_naming_the_field(data: dict[str, Any], field: str) -> None:
    """Each invalid or unknown entry raises ValueError whose message names the field."""
    with pytest.raises(ValueError, match=field):
        Limits.from_mapping(data)


def test_tighten_takes_the_stricter_value_per_field() -> None:
    """A policy raises min confidence, lowers caps and ages, widens windows and revokes permissions."""
    user = Limits(max_order_notional=D("1000"), lookalike_window=timedelta(seconds=2))
    policy = Limits(
        min_confidence=D("0.8"),
        max_signal_age=timedelta(seconds=60),
        max_order_qty=D("5"),
        lookalike_window=timedelta(seconds=10),
        allow_amo=False,
        binance_headroom=D("0.5"),
    )
    tight = user.tighten(policy)
    assert tight.min_confidence == D("0.8")
    assert tight.max_signal_age == timedelta(seconds=30)
    assert (tight.max_order_notional, tight.max_order_qty) == (D("1000"), D("5"))
    assert tight.lookalike_window == timedelta(seconds=10)
    assert tight.allow_amo is False
    assert tight.binance_headroom == D("0.5")


def test_every_field_declares_how_it_tightens() -> None:
    """No field can be added without saying what stricter means for it."""
    assert all(isinstance(f.metadata.get("stricter"), Stricter) for f in fields(Limits))


def _limits() -> st.SearchStrategy[Limits]:
    frac = st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2)
    secs = st.integers(min_value=1, max_value=600).map(lambda s: timedelta(seconds=s))
    cap = st.none() | st.decimals(min_value=D("1"), max_value=D("1000000"), places=2)
    return st.builds(
        Limits,
        min_confidence=frac,
        max_signal_age=secs,
        lookalike_window=secs,
        max_exposure=frac,
        max_order_notional=cap,
        max_order_qty=cap,
        max_position_notional=cap,
        collar_equities=frac,
        max_daily_loss=frac,
        kite_orders_per_second=st.integers(1, 10),
        max_open_orders_symbol=st.integers(1, 50),
        repeated_window=secs,
        binance_headroom=frac,
        allow_amo=st.booleans(),
    )


@given(_limits(), _limits())
def test_tighten_is_never_looser_than_either_input(a: Limits, b: Limits) -> None:
    """tighten(a, b) is at least as strict as a and as b in every field, and is symmetric."""
    tight = a.tighten(b)
    assert tight.looser_fields(a) == ()
    assert tight.looser_fields(b) == ()
    assert tight == b.tighten(a)


def test_looser_fields_names_what_a_user_loosened() -> None:
    """A user limit below the policy's minimum confidence is reported by field name."""
    assert Limits(min_confidence=D("0.5")).looser_fields(Limits()) == ("min_confidence",)


def test_a_duration_beyond_what_a_timedelta_holds_is_refused_as_a_bad_value() -> None:
    """A huge duration (3e16 seconds, found by schemathesis) is a ValueError, not an overflow."""
    with pytest.raises(ValueError, match="max_clock_skew is out of range"):
        Limits.from_mapping({"max_clock_skew": "29930387061380510"})
