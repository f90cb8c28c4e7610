"""Alpaca's error bodies: ``{"code": <8-digit int>, "message": "..."}`` with the reference's statuses.

Handlers raise ``AlpacaError``; the app's middleware renders it. Extra keys (``buying_power``,
``available``, ...) ride along where real Alpaca sends them.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

JSON = "application/json"

# codes
UNAUTHORIZED = 40110000
FORBIDDEN = 40310000
NOT_FOUND = 40410000
INVALID = 40010001  # validation answered with HTTP 422
UNPROCESSABLE = 42210000
RATE_LIMITED = 42910000
INTERNAL = 50010000


class AlpacaError(Exception):
    """An Alpaca error reply: HTTP status, 8-digit code, message and optional extra keys."""

    def __init__(self, status: int, code: int | None, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = dict(self.extra)
        if self.code is not None:
            body["code"] = self.code
        body["message"] = self.message
        return body

    def response(self) -> web.Response:
        return web.Response(status=self.status, text=json.dumps(self.body()), content_type=JSON)


def not_authorized() -> AlpacaError:
    return AlpacaError(401, UNAUTHORIZED, "request is not authorized")


def forbidden() -> AlpacaError:
    """Missing or malformed auth headers: real Alpaca answers without a ``code``."""
    return AlpacaError(403, None, "forbidden.")


def endpoint_not_found() -> AlpacaError:
    return AlpacaError(404, NOT_FOUND, "endpoint not found")


def order_not_found() -> AlpacaError:
    return AlpacaError(404, NOT_FOUND, "order not found")


def position_not_found() -> AlpacaError:
    return AlpacaError(404, NOT_FOUND, "position does not exist")


def asset_not_found(symbol: str) -> AlpacaError:
    return AlpacaError(404, NOT_FOUND, f"asset not found for {symbol}")


def invalid(message: str) -> AlpacaError:
    """422 with code 40010001: request validation."""
    return AlpacaError(422, INVALID, message)


def unprocessable(message: str) -> AlpacaError:
    """422 with code 42210000: order rules and states."""
    return AlpacaError(422, UNPROCESSABLE, message)


def duplicate_client_order_id() -> AlpacaError:
    return invalid("client_order_id must be unique")


def unknown_symbol(symbol: str) -> AlpacaError:
    return invalid(f"could not find us_equity '{symbol}'")


def sub_penny(field: str, price: str) -> AlpacaError:
    return unprocessable(
        f"invalid {field} {price}. sub-penny increment does not fulfill minimum pricing criteria")


def insufficient_buying_power(buying_power: str, cost_basis: str) -> AlpacaError:
    return AlpacaError(403, FORBIDDEN, "insufficient buying power", buying_power=buying_power,
                       cost_basis=cost_basis)


def insufficient_qty(symbol: str, requested: str, available: str, existing: str, held: str,
                     related: list[str]) -> AlpacaError:
    message = f"insufficient qty available for order (requested: {requested}, available: {available})"
    return AlpacaError(403, FORBIDDEN, message,
                       available=available, existing_qty=existing, held_for_orders=held,
                       related_orders=related, symbol=symbol)


def not_allowed_to_short() -> AlpacaError:
    return AlpacaError(403, FORBIDDEN, "account is not allowed to short")


def already_in_state(status: str) -> AlpacaError:
    return unprocessable(f'order is already in "{status}" state')


def rate_limited() -> AlpacaError:
    return AlpacaError(429, RATE_LIMITED, "rate limit exceeded")


class Renderer:
    """The fault plan's injected failures, worded the Alpaca way (see ``paper.http.guarded``)."""

    def server_error(self, status: int) -> web.Response:
        messages = {500: "internal server error", 502: "bad gateway", 503: "service unavailable",
                    504: "gateway timeout"}
        code = status * 100000 if 100 <= status <= 599 else INTERNAL
        return AlpacaError(status, code, messages.get(status, "internal server error")).response()

    def rate_limited(self, status: int, retry_after_s: float) -> web.Response:
        if status == 429:
            # Alpaca documents no Retry-After; the fault plan promises one, so injected 429s carry it.
            response = rate_limited().response()
            response.headers["Retry-After"] = str(max(1, round(retry_after_s)))
            return response
        return AlpacaError(status, status * 100000, "forbidden").response()


RENDERER = Renderer()
