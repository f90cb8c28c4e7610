"""BoltzTrader live-execution layer: AI signals to broker orders, exactly once, audited."""

__version__ = "0.1.0"
