"""The browser suite's world: the running service, and Debian's Chromium driven by Playwright.

Chromium (``/usr/bin/chromium``, or ``BOLTZ_TEST_CHROMIUM``) and the ``playwright`` package may be
missing on a developer's machine: then these tests are skipped and the run ends with a line
saying why. ``BOLTZ_TEST_REQUIRE_BROWSER=1`` (as in CI) turns that skip into a failure. Playwright
never downloads a browser here: it drives the system's Chromium.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..integration.service import conftest as service_conftest

service = service_conftest.service
paper_factory = service_conftest.paper_factory

CHROMIUM = Path(os.environ.get("BOLTZ_TEST_CHROMIUM", "/usr/bin/chromium"))
INSTALL_HINT = "apt-get install chromium"


@dataclass
class _BrowserState:
    wanted: bool = False  # a browser test asked for the browser in this run
    reason: str = ""  # why it could not have one
    used: str = ""  # the browser it had


_STATE = _BrowserState()


def _require_browser() -> bool:
    return os.environ.get("BOLTZ_TEST_REQUIRE_BROWSER", "") not in ("", "0", "false", "no")


def _missing() -> str:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} ({INSTALL_HINT})"
    return ""


def _unavailable(reason: str) -> None:
    _STATE.reason = reason
    if _require_browser():
        pytest.fail(f"BOLTZ_TEST_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium (the system's), launched through Playwright; closed after the test."""
    _STATE.wanted = True
    reason = _missing()
    if reason:
        _unavailable(reason)
    from playwright.async_api import Error, async_playwright

    async with async_playwright() as playwright:
        try:
            chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                        args=["--no-sandbox"])
        except Error as exc:
            _unavailable(f"Chromium at {CHROMIUM} did not start ({str(exc).splitlines()[0]})")
        _STATE.used = f"Chromium {chromium.version} at {CHROMIUM}"
        try:
            yield chromium
        finally:
            await chromium.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _STATE.wanted:
        return
    if _STATE.reason:
        verdict = "FAILED (required)" if _require_browser() else "SKIPPED"
        terminalreporter.write_sep("=", f"Browser tests {verdict}: {_STATE.reason}", yellow=True, bold=True)
    elif _STATE.used:
        terminalreporter.write_line(f"Browser tests ran in {_STATE.used}")
