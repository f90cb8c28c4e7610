"""Zerodha Kite Connect v3 adapter: ``KiteBroker(KiteConfig(...))`` (NSE and BSE equities).

Modules: ``config`` the frozen settings, ``broker`` the ``Broker`` protocol, ``client`` HTTP calls
and the order-rate count, ``wire`` Kite's formats, ``mapping`` wire <-> domain, ``errors`` the one
classification of Kite's errors, ``stream`` the order-update WebSocket, ``login`` the request-token
exchange and postback checksums.
"""

from __future__ import annotations

from boltztrader.brokers.kite.broker import CAPABILITIES, KiteBroker
from boltztrader.brokers.kite.config import KiteConfig
from boltztrader.brokers.kite.login import KiteSession, generate_session, login_url, verify_postback

__all__ = ["CAPABILITIES", "KiteBroker", "KiteConfig", "KiteSession", "generate_session", "login_url",
           "verify_postback"]
