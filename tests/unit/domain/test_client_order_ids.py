"""Client order ids are deterministic per (signal, account) and fit every broker's format."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from boltztrader.domain.ids import (
    ALPACA_CLIENT_ORDER_ID_MAX,
    BINANCE_CLIENT_ORDER_ID,
    KITE_TAG,
    client_order_id,
    id_timestamp,
    kite_tag,
    new_id,
)

ids = st.text(min_size=1, max_size=64).filter(lambda s: s.strip() == s)


def test_client_order_id_is_deterministic() -> None:
    """The same (signal, account) always yields the same id, so a retried send is recognised."""
    assert client_order_id("sig-1", "acct-9") == client_order_id("sig-1", "acct-9")
    assert client_order_id("sig-1", "acct-9") == "bz" + client_order_id("sig-1", "acct-9")[2:]


def test_client_order_id_separates_its_two_inputs() -> None:
    """Moving characters between signal and account ids gives a different order id."""
    assert client_order_id("a|b", "c") != client_order_id("a", "b|c")
    assert client_order_id("ab", "c") != client_order_id("a", "bc")


@given(ids, ids, ids, ids)
def test_distinct_pairs_get_distinct_ids(sig_a: str, acct_a: str, sig_b: str, acct_b: str) -> None:
    """Two different (signal, account) pairs never share a client order id."""
    assume((sig_a, acct_a) != (sig_b, acct_b))
    assert client_order_id(sig_a, acct_a) != client_order_id(sig_b, acct_b)


@given(ids, ids)
def test_client_order_id_fits_binance_and_alpaca(signal_id: str, account_id: str) -> None:
    """Every id matches Binance's newClientOrderId regex (<= 36) and Alpaca's 128-character limit."""
    coid = client_order_id(signal_id, account_id)
    assert BINANCE_CLIENT_ORDER_ID.fullmatch(coid)
    assert len(coid) <= 36
    assert len(coid) <= ALPACA_CLIENT_ORDER_ID_MAX


@pytest.mark.parametrize(("signal_id", "account_id"), [("", "a"), ("s", ""), (" s", "a"), ("s", "a ")])
def test_client_order_id_refuses_blank_or_padded_inputs(signal_id: str, account_id: str) -> None:
    """Blank or space-padded ids are refused, since ' x' and 'x' would otherwise be two intents."""
    with pytest.raises(ValueError, match="without surrounding spaces"):
        client_order_id(signal_id, account_id)


@given(ids, ids)
def test_kite_tag_is_short_alphanumeric_and_deterministic(signal_id: str, account_id: str) -> None:
    """The Kite tag is at most 20 alphanumeric characters and the same every time."""
    coid = client_order_id(signal_id, account_id)
    tag = kite_tag(coid)
    assert KITE_TAG.fullmatch(tag)
    assert len(tag) <= 20
    assert tag == kite_tag(coid)


def test_kite_tag_of_our_id_is_its_prefix() -> None:
    """For our own ids the tag is the id's first 20 characters, so operators can match them by eye."""
    coid = client_order_id("sig", "acct")
    assert kite_tag(coid) == coid[:20]


def test_kite_tag_of_a_foreign_id_is_hashed_to_alphanumeric() -> None:
    """An id with punctuation still yields a valid alphanumeric tag."""
    tag = kite_tag("some:foreign/id_with-punctuation.and-more-than-twenty")
    assert re.fullmatch(r"[A-Za-z0-9]{1,20}", tag)


def test_new_id_is_uuid7_hex_and_time_ordered() -> None:
    """Ids are 32 hex digits, version 7, and sort in creation order across milliseconds."""
    start = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = new_id(at=start)
    second = new_id(at=start + timedelta(milliseconds=1))
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first[12] == "7"
    assert first < second
    assert first != new_id(at=start)


def test_new_id_embeds_its_timestamp() -> None:
    """The creation time can be read back from an id to millisecond precision."""
    moment = datetime(2025, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert id_timestamp(new_id(at=moment, random_bits=0)) == moment


def test_new_id_refuses_naive_time() -> None:
    """A naive datetime would make the embedded time ambiguous, so it is refused."""
    with pytest.raises(ValueError, match="aware"):
        new_id(at=datetime(2025, 1, 1))
