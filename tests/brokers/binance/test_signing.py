"""Signatures: HMAC over Binance's reference vector, Ed25519 verified with a locally generated key."""

from __future__ import annotations

import base64
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from boltztrader.brokers.binance import BinanceConfig
from boltztrader.brokers.binance.signing import Ed25519Signer, HmacSigner, make_signer, ws_payload
from boltztrader.domain.enums import Market
from boltztrader.domain.secrets import Secret
from boltztrader.errors import ConfigError

REF_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
REF_QUERY = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
             "&timestamp=1499827319559")


def _pem() -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key


def test_hmac_matches_binance_reference_vector() -> None:
    """HMAC-SHA256 over the documented query gives the documented signature."""
    signer = HmacSigner(Secret(REF_SECRET))
    assert signer.sign(REF_QUERY) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_hmac_matches_binance_mixed_reference_vector() -> None:
    """Query and body joined without a separator give the documented mixed signature."""
    signer = HmacSigner(Secret(REF_SECRET))
    mixed = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000"
             "&timestamp=1499827319559")
    assert signer.sign(mixed) == "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"


def test_hmac_signer_is_reusable_across_payloads() -> None:
    """The copied keyed state gives the same signature twice and a different one for another payload."""
    signer = HmacSigner(Secret(REF_SECRET))
    first, again, other = signer.sign(REF_QUERY), signer.sign(REF_QUERY), signer.sign(REF_QUERY + "1")
    assert first == again
    assert first != other


def test_ws_payload_sorts_params_by_name() -> None:
    """WebSocket API signatures cover the params sorted by name, signature excluded."""
    assert ws_payload({"timestamp": 5, "apiKey": "k", "signature": "x"}) == "apiKey=k&timestamp=5"


def test_ed25519_rest_signature_verifies_with_the_public_key() -> None:
    """The REST signature is percent-encoded base64 of an Ed25519 signature over the exact payload."""
    pem, key = _pem()
    signer = Ed25519Signer(Secret(pem))
    signature = signer.sign(REF_QUERY)
    assert "+" not in signature
    assert "/" not in signature
    assert "=" not in signature
    key.public_key().verify(base64.b64decode(unquote(signature)), REF_QUERY.encode())


def test_ed25519_ws_signature_is_plain_base64_over_sorted_params() -> None:
    """The WebSocket API signature is raw base64 (it travels in JSON) over the sorted params."""
    pem, key = _pem()
    signer = Ed25519Signer(Secret(pem))
    signature = signer.sign_ws({"timestamp": 1, "apiKey": "abc"})
    key.public_key().verify(base64.b64decode(signature), b"apiKey=abc&timestamp=1")


def test_ed25519_key_takes_precedence_over_hmac() -> None:
    """With an Ed25519 key configured the Ed25519 signer is used, even with an empty HMAC secret."""
    pem, _ = _pem()
    config = BinanceConfig(api_key=Secret("k"), api_secret=Secret(""), ed25519_private_key=Secret(pem))
    assert isinstance(make_signer(config.api_secret, config.ed25519_private_key), Ed25519Signer)


def test_bad_ed25519_pem_is_a_config_error_without_the_key_text() -> None:
    """A malformed key is refused as ConfigError and its text is not in the message."""
    bogus = "-----BEGIN PRIVATE KEY-----\nSENTINELbogusKEYmaterial\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ConfigError) as caught:
        Ed25519Signer(Secret(bogus))
    assert "SENTINEL" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_config_refuses_missing_secrets_and_other_markets() -> None:
    """A config needs a secret or an Ed25519 key and a crypto market."""
    with pytest.raises(ConfigError):
        BinanceConfig(api_key=Secret("k"), api_secret=Secret(""))
    with pytest.raises(ConfigError):
        BinanceConfig(api_key=Secret("k"), api_secret=Secret("s"), market=Market.NSE)
    with pytest.raises(ConfigError):
        BinanceConfig(api_key=Secret("k"), api_secret=Secret("s"), recv_window=60001)


def test_config_wraps_plain_text_credentials_and_hides_them() -> None:
    """Plain strings are wrapped in Secret, and the config's repr shows neither key nor secret."""
    config = BinanceConfig(api_key="KEYsentinel", api_secret="SECRETsentinel")  # type: ignore[arg-type]
    assert isinstance(config.api_key, Secret)
    assert isinstance(config.api_secret, Secret)
    assert "sentinel" not in repr(config)
