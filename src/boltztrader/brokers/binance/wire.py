"""Binance's wire values: parameter encoding out, JSON and decimal strings in.

Numbers go out as plain decimal strings (``format(d, "f")``: never ``1e-05``, which Binance
refuses with -1100) and come back as strings (``"0.00100000"``); ids and times are integers (ms).
Anything that does not match the expected shape raises ``BrokerProtocolError``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from boltztrader.errors import BrokerProtocolError

_UNRESERVED = re.compile(r"[A-Za-z0-9_.\-~]*")
ZERO = Decimal(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# -- out ---------------------------------------------------------------------------------------------


def enc(value: str) -> str:
    """Percent-encode a parameter value (UTF-8) unless it is already plain; Binance wants the
    encoded form signed, so we sign exactly what we send."""
    if _UNRESERVED.fullmatch(value):
        return value
    return quote(value, safe="-_.~")


def num(value: Decimal) -> str:
    """A Decimal as plain digits."""
    return format(value, "f")


# -- in ----------------------------------------------------------------------------------------------


def loads(body: bytes, where: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise BrokerProtocolError(f"binance {where}: the answer is not JSON") from None


def dec(value: Any) -> Decimal:
    """A decimal field (string or number); a KeyError / ValueError bubbles to ``protocol``."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError("not a decimal") from None
        if result.is_finite():
            return result
    raise ValueError("not a decimal")


def positive(value: Any) -> Decimal | None:
    """A price-like field where zero (or absent) means "none"."""
    if value is None:
        return None
    result = dec(value)
    return result if result > 0 else None


def ms_time(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an epoch time in ms")
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def now() -> datetime:
    return datetime.now(UTC)


def protocol_error(where: str, exc: Exception) -> BrokerProtocolError:
    """A response that did not match its wire schema: which key was missing or which kind of value
    was wrong (never the response body)."""
    if isinstance(exc, KeyError) and exc.args:
        detail = f"missing field {exc.args[0]!r}"
    else:
        detail = type(exc).__name__
    return BrokerProtocolError(f"binance {where}: unexpected answer ({detail})")
