"""Broker adapters: one async interface (``base.Broker``) over Kite Connect, Binance and Alpaca."""
