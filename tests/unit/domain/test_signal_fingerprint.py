"""The content fingerprint is stable for equal content and changes with any field."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from boltztrader.domain.signals import Signal

WHEN = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
# The v1 canonical encoding of make(); if this changes, stored fingerprints no longer compare.
PINNED = "479dc122af44c16f32f38b443ac029ac2f37ac523e5a1257b18aac296b21e3cf"


def make(**overrides: Any) -> Signal:
    fields: dict[str, Any] = {
        "id": "sig-1",
        "model_id": "model-a",
        "symbol": "BTCUSDT",
        "market": "crypto",
        "side": "sell",
        "quantity": "0.5",
        "confidence": "0.9",
        "created_at": WHEN,
    }
    fields.update(overrides)
    return Signal.create(**fields)


def test_fingerprint_is_a_sha256_hex_digest() -> None:
    """The fingerprint is 64 lowercase hex characters."""
    fingerprint = make().content_fingerprint()
    assert len(fingerprint) == 64
    assert int(fingerprint, 16) >= 0


def test_fingerprint_ignores_spelling_of_equal_content() -> None:
    """Equal numbers written differently and equal enums in any case fingerprint the same."""
    a = make(quantity="0.5", confidence="0.9", side="SELL")
    b = make(quantity=Decimal("0.500"), confidence="0.90", side="sell")
    assert a.content_fingerprint() == b.content_fingerprint()


def test_fingerprint_is_known_value() -> None:
    """The canonical encoding is pinned, so stored fingerprints stay comparable across releases."""
    assert make().content_fingerprint() == PINNED


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": "0.6"},
        {"side": "buy"},
        {"symbol": "ETHUSDT"},
        {"confidence": "0.91"},
        {"limit_price": "65000"},
        {"account_id": "acct-1"},
        {"created_at": datetime(2025, 3, 4, 9, 30, 1, tzinfo=UTC)},
        {"quantity": None, "notional": "0.5"},
    ],
)
def test_fingerprint_changes_with_content(change: dict[str, Any]) -> None:
    """Any change of content, even moving a number from quantity to notional, changes the fingerprint."""
    assert make(**change).content_fingerprint() != make().content_fingerprint()


def test_fingerprint_does_not_depend_on_the_id() -> None:
    """Two ids with identical content share a fingerprint, which exposes look-alike signals."""
    assert make(id="other").content_fingerprint() == make().content_fingerprint()
