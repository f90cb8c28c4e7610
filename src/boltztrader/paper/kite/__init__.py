"""Paper Zerodha Kite Connect v3: a local server the official ``kiteconnect`` client works against.

Serve at the root (``KiteConnect(api_key, root="http://127.0.0.1:7101")``); every route of the
real API it implements answers in Kite's envelope, with Kite's statuses, fields and errors.

Getting a session (the browser login is replaced by the admin API):

- ``POST /_paper/accounts`` ``{"cash": "500000"}`` (optional) -> ``account_id``, ``api_key``,
  ``api_secret``, ``user_id`` and a fresh ``request_token`` (single use, valid 5 minutes).
- ``POST /_paper/accounts/{api_key}/request_token`` -> ``{"request_token": ...}``: another one.
- ``kite.generate_session(request_token, api_secret)`` (``POST /session/token`` with the checksum
  sha256(api_key + request_token + api_secret)) -> the access token, valid until the next 06:00 IST
  of the venue clock, or until ``DELETE /session/token``.

Other admin routes (besides the shared ``/_paper/`` ones):

- ``PUT /_paper/accounts/{api_key}/postback`` ``{"url": "http://..."}``: postbacks for that account.
- ``GET`` / ``PUT /_paper/limits``: Kite's rate limits (orders 10/s, 400/min, 5,000/day; quotes 1/s;
  other calls 10/s; 25 modifications per order; 0 switches one off) and
  ``require_market_protection`` (default true: MARKET / SL-M need ``market_protection`` != 0).

Modules: ``app`` routes, ``session`` login, ``orders`` place/modify/cancel, ``book`` order
history and positions, ``portfolio``, ``quotes``, ``stream`` postbacks and WebSocket, ``limits``,
``wire`` formats, ``errors`` messages, ``catalogue`` instruments and charges.
"""

from __future__ import annotations

from boltztrader.paper.kite.app import make_app
from boltztrader.paper.kite.catalogue import DEFAULT_CASH, instruments, start_prices
from boltztrader.paper.server import BrokerSpec
from boltztrader.paper.venue import Venue, VenueConfig


def make_venue(config: VenueConfig) -> Venue:
    return Venue("kite", instruments(), start_prices(), DEFAULT_CASH, config=config)


SPEC = BrokerSpec(name="kite", default_port=7101, make_venue=make_venue, make_app=make_app)

__all__ = ["SPEC", "make_app", "make_venue"]
