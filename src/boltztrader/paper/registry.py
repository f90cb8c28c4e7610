"""The paper brokers by name, with their default ports."""

from __future__ import annotations

from boltztrader.paper.server import BrokerSpec

DEFAULT_PORTS = {"kite": 7101, "binance": 7102, "alpaca": 7103}


def specs() -> dict[str, BrokerSpec]:
    """Every paper broker, in a fixed order (Kite, Binance, Alpaca)."""
    from boltztrader.paper.alpaca import SPEC as ALPACA
    from boltztrader.paper.binance import SPEC as BINANCE
    from boltztrader.paper.kite import SPEC as KITE

    return {spec.name: spec for spec in (KITE, BINANCE, ALPACA)}
