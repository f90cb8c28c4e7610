"""Kite Connect v3 on the wire: paths, headers, the form encoding, the envelope, IST timestamps.

Requests: GET/DELETE carry parameters in the query, POST/PUT a form body; every call sends
``X-Kite-Version: 3`` and ``Authorization: token <api_key>:<access_token>``. Answers: the envelope
``{"status": "success", "data": ...}`` (errors in ``errors.py``); numbers are JSON numbers, read
here as ``Decimal`` (never float); timestamps ``yyyy-mm-dd hh:mm:ss`` in IST.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote_plus

VERSION: Final = "3"
FORM: Final = "application/x-www-form-urlencoded"
IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")  # India has no daylight saving time

SESSION_TOKEN: Final = "/session/token"  # noqa: S105 (a path, not a secret)
ORDERS: Final = "/orders"
MARGINS: Final = "/user/margins"
POSITIONS: Final = "/portfolio/positions"
INSTRUMENTS: Final = "/instruments"
QUOTE: Final = "/quote"
VARIETY_REGULAR: Final = "regular"
VARIETY_AMO: Final = "amo"

# Kite's statuses (3.7 of the reference) and the stream-only UPDATE.
COMPLETE: Final = "COMPLETE"
CANCELLED: Final = "CANCELLED"
REJECTED: Final = "REJECTED"


def base_headers() -> dict[str, str]:
    return {"X-Kite-Version": VERSION}


def auth_headers(api_key: str, access_token: str) -> dict[str, str]:
    """The headers of every authenticated call (built once per token, never logged)."""
    return {"X-Kite-Version": VERSION, "Authorization": f"token {api_key}:{access_token}"}


def form_value(text: str) -> str:
    """One form value, escaped (trading symbols such as ``M&M`` need it)."""
    return quote_plus(text, safe="")


def success_data(raw: bytes) -> tuple[bool, Any]:
    """``(True, data)`` for a success envelope, ``(False, None)`` for anything else."""
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        return False, None
    if isinstance(body, dict) and body.get("status") == "success" and "data" in body:
        return True, body["data"]
    return False, None


def placed_order_id(raw: bytes) -> str | None:
    """The ``order_id`` of a placement's success envelope (the hot path: plain json, no Decimal)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("status") != "success":
        return None
    data = body.get("data")
    order_id = data.get("order_id") if isinstance(data, dict) else None
    if isinstance(order_id, int) and not isinstance(order_id, bool):
        order_id = str(order_id)
    return order_id if isinstance(order_id, str) and order_id else None


def csv_text(raw: bytes) -> str:
    """The instrument dump as text (Kite may send it gzipped without a Content-Encoding)."""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8-sig")


def ist_time(text: Any) -> datetime | None:
    """A Kite timestamp (``yyyy-mm-dd hh:mm:ss``, IST) as an aware UTC datetime; None when absent."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=IST)
    return moment.astimezone(UTC)


def number(value: Any) -> Decimal | None:
    """A JSON number (or numeric text) as a Decimal; None when absent or not a number."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str) and value:
        try:
            parsed = Decimal(value)
        except ArithmeticError:
            return None
        return parsed if parsed.is_finite() else None
    if isinstance(value, float):
        return Decimal(repr(value))
    return None
