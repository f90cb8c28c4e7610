"""Kite's error envelope, exception names and the exact messages the paper broker answers with.

Every error is ``{"status": "error", "message": ..., "error_type": ..., "data": null}`` with an
HTTP status. The official client picks its exception class from ``error_type`` (never from the
status), so both must be right. Messages marked [OBS] were seen in real Kite responses; the others
follow Kite's wording style but are not verified.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

JSON = "application/json"

# -- messages -----------------------------------------------------------------------------------
BAD_TOKEN = "Incorrect `api_key` or `access_token`."  # noqa: S105 [OBS]
EXPIRED_TOKEN = "Token is invalid or has expired"  # noqa: S105 [OBS]
BAD_CHECKSUM = "Invalid `checksum`."
BAD_API_KEY = "Invalid `api_key`."
TOO_MANY = "Too many requests"  # [OBS] 429 NetworkException
DAY_CAP = "Maximum allowed order requests exceeded"  # [OBS]
MAX_MODIFY = "Maximum allowed order modifications exceeded"  # [OBS]
BEING_PROCESSED = "Order cannot be cancelled as it is being processed. Try later."  # [OBS]
NO_MARKET_PROTECTION = ("Market orders without market protection are not allowed via API. "
                        "Please set market protection or use a Limit order.")  # [OBS]
MARKET_CLOSED = "Markets are not open for trading today. Try placing an AMO order."  # [OBS]
TRIGGER_BUY = "Trigger price for stoploss buy orders should be higher than the last traded price."
TRIGGER_SELL = "Trigger price for stoploss sell orders should be lower than the last traded price."
UNKNOWN_ORDER = "Couldn't find that `order_id`."
BAD_VERSION = "Invalid or missing `X-Kite-Version` header."
ROUTE_NOT_FOUND = "Route not found"


def tick_message(tick: str, trigger: bool = False) -> str:
    """[OBS] The tick-size refusal, for the price or the trigger price."""
    what = "trigger price" if trigger else "price"
    return (f"Tick size for this script is {tick}. Kindly enter {what} in the multiple of tick size "
            "for this script")


def decode_message(field: str, got: str, expected: str) -> str:
    """[OBS] Kite's message for a form value that does not parse."""
    return f"Invalid request (failed to decode `{field}`, got: `{got}` (expected {expected}))"


def invalid(field: str) -> str:
    return f"Invalid `{field}`."


def insufficient_funds(required: str, available: str) -> tuple[str, str]:
    """[MOCK] status_message and status_message_raw of an order rejected by RMS for margin."""
    return (f"Insufficient funds. Required margin is {required} but available margin is {available}. "
            "Check the orderbook for open orders.",
            f"RMS:Margin Exceeds,Required:{required}, Available:{available} for entity account-{{user}} "
            "across exchange across segment across product ")


INSUFFICIENT_HOLDINGS = ("Insufficient holdings. You do not have enough quantity of this stock in your "
                         "holdings or positions to sell.",
                         "RMS:Rule: Check holdings, available quantity is less than the sell quantity")


class KiteError(Exception):
    """An error answered in Kite's envelope."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def input_error(message: str) -> KiteError:
    return KiteError(400, "InputException", message)


def token_error(message: str = BAD_TOKEN) -> KiteError:
    return KiteError(403, "TokenException", message)


def error_response(status: int, error_type: str, message: str,
                   headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"status": "error", "message": message, "error_type": error_type, "data": None}
    return web.Response(status=status, text=json.dumps(body), content_type=JSON, headers=headers)


def render(error: KiteError) -> web.Response:
    return error_response(error.status, error.error_type, error.message)


_SERVER_ERRORS = {
    500: ("GeneralException", "Something went wrong. Please try again."),
    502: ("NetworkException", "Gateway error: the order management system is not responding."),
    503: ("NetworkException", "Service unavailable. Please try again."),
    504: ("NetworkException", "Gateway timed out. Please try again."),
}


class Renderer:
    """The ErrorRenderer for the fault plan: failures in Kite's own words."""

    def server_error(self, status: int) -> web.Response:
        error_type, message = _SERVER_ERRORS.get(status, ("GeneralException", "Something went wrong."))
        return error_response(status, error_type, message)

    def rate_limited(self, status: int, retry_after_s: float) -> web.Response:
        # Kite documents no Retry-After; the fault plan promises one, so injected 429s carry it.
        return error_response(status, "NetworkException", TOO_MANY,
                              headers={"Retry-After": str(max(1, round(retry_after_s)))})


RENDERER = Renderer()
