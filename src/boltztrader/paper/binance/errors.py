"""Binance's error codes and messages, word for word from the reference, and how they are rendered.

Every error is ``{"code": <negative int>, "msg": "<text>"}`` with ``application/json;charset=UTF-8``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

JSON_TYPE = "application/json;charset=UTF-8"
DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INT_RANGE = "^[0-9]{1,20}$"
SPOT_CLIENT_ID_RANGE = "^[a-zA-Z0-9-_]{1,36}$"
FUTURES_CLIENT_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE_ORDER = "Duplicate order sent."
WOULD_TRIGGER = "Order would trigger immediately."
WOULD_TAKE = "Order would immediately match and take."
UNKNOWN_ORDER = "Unknown order sent."
NO_SUCH_ORDER = "Order does not exist."
BAD_SIGNATURE = "Signature for this request is not valid."
KEY_FORMAT = "API-key format invalid."
KEY_REJECTED = "Invalid API-key, IP, or permissions for action."
TS_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
TS_OUTSIDE = "Timestamp for this request is outside of the recvWindow."


class BinanceError(Exception):
    """A refusal rendered as Binance renders it."""

    def __init__(self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}

    def response(self) -> web.Response:
        return json_response(self.body(), status=self.status, headers=self.headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body, separators=(",", ":")),
        status=status,
        content_type="application/json",
        charset="UTF-8",
        headers=headers,
    )


# -- the table ---------------------------------------------------------------------------------------
def illegal_chars(param: str, legal: str = DECIMAL_RANGE) -> BinanceError:
    return BinanceError(-1100, f"Illegal characters found in parameter '{param}'; legal range is '{legal}'.")


def mandatory(param: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{param}' was not sent, was empty/null, or malformed.")


def one_of(first: str, second: str) -> BinanceError:
    return BinanceError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def too_large(param: str, limit: str) -> BinanceError:
    return BinanceError(-1102, f"'{param}' contains unexpected value. Cannot be greater than {limit}.")


def duplicate_param() -> BinanceError:
    return BinanceError(-1101, "Duplicate values for a parameter detected.")


def not_required(param: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{param}' sent when not required.")


def too_precise(param: str) -> BinanceError:
    return BinanceError(-1111, f"Parameter '{param}' has too much precision.")


def filter_failure(name: str) -> BinanceError:
    return BinanceError(-1013, f"Filter failure: {name}")


def bad_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def invalid_tif() -> BinanceError:
    return BinanceError(-1115, "Invalid timeInForce.")


def invalid_type() -> BinanceError:
    return BinanceError(-1116, "Invalid orderType.")


def invalid_side() -> BinanceError:
    return BinanceError(-1117, "Invalid side.")


def invalid_value(param: str) -> BinanceError:
    return BinanceError(-1130, f"Data sent for parameter '{param}' is not valid.")


def rejected(msg: str) -> BinanceError:
    return BinanceError(-2010, msg)


def unknown_order() -> BinanceError:
    return BinanceError(-2011, UNKNOWN_ORDER)


def no_such_order() -> BinanceError:
    return BinanceError(-2013, NO_SUCH_ORDER)


def client_id_mismatch() -> BinanceError:
    return BinanceError(-2039, "Client order ID is not correct for this order ID.")


def bad_listen_key() -> BinanceError:
    return BinanceError(-1125, "This listenKey does not exist.")


def too_much_weight(limit: int, retry_after_s: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 "
        "MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
        status=429,
        headers={"Retry-After": str(retry_after_s)},
    )


def banned(until_ms: int, retry_after_s: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. Please use "
        "WebSocket Streams for live updates to avoid bans.",
        status=418,
        headers={"Retry-After": str(retry_after_s)},
    )


def too_many_orders(limit: int, interval: str, retry_after_s: int) -> BinanceError:
    return BinanceError(
        -1015,
        f"Too many new orders; current limit is {limit} orders per {interval}.",
        status=429,
        headers={"Retry-After": str(retry_after_s)},
    )


# futures
def margin_insufficient() -> BinanceError:
    return BinanceError(-2019, "Margin is insufficient.")


def futures_duplicate() -> BinanceError:
    return BinanceError(-4116, "ClientOrderId is duplicated.")


def use_algo_endpoint() -> BinanceError:
    return BinanceError(
        -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
    )


class Renderer:
    """The fault plan's refusals worded as Binance words them (``http.ErrorRenderer``)."""

    def server_error(self, status: int) -> web.Response:
        if status >= 500:
            body = (
                {
                    "code": -1007,
                    "msg": "Timeout waiting for response from backend server. Send status unknown; "
                    "execution status unknown.",
                }
                if status in (500, 504)
                else {
                    "code": -1008,
                    "msg": "Server is currently overloaded with other requests. Please try again in a "
                    "few minutes.",
                }
            )
        else:
            body = {"code": -1000, "msg": "An unknown error occurred while processing the request."}
        return json_response(body, status=status)

    def rate_limited(self, status: int, retry_after_s: float) -> web.Response:
        seconds = max(1, round(retry_after_s))
        if status == 418:
            return banned(int((time.time() + seconds) * 1000), seconds).response()
        return too_much_weight(6000, seconds).response()


RENDERER = Renderer()
