"""Wallet (``/sapi``) endpoints: ``GET /sapi/v1/account/apiRestrictions``, what an API key may do.

A paper key may trade spot and USD-M futures and read, and nothing else, unless the admin API
opened its account with other permissions: ``POST /_paper/accounts`` takes
``{"restrictions": {"enableWithdrawals": true, ...}}`` (the flags of the answer, booleans), so tests
can make a key that a careful client must refuse. ``createTime`` is the account's creation time.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiohttp import web

from boltztrader.paper.binance.errors import RENDERER, json_response
from boltztrader.paper.binance.signing import signed
from boltztrader.paper.binance.state import venue_of
from boltztrader.paper.http import VENUE_KEY, guarded
from boltztrader.paper.venue import PaperAccount

PATH: Final = "/sapi/v1/account/apiRestrictions"
EXTRA_KEY: Final = "api_restrictions"  # where an account's own flags live in PaperAccount.extra
DEFAULTS: Final[Mapping[str, bool]] = {
    "ipRestrict": False,
    "enableReading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "enableMargin": False,
    "enableFutures": True,
    "permitsUniversalTransfer": False,
    "enableVanillaOptions": False,
    "enableFixApiTrade": False,
    "enableFixReadOnly": False,
    "enableSpotAndMarginTrading": True,
    "enablePortfolioMarginTrading": False,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def restrictions(account: PaperAccount) -> dict[str, Any]:
    """The answer for ``account``: the defaults, its own flags over them, and its creation time."""
    flags = {**DEFAULTS, **account.extra.get(EXTRA_KEY, {})}
    return {"ipRestrict": flags.pop("ipRestrict"),
            "createTime": int(account.created_at.timestamp() * 1000), **flags}


async def api_restrictions(request: web.Request) -> web.StreamResponse:
    """``GET /sapi/v1/account/apiRestrictions`` (USER_DATA: signed)."""
    venue = venue_of(request)
    account, _ = await signed(request, venue)

    async def act() -> web.StreamResponse:
        return json_response(restrictions(account))

    return await guarded(request, "account", account.account_id, RENDERER, act)


def parse_flags(raw: object) -> dict[str, bool]:
    """The ``restrictions`` of an admin body; ValueError naming the first bad entry."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError('restrictions must be an object, e.g. {"enableWithdrawals": true}')
    for name, value in raw.items():
        if name not in DEFAULTS:
            raise ValueError(f"restrictions.{name} is not a known flag ({', '.join(sorted(DEFAULTS))})")
        if not isinstance(value, bool):
            raise ValueError(f"restrictions.{name} must be true or false")
    return dict(raw)


def with_restrictions(create: Handler) -> Handler:
    """Wrap the shared ``POST /_paper/accounts`` so it also takes (and answers) ``restrictions``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        raw = await request.read()  # cached: the wrapped handler reads the same bytes
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = None  # the wrapped handler words the error
        try:
            flags = parse_flags(body.get("restrictions") if isinstance(body, dict) else None)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=json.dumps({"error": str(exc)}),
                                     content_type="application/json") from None
        response = await create(request)
        if response.status != 201 or not isinstance(response, web.Response) or response.text is None:
            return response
        answer = json.loads(response.text)
        account = request.app[VENUE_KEY].accounts[answer["account_id"]]
        if flags:
            account.extra[EXTRA_KEY] = flags
        answer["restrictions"] = {**DEFAULTS, **flags}
        return web.json_response(answer, status=201)

    return handler
