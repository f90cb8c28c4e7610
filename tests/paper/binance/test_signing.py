"""Wire fidelity of signed requests: HMAC over the exact bytes (query, body, mixed), timestamps,
recvWindow and API keys."""

from __future__ import annotations

import requests

from boltztrader.paper.binance.signing import sign
from tests.paper.binance.conftest import Raw, now_ms

ORDER = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000&price=50000.00"


def test_reference_hmac_vectors() -> None:
    """The two signatures of Binance's documented example (plain and mixed payload) come out exactly."""
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    tail = b"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    plain = b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&" + tail
    mixed = b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC" + tail
    assert sign(secret, plain) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    assert sign(secret, mixed) == "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"


def test_signature_over_query_only(raw: Raw) -> None:
    """All parameters and the signature in the query string (binance-connector's way) are accepted."""
    response = raw.send("POST", "/api/v3/order", query=f"{ORDER}&timestamp={now_ms()}")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "NEW"


def test_signature_over_body_only(raw: Raw) -> None:
    """All parameters and the signature in a form body (python-binance's way) are accepted."""
    response = raw.send("POST", "/api/v3/order", body=f"{ORDER}&timestamp={now_ms()}")
    assert response.status_code == 200, response.text
    assert response.json()["origQty"] == "0.01000000"


def test_signature_over_mixed_query_and_body(raw: Raw) -> None:
    """Query then body are concatenated with no separator for the signature; the query wins a clash."""
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.02000"
    body = f"quantity=0.05000&price=50000.00&timestamp={now_ms()}"
    response = raw.send("POST", "/api/v3/order", query=query, body=body)
    assert response.status_code == 200, response.text
    assert response.json()["origQty"] == "0.02000000"


def test_signature_with_json_content_type_body(raw: Raw) -> None:
    """A form body labelled application/json (python-binance's session default) is parsed as form data."""
    response = raw.send(
        "POST",
        "/api/v3/order",
        body=f"{ORDER}&timestamp={now_ms()}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


def test_resorted_parameters_fail_the_signature(raw: Raw) -> None:
    """A signature computed over a different parameter order than sent gets -1022."""
    stamp = now_ms()
    signature = raw.sign(f"{ORDER}&timestamp={stamp}")
    reordered = "&".join(reversed(ORDER.split("&"))) + f"&timestamp={stamp}&signature={signature}"
    response = raw.send("POST", "/api/v3/order", query=reordered, sign=False)
    assert response.status_code == 400
    assert response.json() == {"code": -1022, "msg": "Signature for this request is not valid."}
    assert response.headers["Content-Type"].startswith("application/json")


def test_percent_encoded_bytes_are_signed_as_sent(raw: Raw) -> None:
    """A percent-encoded value (``%3A``) is verified over its encoded form, byte for byte, then decoded."""
    query = (
        f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=50000.00"
        f"&newClientOrderId=a%3Ab.c&timestamp={now_ms()}"
    )
    response = raw.send("POST", "/fapi/v1/order", query=query)
    assert response.status_code == 200, response.text
    assert response.json()["clientOrderId"] == "a:b.c"


def test_timestamp_outside_recv_window(raw: Raw) -> None:
    """A timestamp 6 s old fails the default 5000 ms window and passes with recvWindow=10000."""
    old = now_ms() - 6000
    response = raw.call("GET", "/api/v3/account", timestamp=old)
    assert response.status_code == 400
    assert response.json() == {
        "code": -1021,
        "msg": "Timestamp for this request is outside of the recvWindow.",
    }
    assert raw.call("GET", "/api/v3/account", timestamp=old, recvWindow=10000).status_code == 200


def test_timestamp_ahead_of_server(raw: Raw) -> None:
    """A timestamp 2 s in the future fails whatever the recvWindow."""
    response = raw.call("GET", "/api/v3/account", timestamp=now_ms() + 2000, recvWindow=60000)
    assert response.json() == {
        "code": -1021,
        "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
    }


def test_microsecond_timestamp_accepted(raw: Raw) -> None:
    """A timestamp in microseconds is accepted like one in milliseconds."""
    assert raw.call("GET", "/api/v3/account", timestamp=now_ms() * 1000).status_code == 200


def test_recv_window_above_maximum(raw: Raw) -> None:
    """recvWindow above 60000 gets -1102 with the documented template."""
    response = raw.call("GET", "/api/v3/account", recvWindow=60001)
    assert response.json() == {
        "code": -1102,
        "msg": "'recvWindow' contains unexpected value. Cannot be greater than 60000.",
    }


def test_missing_timestamp_and_signature(raw: Raw) -> None:
    """A signed endpoint without timestamp or signature gets -1102 naming the parameter."""
    no_signature = raw.send("GET", "/api/v3/account", query=f"timestamp={now_ms()}", sign=False)
    assert (
        no_signature.json()["msg"]
        == "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
    )
    no_timestamp = raw.send("GET", "/api/v3/account", query="recvWindow=5000")
    assert (
        no_timestamp.json()["msg"]
        == "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    )


def test_bad_and_unknown_api_keys(raw: Raw) -> None:
    """No key gets -2014 and an unknown key -2015, both with HTTP 401."""
    missing = requests.get(f"{raw.url}/api/v3/account?timestamp={now_ms()}&signature=00", timeout=10)
    assert missing.status_code == 401
    assert missing.json() == {"code": -2014, "msg": "API-key format invalid."}
    unknown = Raw(raw.url, "abc123unknown", raw.secret).call("GET", "/api/v3/account")
    assert unknown.status_code == 401
    assert unknown.json() == {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}


def test_duplicate_parameter_rejected(raw: Raw) -> None:
    """The same parameter twice in the query gets -1101."""
    response = raw.send("GET", "/api/v3/account", query=f"timestamp={now_ms()}&timestamp={now_ms()}")
    assert response.json() == {"code": -1101, "msg": "Duplicate values for a parameter detected."}
