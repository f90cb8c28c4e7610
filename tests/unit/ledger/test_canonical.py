"""Canonical JSON: one value, one text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boltztrader.ledger.canonical import (
    canonical_bytes,
    canonical_text,
    format_utc,
    is_canonical_object,
    parse_utc,
)

texts = st.text(st.characters(codec="utf-8"), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=20,
)
finite_decimals = st.decimals(allow_nan=False, allow_infinity=False)


class Side(str, Enum):  # noqa: UP042 - the mixin form str() renders as "Side.BUY"
    BUY = "buy"


class Level(IntEnum):
    HIGH = 3


def test_keys_are_sorted_and_there_is_no_whitespace() -> None:
    """Object keys come out sorted by code point with no spaces after separators."""
    assert canonical_text({"b": 1, "a": [1, 2], "C": None}) == '{"C":null,"a":[1,2],"b":1}'


def test_non_ascii_is_written_as_utf8_not_escaped() -> None:
    """Non-ASCII characters stay themselves and the bytes are their UTF-8 encoding."""
    assert canonical_bytes({"name": "Zürich ₹"}) == '{"name":"Zürich ₹"}'.encode()


def test_decimal_keeps_its_exact_digits_as_a_string() -> None:
    """Decimals become strings with their exact digits and exponent, trailing zeros included."""
    assert canonical_text({"a": Decimal("1.10"), "b": Decimal("1E+2"), "c": Decimal("-0.000")}) == (
        '{"a":"1.10","b":"1E+2","c":"-0.000"}'
    )


def test_datetime_is_iso_8601_utc_with_microseconds() -> None:
    """An aware datetime in any zone is written in UTC with six fraction digits and a Z."""
    ist = timezone(timedelta(hours=5, minutes=30))
    moment = datetime(2024, 3, 1, 9, 15, 0, tzinfo=ist)
    assert canonical_text({"t": moment}) == '{"t":"2024-03-01T03:45:00.000000Z"}'


def test_str_and_int_enums_encode_as_their_values() -> None:
    """A str enum is its string and an int enum its integer, not the member's name."""
    assert canonical_text({"side": Side.BUY, "level": Level.HIGH}) == '{"level":3,"side":"buy"}'


@pytest.mark.parametrize(
    "value",
    [1.5, float("nan"), Decimal("NaN"), Decimal("Infinity"), {1, 2}, frozenset(), b"raw", object(),
     {1: "int key"}, datetime(2024, 1, 1), datetime(2024, 1, 1).date(), "\ud800"],
    ids=["float", "float-nan", "decimal-nan", "decimal-inf", "set", "frozenset", "bytes", "object",
         "int-key", "naive-datetime", "date", "lone-surrogate"],
)
def test_values_without_a_canonical_form_raise_type_error(value: object) -> None:
    """Floats, NaN, sets, bytes, naive datetimes and unknown types are refused with TypeError."""
    with pytest.raises(TypeError):
        canonical_text({"v": value})


@given(json_values)
def test_encoding_is_stable_through_a_round_trip(value: object) -> None:
    """Decoding canonical text and encoding it again gives exactly the same text."""
    text = canonical_text(value)
    assert canonical_text(json.loads(text)) == text


@given(st.dictionaries(texts, json_values, max_size=6), st.randoms())
def test_key_insertion_order_does_not_change_the_text(value: dict[str, object], rnd: object) -> None:
    """The same mapping built in any key order has one canonical text."""
    items = list(value.items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    assert canonical_text(dict(items)) == canonical_text(value)


@given(finite_decimals)
def test_decimal_round_trips_exactly(value: Decimal) -> None:
    """Decimal(text) of the encoded string equals the original in digits and exponent."""
    decoded = Decimal(json.loads(canonical_text({"d": value}))["d"])
    assert decoded.as_tuple() == value.as_tuple()


@given(st.datetimes(timezones=st.just(UTC)))
def test_format_utc_round_trips(moment: datetime) -> None:
    """parse_utc reads back exactly the instant format_utc wrote."""
    assert parse_utc(format_utc(moment)) == moment


@given(st.dictionaries(texts, json_values, max_size=6))
def test_canonical_text_of_an_object_is_recognized_as_canonical(value: dict[str, object]) -> None:
    """is_canonical_object accepts every object text that canonical_text writes."""
    assert is_canonical_object(canonical_text(value))


@pytest.mark.parametrize(
    "text",
    ['{"a": 1}', '{"b":1,"a":2}', '{"a":1.5}', '{"a":NaN}', '{"a":1,"a":1}', "[1]", '"s"', "{", "",
     '{"a":"\\u00fc"}', '{"a":1} '],
    ids=["space", "unsorted", "float", "nan", "duplicate-key", "array", "string", "truncated", "empty",
         "escaped-non-ascii", "trailing-space"],
)
def test_non_canonical_texts_are_rejected(text: str) -> None:
    """Any difference in spacing, order, escaping or number form makes the text non-canonical."""
    assert not is_canonical_object(text)
