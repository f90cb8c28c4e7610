"""``/metrics`` on the running service: Prometheus text with requests, signals, orders and the process."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families

from .conftest import Service


def _http(service: Service, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=service.url, headers=service.headers(token))


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by name and sorted labels (parsing proves the format)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_count_requests_signals_and_orders_without_a_token(service: Service) -> None:
    """After one signal, /metrics (no token) counts it by route template and status, by source, by status."""
    signal = {"id": "metrics-sig-1", "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
              "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
              "account_id": service.accounts["binance"]}
    async with _http(service) as client:
        assert (await client.post("/v1/signals", json=signal)).status_code == 201
        assert (await client.get("/v1/signals/metrics-sig-1")).status_code == 200
        assert (await client.get("/v1/signals/no-such-signal")).status_code == 404
    async with httpx.AsyncClient(base_url=service.url) as anonymous:
        answer = await anonymous.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)

    def requests(method: str, route: str, status: str) -> float:
        key = ("boltz_http_requests_total", (("method", method), ("route", route), ("status", status)))
        return samples.get(key, 0.0)

    assert requests("POST", "/v1/signals", "201") == 1
    assert requests("GET", "/v1/signals/{signal_id}", "200") == 1
    assert requests("GET", "/v1/signals/{signal_id}", "404") == 1
    count = ("boltz_http_request_duration_seconds_count",
             (("method", "POST"), ("route", "/v1/signals"), ("status", "201")))
    assert samples[count] == 1
    assert samples[("boltz_signals_received_total", (("source", "api"),))] == 1
    orders = {dict(labels)["status"]: value
              for (name, labels), value in samples.items() if name == "boltz_orders"}
    assert sum(orders.values()) == 1
    assert {"pending_submit", "filled", "denied"} <= set(orders)
    assert samples[("boltz_database_up", ())] == 1
    assert any(name.startswith("process_") for name, _ in samples)


async def test_metrics_hold_no_user_data_and_no_probed_paths(service: Service) -> None:
    """Tokens, emails, ids and unknown paths never appear: routes are templates, strays are 'unmatched'."""
    async with _http(service) as client:
        await client.get(f"/v1/risk/limits?account_id={service.accounts['binance']}")
        await client.get("/v1/probe-a-secret-path/xyz")
        await client.get(f"/v1/subscriptions/{service.other_user_id}")
    async with _http(service, service.admin_token) as admin:
        await admin.get("/v1/admin/orders", params={"user_id": service.user_id})
        text = (await admin.get("/metrics")).text
    samples = _samples(text)
    routes = {dict(labels).get("route") for name, labels in samples if name == "boltz_http_requests_total"}
    assert {"/v1/risk/limits", "/v1/admin/orders", "unmatched"} <= routes
    for secret in (service.token, service.other_token, service.admin_token, "btz_", "trader@example.com",
                   "other@example.com", "admin@example.com", service.user_id, service.other_user_id,
                   service.accounts["binance"], "probe-a-secret-path"):
        assert secret not in text
