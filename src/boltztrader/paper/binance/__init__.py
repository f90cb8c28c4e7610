"""Paper Binance: spot (``/api/v3``) and USD-M futures (``/fapi``) on one server, with the real wire
protocol (signing, weights, errors, user-data streams) so python-binance, binance-connector and ccxt
work against it unchanged."""

from boltztrader.paper.binance.app import make_app, make_venue
from boltztrader.paper.server import BrokerSpec

SPEC = BrokerSpec(name="binance", default_port=7102, make_venue=make_venue, make_app=make_app)

__all__ = ["SPEC"]
