"""The venue fans events out to stream subscribers, with the fault plan's stream faults."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from boltztrader.paper.faults import FaultPlan
from boltztrader.paper.model import Event, EventKind, Side
from boltztrader.paper.venue import DISCONNECT, Disconnect, Venue, VenueConfig

from .test_engine_fixtures import BTC, FLAT, limit, market

D = Decimal


def _venue() -> Venue:
    return Venue("binance", [BTC], {"BTCUSDT": D("50000")}, {"USDT": D("1000000"), "BTC": D("10")},
                 config=VenueConfig(engine=FLAT, tick_seconds=0))


def _drain(queue: asyncio.Queue[Event | Disconnect]) -> list[Event | Disconnect]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def _place(venue: Venue, account_id: str, n: int) -> list[Event]:
    events: list[Event] = []
    for _ in range(n):
        _order, new = venue.engine.submit(account_id, market("BTCUSDT", Side.BUY, "0.001"), venue.now())
        events += venue.publish(new)
    return events


async def test_subscribers_get_their_accounts_events_in_order() -> None:
    """A subscriber receives every event of its own account, in order, and none of another's."""
    venue = _venue()
    mine, other = venue.create_account(), venue.create_account()
    subscription = venue.subscribe(mine.account_id)
    published = _place(venue, mine.account_id, 3)
    _place(venue, other.account_id, 2)
    received = _drain(subscription.queue)
    assert received == published
    assert [e.kind for e in published] == [EventKind.NEW, EventKind.FILL] * 3


async def test_duplicate_fault_delivers_every_event_twice() -> None:
    """With duplicate = 1 each event reaches the subscriber twice in a row."""
    venue = _venue()
    account = venue.create_account()
    venue.faults = FaultPlan.parse({"stream": {"duplicate": 1}})
    subscription = venue.subscribe(account.account_id)
    published = _place(venue, account.account_id, 2)
    assert _drain(subscription.queue) == [e for e in published for _ in (0, 1)]


async def test_reorder_fault_swaps_neighbouring_events() -> None:
    """With reorder = 1 an event is held back and delivered after the next one."""
    venue = _venue()
    account = venue.create_account()
    venue.faults = FaultPlan.parse({"stream": {"reorder": 1}})
    subscription = venue.subscribe(account.account_id)
    first, second, third, fourth = _place(venue, account.account_id, 2)
    assert _drain(subscription.queue) == [second, first, fourth, third]


async def test_disconnect_fault_closes_the_stream_while_fills_go_on() -> None:
    """After N events the subscriber gets DISCONNECT and nothing more, while the engine keeps filling."""
    venue = _venue()
    account = venue.create_account()
    venue.faults = FaultPlan.parse({"stream": {"disconnect_every": 3}})
    subscription = venue.subscribe(account.account_id)
    published = _place(venue, account.account_id, 4)
    received = _drain(subscription.queue)
    assert received == [*published[:3], DISCONNECT]
    assert len(venue.engine.fills(account.account_id)) == 4


async def test_delay_fault_holds_events_back() -> None:
    """With delay_ms the event is not in the queue at once but arrives after the delay."""
    venue = _venue()
    account = venue.create_account()
    venue.faults = FaultPlan.parse({"stream": {"delay_ms": 50}})
    subscription = venue.subscribe(account.account_id)
    published = _place(venue, account.account_id, 1)
    assert subscription.queue.empty()
    received = [await asyncio.wait_for(subscription.queue.get(), 2) for _ in published]
    assert received == published


async def test_set_price_fills_a_resting_order_and_publishes_it() -> None:
    """Moving the price through a resting limit fills it and the subscriber sees the fill."""
    venue = _venue()
    account = venue.create_account()
    subscription = venue.subscribe(account.account_id)
    request = limit("BTCUSDT", Side.BUY, "0.01", "49000")
    order, events = venue.engine.submit(account.account_id, request, venue.now())
    venue.publish(events)
    venue.set_price("BTCUSDT", D("48900"))
    kinds = [e.kind for e in _drain(subscription.queue) if isinstance(e, Event)]
    assert kinds == [EventKind.NEW, EventKind.FILL]
    assert venue.engine.get(account.account_id, order.order_id).filled_quantity == D("0.01")


async def test_reset_forgets_accounts_and_restores_start_prices() -> None:
    """Reset drops every account and puts prices back where the seed starts them."""
    venue = _venue()
    venue.create_account()
    venue.advance(5)
    venue.reset()
    assert venue.accounts == {}
    assert venue.market.prices["BTCUSDT"] == D("50000")
