"""``BinanceBroker``: the ``Broker`` protocol for one Binance account in ONE market, spot
(``Market.CRYPTO``, ``/api/v3``) or USD-M futures (``Market.CRYPTO_FUTURES``, ``/fapi``).

Extras beyond the protocol: ``set_leverage`` (futures), ``sync_time``, ``banned_until`` (the IP
ban announced by an HTTP 418: pause every account behind this IP until then),
``refresh_instruments`` and ``api_restrictions`` (what the key may do: refuse keys that can withdraw).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, TypeVar

from boltztrader.brokers.base import Capabilities, RateBudget
from boltztrader.brokers.binance import mapping
from boltztrader.brokers.binance.client import BinanceClient
from boltztrader.brokers.binance.config import BinanceConfig
from boltztrader.brokers.binance.stream import UserStream
from boltztrader.brokers.binance.wire import enc, protocol_error
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.enums import Market, OrderType, TimeInForce
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.reports import (
    BalanceReport,
    BrokerEvent,
    OrderAck,
    OrderReport,
    PlaceOrder,
    PositionReport,
    QuoteReport,
)
from boltztrader.errors import BrokerProtocolError, ConfigError, OrderNotFound, OutcomeUnknown

T = TypeVar("T")
_TIFS = frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK})
SPOT_CAPABILITIES = Capabilities(
    broker=BrokerName.BINANCE,
    markets=frozenset({Market.CRYPTO}),
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}),
    time_in_force=_TIFS,
    notional_orders=True,  # quoteOrderQty on MARKET orders
    fractional=True,
    native_client_order_id=True,
    duplicate_client_id_rejected="while_open",
    reduce_only=False,
    products=False,
    after_market_orders=False,
    order_stream=True,
)
FUTURES_CAPABILITIES = Capabilities(
    broker=BrokerName.BINANCE,
    markets=frozenset({Market.CRYPTO_FUTURES}),
    # conditional types live on /fapi/v1/algoOrder since 2025-12-09 (not implemented)
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
    time_in_force=_TIFS,
    notional_orders=False,
    fractional=True,
    native_client_order_id=True,
    duplicate_client_id_rejected="while_open",
    reduce_only=True,
    products=False,
    after_market_orders=False,
    order_stream=True,
)
_PROTOCOL = (KeyError, ValueError, TypeError, ArithmeticError)


def _parse(where: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except _PROTOCOL as exc:
        raise protocol_error(where, exc) from None


class BinanceBroker:
    """An async connection to one Binance account, spot or USD-M futures (see the module doc)."""

    def __init__(self, config: BinanceConfig) -> None:
        self._config = config
        self._market = config.market
        self._futures = futures = config.futures
        self._client = BinanceClient(config)
        self._wallet: BinanceClient | None = None  # futures only: /sapi lives on the spot host
        self._instruments: dict[str, Instrument] = {}
        self._streams: set[UserStream] = set()
        root = "/fapi/v1" if futures else "/api/v3"
        self._order_path = root + "/order"
        self._open_orders_path = root + "/openOrders"
        self._book_path = root + "/ticker/bookTicker"
        self._price_path = root + "/ticker/price"
        self._info_path = root + "/exchangeInfo"
        self._capabilities = FUTURES_CAPABILITIES if futures else SPOT_CAPABILITIES

    def __repr__(self) -> str:
        return f"BinanceBroker(market={self._market.value}, url={self._config.rest_url!r})"

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def market(self) -> Market:
        return self._market

    # -- orders ------------------------------------------------------------------------------------
    async def place_order(self, order: PlaceOrder) -> OrderAck:
        """Send once (``newClientOrderId`` = ``order.client_order_id``); never retried here."""
        params = mapping.order_params(order, self._market)
        body = await self._client.signed("POST", self._order_path, params, changes_state=True,
                                         op="place_order")
        try:
            return mapping.ack(body, order.client_order_id)
        except _PROTOCOL:
            # a 2xx answer means it acted; what it did must be looked up by client order id
            raise OutcomeUnknown("binance place_order: the answer did not match the wire schema; "
                                 "the order may exist") from None

    async def cancel_order(self, symbol: str, *, broker_order_id: str | None = None,
                           client_order_id: str | None = None) -> OrderReport:
        """Cancel; if Binance says -2011 (already final, or unknown) the order is looked up and its
        final report returned, or ``OrderNotFound`` raised when it does not exist."""
        params = self._order_ref(symbol, broker_order_id, client_order_id)
        try:
            body = await self._client.signed("DELETE", self._order_path, params, changes_state=True,
                                             op="cancel_order")
        except OrderNotFound:
            return await self.get_order(symbol, broker_order_id=broker_order_id,
                                        client_order_id=client_order_id)
        return _parse("cancel_order", mapping.order_report, body, self._futures)

    async def get_order(self, symbol: str, *, broker_order_id: str | None = None,
                        client_order_id: str | None = None) -> OrderReport:
        params = self._order_ref(symbol, broker_order_id, client_order_id)
        body = await self._client.signed("GET", self._order_path, params, changes_state=False,
                                         op="get_order")
        return _parse("get_order", mapping.order_report, body, self._futures)

    async def list_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        params = f"symbol={enc(symbol)}" if symbol else ""
        rows = await self._client.signed("GET", self._open_orders_path, params, changes_state=False,
                                         op="list_open_orders")
        return _parse("list_open_orders", lambda: [mapping.order_report(r, self._futures) for r in rows])

    @staticmethod
    def _order_ref(symbol: str, broker_order_id: str | None, client_order_id: str | None) -> str:
        if broker_order_id:
            return f"symbol={enc(symbol)}&orderId={enc(broker_order_id)}"
        if client_order_id:
            return f"symbol={enc(symbol)}&origClientOrderId={enc(client_order_id)}"
        raise ValueError("give broker_order_id or client_order_id")

    # -- account -----------------------------------------------------------------------------------
    async def get_positions(self) -> list[PositionReport]:
        """Futures: ``/fapi/v2/positionRisk`` rows with a position. Spot: every non-zero asset other
        than ``quote_asset`` as a long position in ``<asset><quote_asset>`` (no average price)."""
        if self._futures:
            rows = await self._client.signed("GET", "/fapi/v2/positionRisk", "", changes_state=False,
                                             op="get_positions")
            return _parse("get_positions", mapping.futures_positions, rows)
        account = await self._account()
        return _parse("get_positions", mapping.spot_positions, account, self._config.quote_asset)

    async def get_balance(self) -> BalanceReport:
        """Futures: ``/fapi/v2/balance`` (cash = wallet, buying power = available, equity = wallet +
        unrealised PnL). Spot: the quote asset, equity valued at last prices (``ticker/price``)."""
        quote = self._config.quote_asset
        if self._futures:
            rows = await self._client.signed("GET", "/fapi/v2/balance", "", changes_state=False,
                                             op="get_balance")
            return _parse("get_balance", mapping.futures_balance, rows, quote)
        account, rows = await asyncio.gather(
            self._account(), self._client.public(self._price_path, op="get_balance"))
        prices = _parse("get_balance", mapping.prices, rows)
        return _parse("get_balance", mapping.spot_balance, account, prices, quote)

    async def _account(self) -> Any:
        return await self._client.signed("GET", "/api/v3/account", "omitZeroBalances=true",
                                         changes_state=False, op="account")

    async def api_restrictions(self) -> mapping.ApiRestrictions:
        """``GET /sapi/v1/account/apiRestrictions`` (USER_DATA, on the spot host for either market):
        the key's permissions, withdrawals among them. A refused key raises ``BrokerAuthError``."""
        client = self._client
        if self._futures:
            if self._wallet is None:
                self._wallet = BinanceClient(dataclasses.replace(self._config, market=Market.CRYPTO))
            client = self._wallet
        body = await client.signed("GET", "/sapi/v1/account/apiRestrictions", "", changes_state=False,
                                   op="api_restrictions")
        return _parse("api_restrictions", mapping.api_restrictions, body)

    async def set_leverage(self, symbol: str, leverage: int) -> int:
        """USD-M only: set the symbol's initial leverage; returns what Binance confirmed."""
        if not self._futures:
            raise ConfigError("set_leverage applies to USD-M futures only")
        body = await self._client.signed("POST", "/fapi/v1/leverage",
                                         f"symbol={enc(symbol)}&leverage={int(leverage)}",
                                         changes_state=True, op="set_leverage")
        return _parse("set_leverage", lambda: int(body["leverage"]))

    # -- market data ---------------------------------------------------------------------------------
    async def get_quote(self, symbol: str) -> QuoteReport:
        """bid / ask from ``ticker/bookTicker``, last from ``ticker/price`` (two calls in parallel)."""
        query = f"symbol={enc(symbol)}"
        book, last = await asyncio.gather(self._client.public(self._book_path, query, op="get_quote"),
                                          self._client.public(self._price_path, query, op="get_quote"))
        return _parse("get_quote", mapping.quote, symbol, book, last)

    async def instrument_rules(self, symbol: str) -> Instrument:
        """From ``exchangeInfo`` (spot: that symbol; futures: every symbol in one call), cached."""
        found = self._instruments.get(symbol)
        if found is not None:
            return found
        query = "" if self._futures else f"symbol={enc(symbol)}"
        info = await self._client.public(self._info_path, query, op="instrument_rules")
        _parse("instrument_rules", self._load_info, info)
        found = self._instruments.get(symbol)
        if found is None:
            raise BrokerProtocolError(f"binance instrument_rules: {symbol!r} is not in exchangeInfo")
        return found

    def _load_info(self, info: dict[str, Any]) -> None:
        self._client.set_limits(info.get("rateLimits") or [])
        for row in info["symbols"]:
            self._instruments[row["symbol"]] = mapping.instrument(row, self._market)

    def refresh_instruments(self) -> None:
        """Forget the cached rules; the next ``instrument_rules`` reads exchangeInfo again."""
        self._instruments.clear()

    # -- limits, clock, streams ------------------------------------------------------------------------
    def rate_budgets(self) -> list[RateBudget]:
        """request_weight (X-MBX-USED-WEIGHT-1M), orders_10s and orders_1d (spot) / orders_1m
        (futures) from X-MBX-ORDER-COUNT-*; limits from exchangeInfo once read, else the defaults."""
        return self._client.rate_budgets()

    @property
    def banned_until(self) -> datetime | None:
        """The end of the IP ban from the last HTTP 418 (a UTC datetime), or None."""
        return self._client.banned_until

    async def sync_time(self) -> int:
        """Measure the offset to Binance's clock now (ms); done lazily before the first signed call."""
        return await self._client.sync_time()

    def events(self) -> AsyncIterator[BrokerEvent]:
        stream = UserStream(self._client, self._config)
        self._streams.add(stream)
        return self._run(stream)

    async def _run(self, stream: UserStream) -> AsyncIterator[BrokerEvent]:
        try:
            async for event in stream.run():
                yield event
        finally:
            self._streams.discard(stream)

    async def close(self) -> None:
        for stream in list(self._streams):
            await stream.close()
        await self._client.close()
        if self._wallet is not None:
            await self._wallet.close()
