"""The shared request-weight budget: however many holders take from it, a window never passes its limit."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.tables import weight_budgets
from boltztrader.orders.budget import SharedBudget

LIMIT = 40
WINDOW = 1.0


async def _spend(budget: SharedBudget, until: float, grants: Counter[datetime]) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        grants[await budget.acquire(1)] += 1


async def test_two_holders_never_take_more_than_the_limit_in_a_window(engine: AsyncEngine) -> None:
    """Two holders asking as fast as they can get at most ``limit`` per window between them, then wait."""
    holders = [SharedBudget(engine, key="test", limit=LIMIT, chunk=7, window_seconds=WINDOW)
               for _ in range(2)]
    grants: list[Counter[datetime]] = [Counter(), Counter()]
    until = asyncio.get_running_loop().time() + 2.5 * WINDOW
    await asyncio.gather(*(_spend(h, until, g) for h, g in zip(holders, grants, strict=True)))

    per_window = grants[0] + grants[1]
    assert len(per_window) >= 2  # the run spans windows: the holders waited for the next one
    assert max(per_window.values()) <= LIMIT
    assert LIMIT in per_window.values()  # a full window was handed out to the last unit, no more
    assert all(g for g in grants)  # both holders got weight
    assert all(h.waits > 0 for h in holders)
    async with engine.connect() as conn:
        budget = weight_budgets.c
        rows = (await conn.execute(select(budget.window_start, budget.used, budget.limit)
                                   .where(budget.key == "test"))).all()
    assert set(per_window) <= {row.window_start for row in rows}
    assert all(row.used <= row.limit == LIMIT for row in rows)
    for row in rows:  # what the holders spent never exceeds what they took from the row
        assert per_window.get(row.window_start, 0) <= row.used


async def test_weight_above_the_limit_is_refused(engine: AsyncEngine) -> None:
    """Asking for more than a whole window holds is an error, not a wait forever."""
    budget = SharedBudget(engine, key="test", limit=10)
    with pytest.raises(ValueError, match="not within"):
        await budget.acquire(11)
