"""The configurable limits of the risk guard: one frozen object, stored per user and account as JSON.

Every field carries, in its metadata, what *stricter* means for it and its valid range, so that
``tighten`` (a global admin policy can only tighten) and the validation are one loop over fields,
and a new field cannot be added without saying how it tightens.

Stricter means, per kind of field:

- ``lower``: a smaller number denies more (ages, fractions of balance, counts per window, TTLs).
- ``higher``: a larger number denies more (minimum confidence, look-alike window, repeated-fill
  window, Binance headroom).
- ``lower_cap``: an optional cap; ``None`` (no cap) is the loosest, otherwise the smaller cap.
- ``false``: a permission; ``False`` (not allowed) is stricter than ``True``.

Durations are stored as seconds in text (``"30"``, ``"0.5"``), amounts as text, so JSON keeps them
exact. Floats are read through their shortest ``repr`` (``0.7`` means ``Decimal("0.7")``).
"""

# The fields' defaults come from small helpers that return ``dataclasses.field`` with metadata.
# ruff: noqa: RUF009
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

__all__ = ["Limits", "Stricter"]


class Stricter(StrEnum):
    """What a stricter value of a limit looks like (see the module docstring)."""

    LOWER = "lower"
    HIGHER = "higher"
    LOWER_CAP = "lower_cap"
    FALSE = "false"


class _Kind(StrEnum):
    DECIMAL = "decimal"
    DURATION = "duration"
    COUNT = "count"
    FLAG = "flag"


def _meta(
    kind: _Kind, stricter: Stricter, lo: str | None, hi: str | None, lo_open: bool, hi_open: bool
) -> dict[str, Any]:
    return {
        "kind": kind,
        "stricter": stricter,
        "lo": None if lo is None else Decimal(lo),
        "hi": None if hi is None else Decimal(hi),
        "lo_open": lo_open,
        "hi_open": hi_open,
    }


def _dec(
    default: str,
    stricter: Stricter,
    *,
    lo: str | None = "0",
    hi: str | None = None,
    lo_open: bool = True,
    hi_open: bool = False,
) -> Decimal:
    return field(default=Decimal(default), metadata=_meta(_Kind.DECIMAL, stricter, lo, hi, lo_open, hi_open))


def _cap() -> Decimal | None:
    return field(default=None, metadata=_meta(_Kind.DECIMAL, Stricter.LOWER_CAP, "0", None, True, False))


def _dur(seconds: str, stricter: Stricter, *, lo_open: bool = True) -> timedelta:
    default = timedelta(microseconds=int(Decimal(seconds).scaleb(6)))
    return field(default=default, metadata=_meta(_Kind.DURATION, stricter, "0", None, lo_open, False))


def _count(default: int, *, hi: str | None = None) -> int:
    return field(default=default, metadata=_meta(_Kind.COUNT, Stricter.LOWER, "1", hi, False, False))


def _flag(default: bool) -> bool:
    return field(default=default, metadata=_meta(_Kind.FLAG, Stricter.FALSE, None, None, False, False))


