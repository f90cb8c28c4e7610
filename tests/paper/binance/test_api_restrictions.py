"""GET /sapi/v1/account/apiRestrictions on the paper Binance: signed, per key, settable by the admin API."""

from __future__ import annotations

import time

import requests

from tests.paper.binance.conftest import Raw, new_account, now_ms
from tests.paper.conftest import RunningPaper

PATH = "/sapi/v1/account/apiRestrictions"


def _account(paper: RunningPaper, body: dict[str, object]) -> requests.Response:
    return requests.post(paper.url + "/_paper/accounts", json=body, timeout=10)


def test_a_new_key_may_trade_and_read_but_not_withdraw(paper: RunningPaper, raw: Raw) -> None:
    """The default answer has Binance's fields: reading and trading on, withdrawals and transfers off."""
    before = int(time.time() * 1000) - 1000
    response = raw.call("GET", PATH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["enableWithdrawals"] is False
    assert body["enableReading"] is True
    assert body["enableSpotAndMarginTrading"] is True
    assert body["enableInternalTransfer"] is False
    assert body["permitsUniversalTransfer"] is False
    assert body["ipRestrict"] is False
    assert isinstance(body["createTime"], int)
    assert body["createTime"] >= before


def test_the_admin_api_opens_a_key_that_can_withdraw(paper: RunningPaper) -> None:
    """POST /_paper/accounts with restrictions sets that key's flags, echoes them, and leaves others alone."""
    response = _account(paper, {"restrictions": {"enableWithdrawals": True}})
    assert response.status_code == 201, response.text
    opened = response.json()
    assert opened["restrictions"]["enableWithdrawals"] is True
    careful = Raw(paper.url, opened["api_key"], opened["api_secret"]).call("GET", PATH)
    assert careful.json()["enableWithdrawals"] is True
    plain = new_account(paper)
    assert plain["restrictions"]["enableWithdrawals"] is False
    assert Raw(paper.url, plain["api_key"], plain["api_secret"]).call("GET", PATH).json()[
        "enableWithdrawals"] is False


def test_malformed_restrictions_are_refused_and_open_no_account(paper: RunningPaper) -> None:
    """An unknown flag or a non-boolean value answers 400 naming it, and no account is created."""
    count = len(paper.venue.accounts)
    unknown = _account(paper, {"restrictions": {"enableEverything": True}})
    assert unknown.status_code == 400
    assert "enableEverything" in unknown.json()["error"]
    not_bool = _account(paper, {"restrictions": {"enableWithdrawals": "yes"}})
    assert not_bool.status_code == 400
    assert "enableWithdrawals" in not_bool.json()["error"]
    assert len(paper.venue.accounts) == count


def test_the_endpoint_is_signed(paper: RunningPaper, raw: Raw) -> None:
    """A wrong signature gets -1022, an unknown key -2015 (401), a missing signature -1102."""
    forged = Raw(paper.url, raw.key, "not-the-secret").call("GET", PATH)
    assert forged.status_code == 400
    assert forged.json()["code"] == -1022
    stranger = Raw(paper.url, "UnknownKey123", raw.secret).call("GET", PATH)
    assert stranger.status_code == 401
    assert stranger.json()["code"] == -2015
    unsigned = raw.send("GET", PATH, query=f"timestamp={now_ms()}", sign=False)
    assert unsigned.status_code == 400
    assert unsigned.json()["code"] == -1102
