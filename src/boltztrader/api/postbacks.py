"""Kite postbacks: Kite POSTs each order update of an app to the URL registered for it.

Registered URL: ``<service>/v1/postbacks/kite/<account id>``. No API token (Kite cannot send one):
the body's checksum, sha256(order_id + order_timestamp + api_secret), proves it came from Kite for
this account's app; anything else answers 400 and changes nothing. A repeated postback changes
nothing either: order updates are applied only where they are news.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from boltztrader.api.deps import runtime_of
from boltztrader.api.problems import problem
from boltztrader.errors import BrokerProtocolError

router = APIRouter(prefix="/v1/postbacks", tags=["postbacks"])

MAX_BODY = 64 * 1024


@router.post("/kite/{account_id}", summary="Kite order postback (checksum verified)",
             responses={400: {"description": "Not a valid postback for this account"},
                        404: {"description": "No such Kite account"}})
async def kite_postback(request: Request, account_id: Annotated[str, Path(max_length=36)]) -> JSONResponse:
    """Apply one order update pushed by Kite."""
    runtime = runtime_of(request)
    body = await request.body()
    if len(body) > MAX_BODY:
        return problem(413, "Postback too large", f"A postback is at most {MAX_BODY} bytes.")
    try:
        await runtime.execution.postback(account_id, body)
    except BrokerProtocolError:
        return problem(400, "Not a valid postback", "The body is not a Kite postback with a valid checksum "
                       "for this account; nothing was changed.")
    return JSONResponse({"status": "ok"})