@dataclass(frozen=True, slots=True)
class Limits:
    """Every default of design/risk.md; fractions are of a balance or price (0.2 = 20 %)."""

    # 2: minimum AI confidence (the seed's rule).
    min_confidence: Decimal = _dec("0.7", Stricter.HIGHER, lo_open=False, hi="1")
    # 3: a signal older than this is stale; one stamped further than the skew in the future too.
    max_signal_age: timedelta = _dur("30", Stricter.LOWER)
    max_clock_skew: timedelta = _dur("1", Stricter.LOWER, lo_open=False)
    # 4: same account, symbol, side and size under another signal id within this window: a look-alike.
    lookalike_window: timedelta = _dur("5", Stricter.HIGHER, lo_open=False)
    # 6: the growing part of an order <= max_exposure x available balance (the seed's 0.2).
    max_exposure: Decimal = _dec("0.2", Stricter.LOWER)
    # 7: fat-finger caps per order (the instrument's own max qty / freeze qty always applies too).
    max_order_notional: Decimal | None = _cap()
    max_order_qty: Decimal | None = _cap()
    # 9: price collar around the reference price, and how old a reference may be.
    collar_equities: Decimal = _dec("0.05", Stricter.LOWER, hi="1", hi_open=True)
    collar_crypto: Decimal = _dec("0.03", Stricter.LOWER, hi="1", hi_open=True)
    reference_max_age_equities: timedelta = _dur("5", Stricter.LOWER)
    reference_max_age_crypto: timedelta = _dur("2", Stricter.LOWER)
    # 11: position notional per symbol, and gross exposure as a multiple of equity.
    max_position_notional: Decimal | None = _cap()
    max_gross_exposure: Decimal | None = _cap()
    cash_gross_exposure: Decimal = _dec("1", Stricter.LOWER)
    # 12: daily loss as a fraction of start-of-day equity.
    max_daily_loss: Decimal = _dec("0.02", Stricter.LOWER, hi="1")
    # 13: order rate per account (cancels count); the broker's own hard limits are the ceilings.
    kite_orders_per_second: int = _count(8, hi="10")
    kite_orders_per_minute: int = _count(200, hi="400")
    alpaca_orders_per_second: int = _count(3)
    alpaca_orders_per_minute: int = _count(200, hi="200")
    binance_headroom: Decimal = _dec("0.2", Stricter.HIGHER, lo_open=False, hi="1", hi_open=True)
    # 14: open orders.
    max_open_orders_account: int = _count(20)
    max_open_orders_symbol: int = _count(5)
    # 15: Kite after-market orders outside NSE hours; US extended hours when the order asks.
    allow_amo: bool = _flag(True)
    allow_extended_hours: bool = _flag(True)
    # 18: this many fills of one user+symbol+model within the window disable the model.
    repeated_fills: int = _count(10)
    repeated_window: timedelta = _dur("60", Stricter.HIGHER)
    # Semi-manual mode: an approval older than this is declined.
    approval_ttl: timedelta = _dur("300", Stricter.LOWER)

    def __post_init__(self) -> None:
        for f in fields(self):
            _validate(f.name, getattr(self, f.name), f.metadata)
        if self.kite_orders_per_minute < self.kite_orders_per_second:
            raise ValueError("kite_orders_per_minute must be >= kite_orders_per_second")

    def tighten(self, policy: Limits) -> Limits:
        """These limits under a global ``policy``: for every field, the stricter of the two values."""
        values: dict[str, Any] = {
            f.name: _stricter(f.metadata["stricter"], getattr(self, f.name), getattr(policy, f.name))
            for f in fields(self)
        }
        return Limits(**values)

    def looser_fields(self, other: Limits) -> tuple[str, ...]:
        """The fields in which these limits are looser than ``other`` (empty: at least as strict)."""
        return tuple(
            f.name
            for f in fields(self)
            if _stricter(f.metadata["stricter"], getattr(self, f.name), getattr(other, f.name))
            != getattr(self, f.name)
        )

    def to_mapping(self) -> dict[str, object]:
        """A JSON-ready dict: amounts and durations (seconds) as text, counts as int, flags as bool."""
        return {f.name: _encode(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Limits:
        """Limits from decoded JSON; missing keys keep their defaults, unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise TypeError(f"limits must be a mapping, not {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise ValueError(f"unknown limit field(s): {', '.join(unknown)}")
        values: dict[str, Any] = {
            name: _decode(name, value, known[name].metadata) for name, value in data.items()
        }
        return cls(**values)


def _stricter(kind: Stricter, a: Any, b: Any) -> Any:
    if kind is Stricter.LOWER:
        return min(a, b)
    if kind is Stricter.HIGHER:
        return max(a, b)
    if kind is Stricter.LOWER_CAP:
        return b if a is None else a if b is None else min(a, b)
    return a and b


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, timedelta):
        return Decimal(value.days * 86_400 + value.seconds) + Decimal(value.microseconds).scaleb(-6)
    assert isinstance(value, (Decimal, int))
    return Decimal(value)


def _validate(name: str, value: object, meta: Mapping[str, Any]) -> None:
    kind: _Kind = meta["kind"]
    expected: dict[_Kind, type | tuple[type, ...]] = {
        _Kind.DECIMAL: Decimal,
        _Kind.DURATION: timedelta,
        _Kind.COUNT: int,
        _Kind.FLAG: bool,
    }
    if value is None and meta["stricter"] is Stricter.LOWER_CAP:
        return
    if not isinstance(value, expected[kind]) or (kind is not _Kind.FLAG and isinstance(value, bool)):
        raise ValueError(f"limit {name} must be a {kind.value}, got {value!r}")
    if kind is _Kind.FLAG:
        return
    number = _as_decimal(value)
    if not number.is_finite():
        raise ValueError(f"limit {name} must be finite, got {value!r}")
    lo, hi = meta["lo"], meta["hi"]
    if lo is not None and (number <= lo if meta["lo_open"] else number < lo):
        raise ValueError(f"limit {name} must be {'>' if meta['lo_open'] else '>='} {lo}, got {number}")
    if hi is not None and (number >= hi if meta["hi_open"] else number > hi):
        raise ValueError(f"limit {name} must be {'<' if meta['hi_open'] else '<='} {hi}, got {number}")


def _encode(value: object) -> object:
    if isinstance(value, timedelta):
        return format(_as_decimal(value).normalize(), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _number(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(f"limit {name} must be a number or numeric text, got {value!r}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"limit {name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"limit {name} must be finite, got {value!r}")
    return number


def _decode(name: str, value: object, meta: Mapping[str, Any]) -> object:
    kind: _Kind = meta["kind"]
    if value is None:
        if meta["stricter"] is Stricter.LOWER_CAP:
            return None
        raise ValueError(f"limit {name} must not be null")
    if kind is _Kind.FLAG:
        if not isinstance(value, bool):
            raise ValueError(f"limit {name} must be true or false, got {value!r}")
        return value
    if kind is _Kind.DURATION:
        if isinstance(value, timedelta):
            return value
        seconds = _number(name, value)
        micro = seconds.scaleb(6)
        if micro != micro.to_integral_value():
            raise ValueError(f"limit {name} has more precision than a microsecond: {value!r}")
        try:
            return timedelta(microseconds=int(micro))
        except OverflowError:
            raise ValueError(f"limit {name} is out of range: {value!r} seconds") from None
    number = _number(name, value)
    if kind is _Kind.COUNT:
        if number != number.to_integral_value():
            raise ValueError(f"limit {name} must be a whole number, got {value!r}")
        return int(number)
    return number
