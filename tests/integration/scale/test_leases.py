"""Account leases: fair shares, never two owners at once, takeover after the TTL, loss noticed at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.orders.leases import LeaseKeeper

from .conftest import expire_lease, lease_rows, seed_accounts, seed_many, unlink

TTL = 1.0


class Recorder:
    """The callbacks of one keeper, in order."""

    def __init__(self) -> None:
        self.gained: list[str] = []
        self.lost: list[str] = []

    async def on_gained(self, account_ids: list[str]) -> None:
        self.gained.extend(account_ids)

    async def on_lost(self, account_ids: list[str]) -> None:
        self.lost.extend(account_ids)


def keeper(engine: AsyncEngine, recorder: Recorder | None = None, ttl: float = TTL) -> LeaseKeeper:
    recorder = recorder or Recorder()
    return LeaseKeeper(engine, ttl=ttl, on_gained=recorder.on_gained, on_lost=recorder.on_lost)


async def assert_exclusive(engine: AsyncEngine, keepers: Iterable[LeaseKeeper]) -> None:
    """No account is owned by two keepers, and each keeper's view agrees with the lease rows."""
    keepers = list(keepers)
    rows = await lease_rows(engine)
    seen: dict[str, str] = {}
    for k in keepers:
        for account_id in k.owned():
            assert account_id not in seen, f"{account_id} owned by {seen[account_id]} and {k.worker_id}"
            seen[account_id] = k.worker_id
            assert rows[account_id].worker_id == k.worker_id
            assert rows[account_id].epoch == k.epoch(account_id)
    owned_by_flag = [(a, k.worker_id) for k in keepers for a in rows if k.owns(a)]
    assert len({a for a, _ in owned_by_flag}) == len(owned_by_flag)


async def step(engine: AsyncEngine, *keepers: LeaseKeeper, together: bool = False) -> None:
    """One tick of each keeper (one after another, or all at once), its callbacks run; then check."""
    if together:
        await asyncio.gather(*(k.tick() for k in keepers))
    else:
        for k in keepers:
            await k.tick()
            await assert_exclusive(engine, keepers)
    for k in keepers:
        await k.settled()
    await assert_exclusive(engine, keepers)


async def test_one_keeper_takes_every_linked_account(engine: AsyncEngine) -> None:
    """Alone (SQLite's one process, or the first worker), a keeper takes the lease of every linked account."""
    ids = await seed_accounts(engine, 4)
    await unlink(engine, ids[3])
    recorder = Recorder()
    k = keeper(engine, recorder)
    await k.start(run=False)
    await k.settled()
    try:
        assert k.owned() == set(ids[:3])
        assert sorted(recorder.gained) == ids[:3]
        assert all(k.owns(a) for a in ids[:3])
        assert not k.owns(ids[3])
        rows = await lease_rows(engine)
        assert {a: (r.worker_id, r.epoch) for a, r in rows.items()} == {a: (k.worker_id, 1) for a in ids[:3]}
    finally:
        await k.stop()
    assert {r.worker_id for r in (await lease_rows(engine)).values()} == {None}
    assert recorder.lost == ids[:3]  # a clean stop stops the work first, then frees the leases


@pytest.mark.postgres
async def test_two_keepers_share_fairly_and_never_own_one_account_at_once(pg_engine: AsyncEngine) -> None:
    """A second worker gets half the accounts, given up by the first, and no account ever has two owners."""
    ids = await seed_accounts(pg_engine, 7)
    first, second = Recorder(), Recorder()
    a, b = keeper(pg_engine, first), keeper(pg_engine, second)
    await a.start(run=False)
    await a.settled()
    assert a.owned() == set(ids)
    await b.start(run=False)  # B counts two live workers: it may take 4, but nothing is free yet
    await b.settled()
    assert b.owned() == set()
    await assert_exclusive(pg_engine, [a, b])
    try:
        for n in range(6):
            await step(pg_engine, a, b, together=n % 2 == 1)
        assert a.owned() | b.owned() == set(ids)
        assert sorted([len(a.owned()), len(b.owned())]) == [3, 4]
        assert sorted(first.lost) == sorted(second.gained)  # what A gave up, B took, and nothing else moved
        # A third worker: ceil(7 / 3) = 3 each at most, and again no overlap on the way.
        c = keeper(pg_engine)
        await c.start(run=False)
        for n in range(6):
            await step(pg_engine, a, b, c, together=n % 2 == 1)
        assert a.owned() | b.owned() | c.owned() == set(ids)
        assert max(len(a.owned()), len(b.owned()), len(c.owned())) == 3
        assert min(len(a.owned()), len(b.owned()), len(c.owned())) >= 1
        await c.stop()
        for _ in range(3):
            await step(pg_engine, a, b)
        assert a.owned() | b.owned() == set(ids)  # C's accounts went back at once, without waiting for a TTL
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.postgres
async def test_a_silent_keeper_s_accounts_move_after_the_ttl(pg_engine: AsyncEngine) -> None:
    """A worker that stops heartbeating keeps its leases until they expire; then the other takes them all."""
    ids = await seed_accounts(pg_engine, 4)
    a, b = keeper(pg_engine), keeper(pg_engine)
    await a.start(run=False)
    await b.start(run=False)
    for _ in range(3):
        await step(pg_engine, a, b)
    assert len(a.owned()) == len(b.owned()) == 2
    silent = set(a.owned())
    epochs = {account_id: a.epoch(account_id) for account_id in silent}
    await a.stop(release=False)  # as if killed: nothing released, nothing renewed
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    try:
        await b.tick()
        assert not b.owned() & silent  # its leases have not expired yet
        while loop.time() - killed_at < TTL * 1.2:
            await b.tick()
            assert not b.owned() & silent or loop.time() - killed_at >= TTL * 0.8
            await asyncio.sleep(0.1)
        await b.tick()
        await b.settled()
        assert b.owned() == set(ids)
        assert {x: b.epoch(x) for x in silent} == {x: (epochs[x] or 0) + 1 for x in silent}  # fenced
    finally:
        await b.stop()


