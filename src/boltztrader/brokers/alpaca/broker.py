"""``AlpacaBroker``: the ``Broker`` protocol over Alpaca's Trading API v2 and Market Data API.

- Placement is sent once. A 5xx, a read timeout or a dropped answer is ``OutcomeUnknown``: look
  the order up with ``get_order(client_order_id=...)`` (``/v2/orders:by_client_order_id``).
  Alpaca refuses a reused ``client_order_id`` forever (``DuplicateOrder``), even after the first
  order ended.
- Rules Alpaca always enforces are checked before sending (``InvalidOrder``, code ``"local"``):
  notional only on market DAY orders (2 decimals), fractional quantities only on market or limit
  DAY orders (up to 9 decimals), extended hours only on limit DAY orders.
- Cancel answers 204 ("cancel requested"); the order is then looked up, so the report may say
  ``pending_cancel``. Cancelling an order that is already final returns its final report.
- Orders sent while the market is shut are queued by Alpaca (status ``accepted``, reported
  ``open``), not refused: Alpaca raises no ``MarketClosed`` for them. ``MarketClosed`` comes only
  from the OPG/CLS windows and halts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

from yarl import URL

from boltztrader.brokers.alpaca import mapping
from boltztrader.brokers.alpaca.client import AlpacaClient
from boltztrader.brokers.alpaca.config import AlpacaConfig
from boltztrader.brokers.alpaca.errors import BROKER, NotCancelable
from boltztrader.brokers.alpaca.stream import TradeUpdates
from boltztrader.brokers.alpaca.wire import (
    MAX_CLIENT_ORDER_ID,
    MAX_NOTIONAL_PLACES,
    MAX_QTY_PLACES,
    array,
    order_body,
    places,
)
from boltztrader.brokers.base import Capabilities, RateBudget
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
from boltztrader.errors import BrokerProtocolError, InvalidOrder, OrderNotFound, OutcomeUnknown, TradingError

CAPABILITIES = Capabilities(
    broker=BrokerName.ALPACA,
    markets=frozenset({Market.US}),
    order_types=frozenset(OrderType),
    time_in_force=frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK,
                             TimeInForce.OPG, TimeInForce.CLS}),
    notional_orders=True,
    fractional=True,
    native_client_order_id=True,
    duplicate_client_id_rejected="always",
    reduce_only=False,
    products=False,
    after_market_orders=True,  # extended_hours limit DAY orders; other orders queue for the open
    order_stream=True,
)
_PAGE = 500
_FRACTIONAL_TYPES = (OrderType.MARKET, OrderType.LIMIT)


class AlpacaBroker:
    """One Alpaca account (paper or live) as a ``Broker``."""

    def __init__(self, config: AlpacaConfig) -> None:
        self._config = config
        self._client = AlpacaClient(config)
        self._stream = TradeUpdates(config)
        self._instruments: dict[str, tuple[float, Instrument]] = {}

    def __repr__(self) -> str:
        return f"AlpacaBroker({self._config!r})"

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    # -- orders ------------------------------------------------------------------------------------
    async def place_order(self, order: PlaceOrder) -> OrderAck:
        _check(order)
        client = self._client
        data = await client.call(client.trading, "POST", client.orders_url, changes_state=True,
                                 body=order_body(order))
        try:
            return mapping.order_ack(data, datetime.now(UTC))
        except BrokerProtocolError:
            # A 2xx we cannot read: the order most likely exists. Resolve by client id, never resend.
            raise OutcomeUnknown(f"{BROKER} POST /v2/orders: the answer did not match the order schema; "
                                 "the order may exist") from None

    async def cancel_order(self, symbol: str, *, broker_order_id: str | None = None,
                           client_order_id: str | None = None) -> OrderReport:
        order_id = await self._order_id(symbol, broker_order_id, client_order_id)
        client = self._client
        with contextlib.suppress(NotCancelable):  # already final: its report says how it ended
            await client.call(client.trading, "DELETE", URL(client.orders_prefix + order_id),
                              changes_state=True)
        return await self.get_order(symbol, broker_order_id=order_id)

    async def get_order(self, symbol: str, *, broker_order_id: str | None = None,
                        client_order_id: str | None = None) -> OrderReport:
        client = self._client
        if broker_order_id is not None:
            url = URL(client.orders_prefix + _uuid(broker_order_id))
        elif client_order_id is not None:
            url = client.by_client_id_url.with_query(client_order_id=client_order_id)
        else:
            raise ValueError("give broker_order_id or client_order_id")
        return mapping.order_report(await client.call(client.trading, "GET", url, changes_state=False))

    async def list_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        client = self._client
        query = {"status": "open", "limit": str(_PAGE), "direction": "desc"}
        if symbol is not None:
            query["symbols"] = symbol
        reports: list[OrderReport] = []
        seen: set[str] = set()
        while True:
            page = array(await client.call(client.trading, "GET", client.orders_url.with_query(query),
                                           changes_state=False), "orders")
            for item in page:
                report = mapping.order_report(item)
                if report.broker_order_id not in seen:
                    seen.add(report.broker_order_id)
                    reports.append(report)
            oldest = page[-1].get("submitted_at") if page and isinstance(page[-1], dict) else None
            if len(page) < _PAGE or not isinstance(oldest, str) or query.get("until") == oldest:
                return reports
            query["until"] = oldest  # Alpaca pages backwards by submission time

    # -- account -----------------------------------------------------------------------------------
    async def get_positions(self) -> list[PositionReport]:
        client = self._client
        data = await client.call(client.trading, "GET", client.positions_url, changes_state=False)
        return [mapping.position(item) for item in array(data, "positions")]

    async def get_balance(self) -> BalanceReport:
        client = self._client
        data = await client.call(client.trading, "GET", client.account_url, changes_state=False)
        return mapping.balance(data)

    # -- market data and rules ---------------------------------------------------------------------
    async def get_quote(self, symbol: str) -> QuoteReport:
        quote, trade = await asyncio.gather(self._latest(symbol, "quotes"), self._latest(symbol, "trades"))
        return mapping.quote(symbol, quote, trade)

    async def instrument_rules(self, symbol: str) -> Instrument:
        cached = self._instruments.get(symbol)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        client = self._client
        asset = await client.call(client.trading, "GET", URL(client.assets_prefix + _segment(symbol)),
                                  changes_state=False, symbol_lookup=True)
        if not mapping.asset_tradable(asset):
            raise InvalidOrder(BROKER, "local", f"{symbol} is not tradable at Alpaca")
        try:
            last: Decimal | None = mapping.quote(symbol, *await asyncio.gather(
                self._latest(symbol, "quotes"), self._latest(symbol, "trades"))).last
        except TradingError:
            last = None  # a cent is a valid tick at any price; only a known sub-dollar price refines it
        rules = mapping.instrument(asset, last)
        self._instruments[symbol] = (time.monotonic() + self._config.instrument_ttl, rules)
        return rules

    def rate_budgets(self) -> list[RateBudget]:
        return self._client.rate_budgets()

    def events(self) -> AsyncIterator[BrokerEvent]:
        return self._stream.events()

    async def close(self) -> None:
        await self._stream.close()
        await self._client.close()

    # -- helpers -----------------------------------------------------------------------------------
    async def _order_id(self, symbol: str, broker_order_id: str | None, client_order_id: str | None) -> str:
        if broker_order_id is not None:
            return _uuid(broker_order_id)
        if client_order_id is None:
            raise ValueError("give broker_order_id or client_order_id")
        return (await self.get_order(symbol, client_order_id=client_order_id)).broker_order_id

    async def _latest(self, symbol: str, kind: str) -> object:
        client = self._client
        url = URL(f"{client.stocks_prefix}{_segment(symbol)}/{kind}/latest")
        if self._config.data_feed is not None:
            url = url.with_query(feed=self._config.data_feed)
        return await client.call(client.data, "GET", url, changes_state=False, symbol_lookup=True)


def _check(order: PlaceOrder) -> None:
    """Refuse, before sending, what Alpaca always refuses (see the module doc)."""
    problem = None
    day = order.time_in_force is TimeInForce.DAY
    qty = order.quantity
    if order.market is not Market.US:
        problem = f"Alpaca trades the US market, not {order.market}"
    elif qty is not None:
        if qty != qty.to_integral_value():  # whole quantities (the usual case) need no more checks
            if places(qty) > MAX_QTY_PLACES:
                problem = "qty takes at most 9 decimals"
            elif order.order_type not in _FRACTIONAL_TYPES or not day:
                problem = "fractional quantities need a market or limit DAY order"
    elif order.notional is not None:
        if order.order_type is not OrderType.MARKET or not day:
            problem = "notional orders must be market DAY orders"
        elif places(order.notional) > MAX_NOTIONAL_PLACES:
            problem = "notional takes at most 2 decimals"
    if problem is None and order.extended_hours and (order.order_type is not OrderType.LIMIT or not day):
        problem = 'only type="limit" with time_in_force="day" is allowed for extended hours orders'
    if problem is None and len(order.client_order_id) > MAX_CLIENT_ORDER_ID:
        problem = f"client_order_id is longer than {MAX_CLIENT_ORDER_ID} characters"
    if problem is not None:
        raise InvalidOrder(BROKER, "local", problem)


def _uuid(order_id: str) -> str:
    """Alpaca order ids are UUIDs; anything else cannot name an order (Alpaca would answer 422)."""
    try:
        return str(uuid.UUID(order_id))
    except ValueError:
        raise OrderNotFound(f"{BROKER}: {order_id[:64]!r} is not an Alpaca order id") from None


def _segment(symbol: str) -> str:
    """A symbol as one path segment (symbols such as BRK.B are fine; a slash is not)."""
    if not symbol or "/" in symbol or symbol.strip() != symbol or "?" in symbol or "#" in symbol:
        raise InvalidOrder(BROKER, "local", f"{symbol[:32]!r} is not an Alpaca stock symbol")
    return symbol
