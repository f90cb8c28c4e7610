"""The trading signal an AI model emits, validated once at the edge.

A ``Signal`` that exists is well-formed (risk check 1): side known, exactly one of quantity or
notional, finite and positive, confidence in [0, 1], an aware UTC timestamp. Every refusal raises
``InvalidSignal`` with a ``reason`` for the audit trail and the ``field`` at fault.

``content_fingerprint`` hashes a canonical form, so a signal id replayed with different content
(a bug or an attack on idempotency) can be told apart from an honest retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from boltztrader.domain.clock import utc
from boltztrader.domain.enums import Broker, Market, Region, Side, parse_enum
from boltztrader.domain.money import to_decimal
from boltztrader.errors import TradingError

__all__ = ["InvalidSignal", "Signal"]

E = TypeVar("E", bound=StrEnum)
_MAX_ID = 128
_KNOWN_KEYS = frozenset(
    {
        "id",
        "model_id",
        "symbol",
        "market",
        "side",
        "quantity",
        "notional",
        "limit_price",
        "confidence",
        "created_at",
        "broker",
        "account_id",
        "user_id",
        "region",
    }
)


class InvalidSignal(TradingError, ValueError):
    """A signal is malformed; nothing is traded (risk reason code INVALID_SIGNAL)."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"invalid signal: {reason}")


