"""``KiteBroker``: the ``Broker`` protocol over Zerodha Kite Connect v3 (NSE and BSE equities).

- Orders: varieties ``regular`` and ``amo`` (``PlaceOrder.after_market``); MARKET (with
  ``market_protection``, -1 = Kite's automatic band when not given), LIMIT, SL (our stop_limit),
  SL-M (our stop, also protected); products CNC (default), MIS, NRML; validity DAY or IOC.
- Kite has no client order id: ours travels as ``tag`` (``domain.ids.kite_tag``), and a lookup by
  client order id searches the day's order book for that tag.
- A placement answers only ``order_id``; its fate (an RMS rejection for funds, say) shows in the
  order book and the stream, so ``OrderAck.status`` is ``open`` with Kite's first status
  (``PUT ORDER REQ RECEIVED`` / ``AMO REQ RECEIVED``) as ``raw_status``. ``errors.rejection_class``
  gives the error class of a REJECTED order's ``reject_reason``.
- A 403 TokenException (the token died at 06:00 IST, or the user logged out) raises
  ``BrokerAuthError`` and sets ``needs_login``; ``generate_session`` with a new request token
  clears it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from boltztrader.brokers.base import Capabilities, RateBudget
from boltztrader.brokers.kite import errors, login, mapping, stream, wire
from boltztrader.brokers.kite.client import KiteClient
from boltztrader.brokers.kite.config import KiteConfig
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.enums import Market, OrderType, TimeInForce
from boltztrader.domain.ids import kite_tag
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import (
    BalanceReport,
    BrokerEvent,
    OrderAck,
    OrderReport,
    OrderUpdate,
    PlaceOrder,
    PositionReport,
    QuoteReport,
)
from boltztrader.domain.secrets import Secret
from boltztrader.errors import BrokerProtocolError, InvalidOrder, OrderNotFound

CAPABILITIES = Capabilities(
    broker=BrokerName.ZERODHA,
    markets=frozenset({Market.NSE, Market.BSE}),
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}),
    time_in_force=frozenset({TimeInForce.DAY, TimeInForce.IOC}),
    notional_orders=False,
    fractional=False,
    native_client_order_id=False,
    duplicate_client_id_rejected="never",
    reduce_only=False,
    products=True,
    after_market_orders=True,
    order_stream=True,
)
RAW_ACK = {False: "PUT ORDER REQ RECEIVED", True: "AMO REQ RECEIVED"}
MAX_REMEMBERED = 100_000  # tags -> client order ids kept (a day's orders of one account fit easily)


class KiteBroker:
    """One Kite Connect account (see the module doc)."""

    def __init__(self, config: KiteConfig) -> None:
        self._config = config
        self._client = KiteClient(config)
        self._token: Secret | None = config.access_token
        self._coids: dict[str, str] = {}
        self._amo_ids: set[str] = set()
        self._instruments: dict[str, dict[tuple[str, str], Instrument]] = {}
        self._instrument_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"KiteBroker(api_key={self._config.api_key!r}, root={self._config.root_url!r})"

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    @property
    def needs_login(self) -> bool:
        """True once Kite refused the access token (or there is none): halt the account, log in."""
        return self._client.auth_expired

    async def generate_session(self, request_token: str) -> login.KiteSession:
        """Log in with a request token from Kite's redirect and use the new access token from now on."""
        session = await login.generate_session(self._config, request_token, client=self._client)
        self._token = session.access_token
        self._client.set_access_token(session.access_token)
        return session

    def postback_update(self, body: bytes) -> OrderUpdate:
        """A Kite postback as an order update, once its checksum proves it came from Kite for this
        app; ``InvalidPostback`` (a BrokerProtocolError) otherwise. Apply it like a stream event."""
        row = login.verify_postback(body, self._config.api_secret)
        return OrderUpdate(order=mapping.order_report(row, self._client_id_of))

    # -- orders --------------------------------------------------------------------------------------
    async def place_order(self, order: PlaceOrder) -> OrderAck:
        coid = order.client_order_id
        tag = kite_tag(coid)
        body = mapping.order_form(order, tag)
        self._remember(tag, coid)
        amo = order.after_market
        order_id = await self._client.place(amo, body)
        if amo:
            self._amo_ids.add(order_id)
        return OrderAck(client_order_id=coid, broker_order_id=order_id, status=OrderStatus.OPEN,
                        raw_status=RAW_ACK[amo], received_at=datetime.now(UTC))

    async def get_order(self, symbol: str, *, broker_order_id: str | None = None,
                        client_order_id: str | None = None) -> OrderReport:
        row = await self._find(symbol, broker_order_id, client_order_id)
        return mapping.order_report(row, self._client_id_of)

    async def cancel_order(self, symbol: str, *, broker_order_id: str | None = None,
                           client_order_id: str | None = None) -> OrderReport:
        if broker_order_id is not None and broker_order_id not in self._amo_ids:
            order_id, variety = broker_order_id, wire.VARIETY_REGULAR
        else:
            row = await self._find(symbol, broker_order_id, client_order_id)
            order_id = str(row["order_id"])
            # An AMO already sent to the exchange is cancelled as a regular order (Kite forum 40302).
            variety = wire.VARIETY_AMO if row.get("status") == "AMO REQ RECEIVED" else wire.VARIETY_REGULAR
        url = self._client.orders_url / variety / order_id
        try:
            await self._client.call("DELETE", url, changes_state=True)
        except InvalidOrder as exc:
            if not exc.broker_message.startswith(errors.BEING_PROCESSED):
                raise
            report = await self.get_order(symbol, broker_order_id=order_id, client_order_id=client_order_id)
            if not report.status.is_terminal:
                raise
            return report  # already filled, cancelled or rejected: nothing left to cancel
        return await self.get_order(symbol, broker_order_id=order_id, client_order_id=client_order_id)

    async def list_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        rows = await self._order_book()
        reports = []
        for row in rows:
            if symbol is not None and isinstance(row, dict) and row.get("tradingsymbol") != symbol:
                continue
            report = mapping.order_report(row, self._client_id_of)
            if not report.status.is_terminal:
                reports.append(report)
        return reports

    async def _order_book(self) -> list[Any]:
        rows = await self._client.call("GET", self._client.orders_url, changes_state=False)
        if not isinstance(rows, list):
            raise BrokerProtocolError("zerodha GET /orders: the order book is not a list")
        return rows

    async def _find(self, symbol: str, broker_order_id: str | None, client_order_id: str | None,
                    ) -> dict[str, Any]:
        """The order's current row: by order id (its history's last entry) or by our tag."""
        if broker_order_id is not None:
            history = await self._client.call("GET", self._client.orders_url / broker_order_id,
                                              changes_state=False)
            if not isinstance(history, list):
                raise BrokerProtocolError("zerodha GET /orders/{id}: the history is not a list")
            if not history or not isinstance(history[-1], dict):
                raise OrderNotFound(f"zerodha: no order {broker_order_id}")
            row: dict[str, Any] = history[-1]
            if client_order_id is not None:
                self._remember(kite_tag(client_order_id), client_order_id)
            return row
        if client_order_id is None:
            raise ValueError("get_order needs broker_order_id or client_order_id")
        tag = kite_tag(client_order_id)
        self._remember(tag, client_order_id)
        found = [row for row in await self._order_book()
                 if isinstance(row, dict) and row.get("tag") == tag and row.get("tradingsymbol") == symbol]
        if not found:
            raise OrderNotFound(f"zerodha: no order tagged {tag} for {symbol} in today's order book")
        return found[-1]  # the book is in placement order; a tag is used once per intent

    def _remember(self, tag: str, coid: str) -> None:
        coids = self._coids
        if tag not in coids and len(coids) >= MAX_REMEMBERED:
            del coids[next(iter(coids))]
        coids[tag] = coid

    def _client_id_of(self, tag: str) -> str | None:
        return self._coids.get(tag)

    # -- account and market data ---------------------------------------------------------------------
    async def get_positions(self) -> list[PositionReport]:
        data = await self._client.call("GET", self._client.positions_url, changes_state=False)
        return mapping.position_reports(data)

    async def get_balance(self) -> BalanceReport:
        data = await self._client.call("GET", self._client.margins_url, changes_state=False)
        return mapping.balance_report(data)

    async def get_quote(self, symbol: str) -> QuoteReport:
        """``symbol`` is an NSE trading symbol, or ``EXCHANGE:SYMBOL`` for another exchange."""
        key = symbol if ":" in symbol else mapping.quote_key(Market.NSE, symbol)
        data = await self._client.call("GET", self._client.quote_url.with_query({"i": key}),
                                       changes_state=False)
        return mapping.quote_report(symbol, key, data)

    async def instrument_rules(self, symbol: str) -> Instrument:
        """From the exchange's instrument dump, fetched once and cached (``EXCHANGE:SYMBOL`` or NSE)."""
        exchange, _, name = symbol.rpartition(":")
        exchange = exchange or "NSE"
        market = mapping.EXCHANGE_MARKETS.get(exchange)
        if market is None:
            raise InvalidOrder(errors.BROKER, "unsupported", f"exchange {exchange} is not supported")
        table = self._instruments.get(exchange)
        if table is None:
            async with self._instrument_lock:
                table = self._instruments.get(exchange)
                if table is None:
                    raw = await self._client.raw(self._client.instruments_url / exchange)
                    table = mapping.instruments(wire.csv_text(raw), (market,))
                    self._instruments[exchange] = table
        instrument = table.get((exchange, name))
        if instrument is None:
            raise InvalidOrder(errors.BROKER, "unknown_instrument",
                               f"{exchange}:{name} is not in Kite's instrument dump")
        return instrument

    # -- stream, budgets, lifecycle ------------------------------------------------------------------
    def rate_budgets(self) -> list[RateBudget]:
        return self._client.rate_budgets()

    def events(self) -> AsyncIterator[BrokerEvent]:
        return stream.order_events(self._client.stream_session, self._config, self._current_token,
                                   self._client_id_of, self._stream_auth_failed)

    def _current_token(self) -> Secret | None:
        return None if self._client.auth_expired else self._token

    def _stream_auth_failed(self) -> None:
        self._client.auth_expired = True

    async def close(self) -> None:
        await self._client.close()
