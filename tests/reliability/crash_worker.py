"""A process that takes one signal through intake and submit, then SIGKILLs itself at a chosen point.

Run by test_crash.py as a subprocess (the paper broker lives in the test process and outlives it)::

    python -m tests.reliability.crash_worker DB_URL PAPER_URL API_KEY API_SECRET SIGNAL_JSON POINT

POINT is where the process dies (``os.kill(os.getpid(), SIGKILL)``: no cleanup, no rollback):

- ``intent_committed``: the intake transaction (signal, audit, intents) has committed; nothing sent;
- ``submitting``: ``submitting`` is committed, the order is not sent yet;
- ``in_flight``: the order is sent and the broker has acted, its answer not yet read (the test
  holds the answer with a ``hold_after`` fault; we die ``IN_FLIGHT_DELAY`` seconds into the send);
- ``accepted``: the broker's ack is in hand, its outcome not recorded;
- ``recorded``: the ack's outcome is committed, the follow-up look-up of the fills has not run;
- ``none``: no crash; prints the outcomes as JSON and exits 0.

Exit status 3 means the crash point was never reached (the test reports it with this output).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from boltztrader.brokers.base import Broker
from boltztrader.brokers.binance import BinanceBroker, BinanceConfig
from boltztrader.brokers.transport import Timeouts
from boltztrader.db.engine import create_engine
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.enums import Market
from boltztrader.domain.secrets import Secret
from boltztrader.domain.targets import AccountRef
from boltztrader.orders.intake import Intake
from boltztrader.orders.manager import STEP_POINTS, OrderManager
from boltztrader.router import Router

POINTS = ("intent_committed", "in_flight", *STEP_POINTS, "none")
IN_FLIGHT_DELAY = 0.5  # seconds into a held send: the paper broker has acted long before


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def binance(paper_url: str, api_key: str, api_secret: str) -> BinanceBroker:
    ws = paper_url.replace("http://", "ws://")
    return BinanceBroker(BinanceConfig(
        api_key=Secret(api_key), api_secret=Secret(api_secret), market=Market.CRYPTO, base_url=paper_url,
        futures_base_url=paper_url, ws_api_url=ws + "/ws-api/v3", futures_ws_url=ws,
        timeouts=Timeouts(connect=2.0, read=5.0)))


async def main(db_url: str, paper_url: str, api_key: str, api_secret: str, body: str, point: str) -> int:
    if point not in POINTS:
        print(f"unknown crash point {point!r} (known: {', '.join(POINTS)})", file=sys.stderr)
        return 2
    data = json.loads(body)
    account_id = data["account_id"]
    engine = create_engine(db_url)
    broker = binance(paper_url, api_key, api_secret)
    brokers: dict[str, Broker] = {account_id: broker}

    def on_step(step: str, order_id: str) -> None:
        print(f"step {step} {order_id}", flush=True)
        if step == point:
            die()
        if step == "submitting" and point == "in_flight":
            asyncio.get_running_loop().call_later(IN_FLIGHT_DELAY, die)

    def broker_for(account: AccountRef) -> Broker:
        return brokers[account.account_id]

    clock = SystemClock()
    intake = Intake(engine, Router(BrokerName.BINANCE), broker_for, clock)
    manager = OrderManager(engine, brokers, clock, on_step=on_step)
    try:
        result = await intake.process_signal(data)
        print(f"intake {[(o.order_id, str(o.status)) for o in result.outcomes]}", flush=True)
        if point == "intent_committed":
            die()
        outcomes = {}
        for order_id in result.to_submit:
            record = await manager.submit(order_id)
            outcomes[order_id] = str(record.status)
        print(json.dumps(outcomes), flush=True)
    finally:
        await broker.close()
        await engine.dispose()
    if point != "none":
        print(f"crash point {point} never reached", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(*sys.argv[1:])))
