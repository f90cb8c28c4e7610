"""Paper Alpaca: Trading API v2 (US equities), its market-data paths and the trade_updates stream.

Written from ``/work/shared/brokers/alpaca.md`` so that the unmodified ``alpaca-py`` works against it.
"""

from __future__ import annotations

from boltztrader.paper.alpaca.app import make_app, make_venue
from boltztrader.paper.server import BrokerSpec

SPEC = BrokerSpec(name="alpaca", default_port=7103, make_venue=make_venue, make_app=make_app)

__all__ = ["SPEC"]