def _id(value: object, name: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value or value.strip() != value or len(value) > _MAX_ID:
        raise InvalidSignal(f"{name} must be 1-{_MAX_ID} characters without surrounding spaces", name)


def _amount(value: object, name: str) -> Decimal:
    if isinstance(value, float):
        raise InvalidSignal(
            f"{name} must not be a float ({value!r}): send it as text, or decode JSON "
            "with parse_float=Decimal",
            name,
        )
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidSignal(
            f"{name} must be a number as Decimal, int or text, not {type(value).__name__}", name
        )
    try:
        return to_decimal(value, name=name)
    except (TypeError, ValueError) as exc:
        raise InvalidSignal(str(exc), name) from None


def _parse(enum_cls: type[E], value: object, name: str) -> E:
    if not isinstance(value, str):
        raise InvalidSignal(f"{name} must be text, not {type(value).__name__}", name)
    try:
        return parse_enum(enum_cls, value)
    except ValueError as exc:
        raise InvalidSignal(str(exc), name) from None


def _canonical(value: Decimal | None) -> str | None:
    """One spelling per number (1.50 and 1.5 agree), in plain notation, for the fingerprint."""
    return None if value is None else format(value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class Signal:
    """One model's instruction: trade ``symbol`` on ``side``, sized by quantity or by notional.

    ``broker``, ``account_id``, ``user_id`` and ``region`` are routing hints, not orders.
    """

    id: str
    model_id: str
    symbol: str
    market: Market
    side: Side
    confidence: Decimal
    created_at: datetime
    quantity: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    broker: Broker | None = None
    account_id: str | None = None
    user_id: str | None = None
    region: Region | None = None

    def __post_init__(self) -> None:
        _id(self.id, "id")
        _id(self.model_id, "model_id")
        _id(self.symbol, "symbol")
        if any(ch.isspace() for ch in self.symbol):
            raise InvalidSignal("symbol must not contain spaces", "symbol")
        for name in ("account_id", "user_id"):
            _id(getattr(self, name), name, optional=True)
        set_ = object.__setattr__
        set_(self, "market", _parse(Market, self.market, "market"))
        set_(self, "side", _parse(Side, self.side, "side"))
        if self.broker is not None:
            set_(self, "broker", _parse(Broker, self.broker, "broker"))
        if self.region is not None:
            set_(self, "region", _parse(Region, self.region, "region"))
            if self.region is not self.market.region:
                raise InvalidSignal(f"region {self.region} does not match market {self.market}", "region")
        self._check_size()
        confidence = _amount(self.confidence, "confidence")
        if not 0 <= confidence <= 1:
            raise InvalidSignal(f"confidence must be within [0, 1], got {confidence}", "confidence")
        set_(self, "confidence", confidence)
        try:
            set_(self, "created_at", utc(self.created_at))
        except (TypeError, ValueError) as exc:
            raise InvalidSignal(str(exc), "created_at") from None

    def _check_size(self) -> None:
        if (self.quantity is None) == (self.notional is None):
            raise InvalidSignal("give exactly one of quantity or notional", "quantity")
        for name in ("quantity", "notional", "limit_price"):
            raw = getattr(self, name)
            if raw is None:
                continue
            value = _amount(raw, name)
            if value <= 0:
                raise InvalidSignal(f"{name} must be > 0, got {value}", name)
            object.__setattr__(self, name, value)

    @classmethod
    def create(
        cls,
        *,
        id: str,
        model_id: str,
        symbol: str,
        market: Market | str,
        side: Side | str,
        confidence: Decimal | str | int,
        created_at: datetime,
        quantity: Decimal | str | int | None = None,
        notional: Decimal | str | int | None = None,
        limit_price: Decimal | str | int | None = None,
        broker: Broker | str | None = None,
        account_id: str | None = None,
        user_id: str | None = None,
        region: Region | str | None = None,
    ) -> Signal:
        """Build from loose input (text numbers, any-case enums, lower-case symbol): the intake path."""
        return cls(
            id=id,
            model_id=model_id,
            symbol=symbol.strip().upper() if isinstance(symbol, str) else symbol,
            market=_parse(Market, market, "market"),
            side=_parse(Side, side, "side"),
            confidence=_amount(confidence, "confidence"),
            created_at=created_at,
            quantity=None if quantity is None else _amount(quantity, "quantity"),
            notional=None if notional is None else _amount(notional, "notional"),
            limit_price=None if limit_price is None else _amount(limit_price, "limit_price"),
            broker=None if broker is None else _parse(Broker, broker, "broker"),
            account_id=account_id,
            user_id=user_id,
            region=None if region is None else _parse(Region, region, "region"),
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Signal:
        """Build from decoded JSON; numbers must be text or Decimal (``json.loads(parse_float=Decimal)``).

        ``created_at`` may be an ISO 8601 string with an offset; unknown keys are refused so that a
        misspelt ``quantity`` is not silently ignored.
        """
        unknown = sorted(set(data) - _KNOWN_KEYS)
        if unknown:
            raise InvalidSignal(f"unknown field(s): {', '.join(unknown)}", unknown[0])
        for required in ("id", "model_id", "symbol", "market", "side", "confidence", "created_at"):
            if data.get(required) is None:
                raise InvalidSignal(f"{required} is required", required)
        created_at = data["created_at"]
        if isinstance(created_at, str):
            try:
                created_at = datetime.fromisoformat(created_at)
            except ValueError:
                raise InvalidSignal(f"created_at is not ISO 8601: {created_at!r}", "created_at") from None
        return cls.create(**{**{key: data.get(key) for key in _KNOWN_KEYS}, "created_at": created_at})

    def content_fingerprint(self) -> str:
        """SHA-256 (hex) of every field except ``id``, canonically encoded (sorted keys, normalised numbers).

        The id is left out so that two ids carrying the same content share a fingerprint too.
        """
        payload = {
            "v": 1,
            "model_id": self.model_id,
            "symbol": self.symbol,
            "market": str(self.market),
            "side": str(self.side),
            "quantity": _canonical(self.quantity),
            "notional": _canonical(self.notional),
            "limit_price": _canonical(self.limit_price),
            "confidence": _canonical(self.confidence),
            "created_at": self.created_at.isoformat(timespec="microseconds"),
            "broker": None if self.broker is None else str(self.broker),
            "account_id": self.account_id,
            "user_id": self.user_id,
            "region": None if self.region is None else str(self.region),
        }
        encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
