"""The dashboard in a real browser against the real service: what a trader and an admin do with it."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..integration.service.conftest import Service

# The page talks to the API, which runs the same on both engines (its own suites cover both).
pytestmark = pytest.mark.parametrize("db_kind", ["sqlite"])

VIEWPORT = {"width": 1440, "height": 900}
# Resolved now: the service fixture changes the working directory before the test runs.
SCREENSHOT_DIR = Path(os.environ["BOLTZ_TEST_SCREENSHOT_DIR"]).resolve() \
    if os.environ.get("BOLTZ_TEST_SCREENSHOT_DIR") else None
LABEL = "Desk <b>one</b>"  # markup in data must show as text


def _signal(signal_id: str, account_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": signal_id, "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
            "account_id": account_id}
    return body | extra


async def _page(browser: Any) -> tuple[Any, list[str]]:
    """A fresh page, with every script error and failed request it sees collected."""
    page = await browser.new_page(viewport=VIEWPORT)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return page, problems


async def _sign_in(page: Any, service: Service, token: str) -> None:
    await page.goto(service.url + "/")
    await page.fill("#token", token)
    await page.click("#signin-button")


def _copy_to(directory: Path, path: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, directory / path.name)


async def _save_screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    """Into the test's tmp dir, and into BOLTZ_TEST_SCREENSHOT_DIR when set (the README's picture)."""
    path = tmp_path / name
    await page.screenshot(path=str(path))
    if SCREENSHOT_DIR is not None:
        _copy_to(SCREENSHOT_DIR, path)
    return path


def _first_line(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.readline()


async def test_a_trader_approves_a_signal_and_watches_it_fill_live(browser: Any, service: Service,
                                                                   tmp_path: Path) -> None:
    """A trader signs in, links a semi-manual paper Binance account, signals it, approves the order, sees
    the row turn filled over the WebSocket without a reload, then halts and resumes trading."""
    from playwright.async_api import expect

    page, problems = await _page(browser)
    await _sign_in(page, service, "btz_not-a-token")
    await expect(page.locator("#signin-message")).to_contain_text("401")
    problems.clear()  # the browser logs the refused request itself
    await page.fill("#token", service.token)
    await page.click("#signin-button")
    await expect(page.locator("#whoami-email")).to_have_text("trader@example.com")
    await expect(page.locator("#tab-compliance")).to_be_hidden()
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    await page.evaluate("window.__sameDocument = true")

    # Link a paper account in the page: Binance, semi-manual.
    await page.click(".tabs button[data-tab=accounts]")
    await page.select_option("#paper-broker", "binance")
    await page.fill("#paper-label", LABEL)
    await page.locator("#paper-form label", has_text="Semi-manual").click()
    await page.click("#paper-add")
    card = page.locator(".account-card", has=page.locator("h3", has_text=LABEL))
    await expect(card).to_be_visible()
    assert await card.locator("h3 b").count() == 0
    account_id = await card.get_attribute("data-account-id")
    assert account_id
    await expect(card.locator("button[data-mode=semi_manual]")).to_have_attribute("aria-pressed", "true")
    await expect(card.locator(".metric.big .metric-v")).not_to_have_text("—")
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        linked = (await client.get(f"/v1/accounts/{account_id}")).json()
    assert (linked["broker"], linked["mode"], linked["execution_mode"]) == ("binance", "paper", "semi_manual")

    # Send a signal to it from the page's form: the order waits in the approvals queue.
    await page.click(".tabs button[data-tab=trading]")
    await page.select_option("#signal-account", account_id)
    await page.fill("#signal-symbol", "BTCUSDT")
    await page.select_option("#signal-market", "crypto")
    await page.fill("#signal-quantity", "0.001")
    await page.click("#signal-send")
    approval = page.locator("#approvals .approval")
    await expect(approval).to_have_count(1)
    order_id = await approval.get_attribute("data-order-id")
    row = page.locator(f'#orders-table tbody tr[data-order-id="{order_id}"]')
    await expect(row.locator("td.status .badge")).to_have_attribute("data-status", "pending_approval")

    # Approve: the queue empties, the row turns filled, and the order's events reach the page live.
    live = page.locator("#live")
    events_before = await live.get_attribute("data-received")
    await approval.get_by_role("button", name="Approve").click()
    await expect(page.locator("#approvals .approval")).to_have_count(0)
    await expect(row.locator("td.status .badge")).to_have_attribute("data-status", "filled", timeout=20_000)
    await expect(row.locator("td.num").nth(1)).to_have_text("0.001")
    await expect(live).not_to_have_attribute("data-received", events_before or "0")
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        assert (await client.get(f"/v1/orders/{order_id}")).json()["status"] == "filled"

        # Orders the page did not make can only arrive over the WebSocket (nothing polls orders):
        # one sent and filled at the automated account, a denial, one more waiting for approval.
        sent = [await client.post("/v1/signals", json=body) for body in (
            _signal("b-auto", service.accounts["binance"]),
            _signal("b-low", service.accounts["binance"], confidence="0.5"),
            _signal("b-wait", account_id, side="sell", quantity="0.0005"))]
    assert [answer.status_code for answer in sent] == [201, 201, 201]
    auto, low, _wait = (answer.json()["outcomes"][0]["order_id"] for answer in sent)
    for made, status in ((auto, "filled"), (low, "denied")):
        badge = page.locator(f'#orders-table tbody tr[data-order-id="{made}"] td.status .badge')
        await expect(badge).to_have_attribute("data-status", status, timeout=20_000)
    await expect(page.locator("#approvals .approval")).to_have_count(1)
    assert await page.evaluate("window.__sameDocument === true")

    # A rename elsewhere reaches the page live too (and gives the picture a plain name).
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        renamed = await client.patch(f"/v1/accounts/{account_id}", json={"label": "Semi-manual desk"})
    assert renamed.status_code == 200
    await expect(page.locator(f'#account-strip [data-account-id="{account_id}"] .strip-name')).to_have_text(
        "Semi-manual desk")

    await page.wait_for_timeout(6000)  # quotes and balances come in, the toasts go: for the picture
    await _save_screenshot(page, tmp_path, "dashboard.png")

    # The kill switch, after a confirmation: halting withdraws the waiting order; resuming clears the pill.
    await page.click(".tabs button[data-tab=risk]")
    await page.click("#killswitch-button")
    await expect(page.locator("#confirm")).to_be_visible()
    await page.fill("#confirm-reason", "browser test")
    await page.click("#confirm-ok")
    await expect(page.locator("#halt-pill")).to_have_text("HALTED")
    await expect(page.locator("#tab-trading-count")).to_have_text("")
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        assert (await client.get("/v1/killswitch")).json()["user"] == "halted"
    await page.click("#killswitch-button")
    await page.click("#confirm-ok")
    await expect(page.locator("#halt-pill")).to_be_hidden()
    assert problems == []

    await page.click("#signout")
    await expect(page.locator("#signin")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('boltz.token')") is None


async def test_an_admin_sees_compliance_and_a_verified_audit_trail(browser: Any, service: Service) -> None:
    """An admin gets the Compliance tab: everyone's orders, denials with their reasons, a CSV export,
    and the audit trail's verification shown green."""
    from playwright.async_api import expect

    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        answer = await client.post("/v1/signals", json=_signal("c-low", service.accounts["binance"],
                                                               confidence="0.5"))
    assert answer.json()["outcomes"][0]["status"] == "denied"
    page, problems = await _page(browser)
    await _sign_in(page, service, service.admin_token)
    await expect(page.locator("#whoami-role")).to_have_text("admin")
    await page.click("#tab-compliance")
    orders = page.locator("#compliance-orders tbody tr")
    await expect(orders).to_have_count(1)
    await expect(orders.first).to_contain_text("BTCUSDT")
    await page.click("#compliance-nav button[data-section=denials]")
    await expect(page.locator("#compliance-denials tbody tr").first).to_contain_text("LOW_CONFIDENCE",
                                                                                     ignore_case=True)
    async with page.expect_download() as download_info:
        await page.click("#export-csv")
    download = await download_info.value
    assert download.suggested_filename.endswith(".csv")
    assert "seq" in _first_line(str(await download.path()))
    await page.click("#compliance-nav button[data-section=audit]")
    await expect(page.locator("#compliance-audit .verify-badge")).to_have_attribute("data-verified", "ok")
    assert problems == []
