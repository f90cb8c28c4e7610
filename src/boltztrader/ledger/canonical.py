"""Canonical JSON: one value, exactly one text, so that its hash never depends on who wrote it.

Rules (the audit ledger hashes this text, so they are part of the ledger's format):

- Objects have ``str`` keys only, sorted by code point; no whitespace anywhere
  (separators ``,`` and ``:``); the text is UTF-8 with non-ASCII characters written as
  themselves (``ensure_ascii=False``) and the JSON escapes that ``json`` uses for the rest.
- ``str`` (and ``str`` enums) -> JSON string, as given (no Unicode normalization).
- ``bool`` -> ``true``/``false``; ``None`` -> ``null``; ``int`` (and ``int`` enums) -> integer.
- ``decimal.Decimal`` -> JSON *string* holding ``str(value)``: its exact digits and exponent,
  so ``Decimal("1.10")`` is ``"1.10"`` and never ``"1.1"``. NaN and infinities are refused.
- ``datetime.datetime`` -> JSON string ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, always with six
  fraction digits. Naive datetimes are refused (their instant is unknown).
- ``list`` and ``tuple`` -> array; any ``Mapping`` -> object.
- Everything else raises ``TypeError``: ``float`` (binary fractions are not money), NaN,
  ``set``/``frozenset`` (no order), ``bytes``, ``date``, arbitrary objects, non-``str`` keys,
  and strings that are not valid Unicode (lone surrogates).

Decoding the text gives back strings where Decimals and datetimes were: the payload records
what happened, and a reader who needs the number parses ``Decimal(text)`` exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_UTC_TEXT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", re.ASCII)
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"), check_circular=False
)

def canonical_text(value: object) -> str:
    """The canonical JSON text of ``value``; TypeError when it holds anything the rules refuse."""
    text = _ENCODER.encode(_plain(value, 0))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TypeError("string is not valid Unicode (lone surrogate)") from None
    return text


def canonical_bytes(value: object) -> bytes:
    """The canonical JSON of ``value`` as UTF-8 bytes."""
    return canonical_text(value).encode("utf-8")


def format_utc(moment: datetime) -> str:
    """``moment`` as canonical ISO-8601 UTC text; TypeError when it is naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TypeError("naive datetime has no instant: pass a timezone-aware (UTC) datetime")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_utc(text: str) -> datetime:
    """The aware UTC datetime written by :func:`format_utc`; ValueError on any other shape."""
    if not _UTC_TEXT.fullmatch(text):
        raise ValueError(f"not a canonical UTC time: {text!r}")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def is_canonical_object(text: str) -> bool:
    """Whether ``text`` is a JSON object written exactly as :func:`canonical_text` writes it.

    Floats, NaN, duplicate keys and any difference in spacing, key order or escaping make it
    non-canonical.
    """
    try:
        value = json.loads(text, parse_float=_refuse, parse_constant=_refuse, object_pairs_hook=_unique)
    except (ValueError, TypeError, RecursionError):
        return False
    if not isinstance(value, dict):
        return False
    try:
        return canonical_text(value) == text
    except TypeError:
        return False


def _plain(value: object, depth: int) -> Any:
    # Exact type checks first: they are the common case and cheaper than isinstance chains.
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value
    if depth > 100:
        raise TypeError("value is nested more than 100 levels deep")
    if kind is Decimal:
        return _decimal(value)  # type: ignore[arg-type]
    if kind is dict:
        out_: dict[str, Any] = {}
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                return _plain_mapping(value, depth)  # type: ignore[arg-type]
            ik = type(item)
            plain = ik is str or ik is int or ik is bool or item is None
            out_[key] = item if plain else _plain(item, depth + 1)
        return out_
    if isinstance(value, Mapping):
        return _plain_mapping(value, depth)
    if isinstance(value, list | tuple):
        return [_plain(item, depth + 1) for item in value]
    return _plain_other(value)


def _plain_mapping(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"object keys must be str, not {type(key).__name__}")
        out[str.__str__(key)] = _plain(item, depth + 1)
    return out


def _plain_other(value: object) -> Any:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and not isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime):
        return format_utc(value)
    raise TypeError(f"{type(value).__name__} has no canonical JSON form"
                    + (" (use Decimal, never float)" if isinstance(value, float) else ""))


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise TypeError(f"non-finite Decimal has no canonical JSON form: {value}")
    return str(value)


def _refuse(token: str) -> object:
    raise ValueError(f"non-canonical number {token!r}")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out
