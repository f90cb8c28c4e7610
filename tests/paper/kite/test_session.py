"""Wire fidelity of transport, envelope and login: root path, headers, checksum, tokens, expiry, logout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from boltztrader.paper.kite.session import checksum, next_expiry
from boltztrader.paper.kite.wire import IST
from tests.paper.conftest import RunningPaper
from tests.paper.kite.conftest import KiteUser, admin, sha256

SESSION_FIELDS = {"user_type", "email", "user_name", "user_shortname", "broker", "exchanges", "products",
                  "order_types", "avatar_url", "user_id", "api_key", "access_token", "public_token",
                  "enctoken", "refresh_token", "silo", "login_time", "meta"}


def _exchange(paper: RunningPaper, api_key: str, request_token: str, secret: str) -> requests.Response:
    return requests.post(paper.url + "/session/token", headers={"X-Kite-Version": "3"}, timeout=10,
                         data={"api_key": api_key, "request_token": request_token,
                               "checksum": sha256(api_key, request_token, secret)})


def test_checksum_matches_the_reference_vector() -> None:
    """sha256(api_key + request_token + api_secret) gives the reference's test vector."""
    assert checksum("KEY", "RT", "SEC") == "96583319e5d7bf77341d977df8069101ab3766eb1f1c2854d29e3fee163acc30"


def test_admin_account_returns_keys_and_a_request_token(paper: RunningPaper) -> None:
    """POST /_paper/accounts hands out api_key, api_secret and a fresh request_token."""
    created = admin(paper, "POST", "/_paper/accounts", json={})
    assert {"account_id", "api_key", "api_secret", "request_token", "user_id"} <= set(created)
    assert len(created["request_token"]) == 32


def test_session_token_returns_the_user_session(paper: RunningPaper) -> None:
    """A correct checksum gives the session payload with every field of generate_session.json."""
    created = admin(paper, "POST", "/_paper/accounts", json={})
    response = _exchange(paper, created["api_key"], created["request_token"], created["api_secret"])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "success"
    data = body["data"]
    assert set(data) == SESSION_FIELDS
    assert data["api_key"] == created["api_key"]
    assert data["broker"] == "ZERODHA"
    assert len(data["login_time"]) == 19
    assert data["meta"] == {"demat_consent": "consent"}


def test_request_token_is_single_use_and_renewable(paper: RunningPaper) -> None:
    """A used request token is refused (403 TokenException); the admin route issues a new one."""
    created = admin(paper, "POST", "/_paper/accounts", json={})
    key, secret = created["api_key"], created["api_secret"]
    assert _exchange(paper, key, created["request_token"], secret).status_code == 200
    again = _exchange(paper, key, created["request_token"], secret)
    assert again.status_code == 403
    assert again.json() == {"status": "error", "message": "Token is invalid or has expired",
                            "error_type": "TokenException", "data": None}
    fresh = admin(paper, "POST", f"/_paper/accounts/{key}/request_token")["request_token"]
    assert _exchange(paper, key, fresh, secret).status_code == 200


def test_wrong_checksum_is_refused(paper: RunningPaper) -> None:
    """A checksum made with the wrong secret gets 403 TokenException and no session."""
    created = admin(paper, "POST", "/_paper/accounts", json={})
    response = _exchange(paper, created["api_key"], created["request_token"], "not-the-secret")
    assert response.status_code == 403
    assert response.json()["error_type"] == "TokenException"


def test_authenticated_routes_need_the_token_header(user: KiteUser) -> None:
    """No or a wrong Authorization header gives 403 TokenException with Kite's message."""
    for headers in ({"X-Kite-Version": "3"},
                    {"X-Kite-Version": "3", "Authorization": f"token {user.api_key}:wrong"},
                    {"X-Kite-Version": "3", "Authorization": f"Bearer {user.access_token}"}):
        response = requests.get(user.url + "/orders", headers=headers, timeout=10)
        assert response.status_code == 403
        assert response.json() == {"status": "error", "message": "Incorrect `api_key` or `access_token`.",
                                   "error_type": "TokenException", "data": None}
    assert user.get("/orders").status_code == 200


def test_kite_version_header_is_required(user: KiteUser) -> None:
    """Without X-Kite-Version: 3 the API answers 400 InputException."""
    response = requests.get(user.url + "/orders", timeout=10,
                            headers={"Authorization": f"token {user.api_key}:{user.access_token}"})
    assert response.status_code == 400
    assert response.json()["error_type"] == "InputException"


def test_every_response_has_a_json_content_type(user: KiteUser) -> None:
    """Unknown routes and wrong methods still answer in Kite's JSON envelope (the client needs it)."""
    missing = user.get("/no/such/route")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/json")
    assert missing.json()["error_type"] == "GeneralException"
    wrong = user.request("PATCH", "/orders")
    assert wrong.status_code == 405
    assert wrong.headers["Content-Type"].startswith("application/json")
    assert wrong.json()["status"] == "error"


def test_access_token_expires_at_six_ist(user: KiteUser) -> None:
    """After the next 06:00 IST the token is dead: 403 TokenException."""
    login = datetime(2026, 3, 2, 10, 0, tzinfo=IST)
    assert next_expiry(login) == datetime(2026, 3, 3, 6, 0, tzinfo=IST)
    assert next_expiry(datetime(2026, 3, 2, 5, 59, tzinfo=IST)) == datetime(2026, 3, 2, 6, 0, tzinfo=IST)
    expiry = next_expiry(datetime.now(UTC))
    user.set_clock(expiry - timedelta(seconds=1))
    assert user.get("/user/profile").status_code == 200
    user.set_clock(expiry)
    response = user.get("/user/profile")
    assert response.status_code == 403
    assert response.json()["message"] == "Token is invalid or has expired"


def test_logout_kills_the_access_token(user: KiteUser) -> None:
    """DELETE /session/token returns true and the token stops working."""
    response = user.request("DELETE", "/session/token",
                            params={"api_key": user.api_key, "access_token": user.access_token})
    assert response.json() == {"status": "success", "data": True}
    assert user.get("/orders").status_code == 403


def test_profile_fields(user: KiteUser) -> None:
    """GET /user/profile has profile.json's fields and no tokens."""
    data = user.data("GET", "/user/profile")
    assert set(data) == {"user_id", "user_type", "email", "user_name", "user_shortname", "broker",
                         "exchanges", "products", "order_types", "avatar_url", "meta"}
    assert data["user_id"] == user.user_id