@pytest.mark.postgres
async def test_a_lost_lease_is_noticed_at_the_next_renewal(pg_engine: AsyncEngine) -> None:
    """When another worker takes a lease over, its former holder stops owning it at its next tick."""
    ids = await seed_accounts(pg_engine, 2)
    first = Recorder()
    a, b = keeper(pg_engine, first), keeper(pg_engine)
    await a.start(run=False)
    await a.settled()
    try:
        assert a.owned() == set(ids)
        await expire_lease(pg_engine, ids[0])  # A stalled past its TTL ...
        await b.start(run=False)  # ... and B took the lease over (epoch 2)
        assert b.owned() == {ids[0]}
        assert a.owns(ids[0])  # A cannot know before it talks to the database
        await a.tick()
        await a.settled()
        assert not a.owns(ids[0])
        assert first.lost == [ids[0]]
        assert a.owned() == {ids[1]}
        await assert_exclusive(pg_engine, [a, b])
    finally:
        await a.stop()
        await b.stop()


async def test_an_unlinked_account_s_lease_is_dropped(engine: AsyncEngine) -> None:
    """Unlinking an account ends its lease at the next renewal: its work stops like a lost lease's."""
    ids = await seed_accounts(engine, 2)
    recorder = Recorder()
    k = keeper(engine, recorder)
    await k.start(run=False)
    try:
        await unlink(engine, ids[1])
        await k.tick()
        await k.settled()
        assert k.owned() == {ids[0]}
        assert recorder.lost == [ids[1]]
    finally:
        await k.stop()


async def test_owning_lapses_by_itself_when_renewals_stop(engine: AsyncEngine) -> None:
    """A worker whose renewals stop (database away) stops owning its accounts before the lease can expire."""
    ids = await seed_accounts(engine, 1)
    k = keeper(engine, ttl=1.0)
    await k.start(run=False)
    try:
        assert k.owns(ids[0])
        await asyncio.sleep(1.0)
        assert not k.owns(ids[0])
        assert (await lease_rows(engine))[ids[0]].worker_id == k.worker_id  # nobody else may have it yet
    finally:
        await k.stop()


async def test_the_background_loop_keeps_leases_alive_past_the_ttl(engine: AsyncEngine) -> None:
    """Running, a keeper renews every ttl/3, so it still owns its accounts long after one TTL."""
    ids = await seed_accounts(engine, 2)
    k = keeper(engine, ttl=2.0)
    await k.start()
    try:
        await asyncio.sleep(2.5)
        assert all(k.owns(a) for a in ids)
        rows = await lease_rows(engine)
        assert {r.epoch for r in rows.values()} == {1}  # renewed, never taken over
    finally:
        await k.stop()


@pytest.mark.postgres
async def test_one_keeper_renews_ten_thousand_leases(pg_engine: AsyncEngine) -> None:
    """A worker that holds 10,000 accounts keeps them across renewals (PostgreSQL row-value lists)."""
    await seed_many(pg_engine, 10_000)
    one = keeper(pg_engine, ttl=30)
    await one.tick()
    assert len(one.owned()) == 10_000
    before = await lease_rows(pg_engine)
    await one.tick()  # a renewal of every lease, which must not fail on the size of its statement
    after = await lease_rows(pg_engine)
    assert len(one.owned()) == 10_000
    assert all(after[a].worker_id == one.worker_id and after[a].epoch == before[a].epoch for a in after)
    assert all(after[a].expires_at > before[a].expires_at for a in after)
