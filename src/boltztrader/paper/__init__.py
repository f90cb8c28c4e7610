"""Paper brokers: local servers that speak Kite Connect's, Binance's and Alpaca's real wire protocols.

Written from the broker references, never from our adapters: this package imports nothing of
``boltztrader`` outside itself, so a mistake in an adapter cannot hide behind the same mistake here.
"""
