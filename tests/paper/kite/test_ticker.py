"""The UNMODIFIED official KiteTicker receives order updates from the paper WebSocket (in a subprocess,
because Twisted's reactor cannot be restarted inside the test process)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.paper.kite.conftest import KiteUser

TICKER = """
import json, sys
from kiteconnect import KiteTicker
api_key, token, root = sys.argv[1:4]
kws = KiteTicker(api_key, token, root=root, reconnect=False)
def on_connect(ws, response):
    print("CONNECTED", flush=True)
def on_order_update(ws, data):
    print("ORDER " + json.dumps(data), flush=True)
    ws.stop()
kws.on_connect = on_connect
kws.on_order_update = on_order_update
from twisted.internet import reactor
reactor.callLater(20, reactor.stop)  # never hang the test if no update comes
kws.connect()
"""


def test_kiteticker_gets_an_order_update(user: KiteUser) -> None:
    """KiteTicker connects with api_key/access_token and its on_order_update sees the cancellation."""
    order_id = user.place(price="1400")
    root = user.url.replace("http://", "ws://")
    with subprocess.Popen([sys.executable, "-c", TICKER, user.api_key, user.access_token, root],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "CONNECTED"
            time.sleep(0.2)
            user.data("DELETE", f"/orders/regular/{order_id}")
            line = process.stdout.readline()
            assert line.startswith("ORDER "), line
            data = json.loads(line[len("ORDER "):])
            assert data["order_id"] == order_id
            assert data["status"] == "CANCELLED"
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
