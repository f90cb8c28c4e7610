"""Request signatures: HMAC-SHA256 (hex) or Ed25519 (base64), over the exact bytes sent.

REST: the signature covers the query string or form body exactly as it goes on the wire (values
already percent-encoded). WebSocket API (``userDataStream.subscribe.signature``): it covers the
params sorted by name as ``k=v&...``.

Ed25519 needs ``cryptography``, imported only when an Ed25519 key is configured. The paper broker
verifies HMAC only; the Ed25519 path is tested against a locally generated key (sign, then verify
with the public key), which proves the signature bytes but not Binance's acceptance of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import quote

from boltztrader.domain.secrets import Secret
from boltztrader.errors import ConfigError


class Signer(Protocol):
    def sign(self, payload: str) -> str:
        """The signature parameter value for a REST payload (ready to append after ``signature=``)."""
        ...

    def sign_ws(self, params: Mapping[str, object]) -> str:
        """The ``signature`` value for WebSocket API params (sorted ``k=v&...``)."""
        ...


def ws_payload(params: Mapping[str, object]) -> str:
    return "&".join(f"{k}={_ws_text(v)}" for k, v in sorted(params.items()) if k != "signature")


def _ws_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class HmacSigner:
    """Hex HMAC-SHA256; the keyed state is computed once and copied per request."""

    __slots__ = ("_base",)

    def __init__(self, secret: Secret) -> None:
        self._base = hmac.new(secret.reveal().encode(), digestmod=hashlib.sha256)

    def sign(self, payload: str) -> str:
        mac = self._base.copy()
        mac.update(payload.encode())
        return mac.hexdigest()

    def sign_ws(self, params: Mapping[str, object]) -> str:
        return self.sign(ws_payload(params))

    def __repr__(self) -> str:
        return "HmacSigner()"


class Ed25519Signer:
    """Base64 Ed25519 over the payload bytes; percent-encoded for REST (``+``, ``/``, ``=``)."""

    __slots__ = ("_key",)

    def __init__(self, private_key_pem: Secret) -> None:
        try:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
            from cryptography.hazmat.primitives.serialization import load_pem_private_key
        except ImportError:  # pragma: no cover - cryptography is a dependency of the project
            raise ConfigError("Ed25519 signing needs the 'cryptography' package") from None
        try:
            key = load_pem_private_key(private_key_pem.reveal().encode(), password=None)
        except (ValueError, TypeError):
            # the parser's message could quote the key material: say only what kind of failure
            raise ConfigError("ed25519_private_key is not a PEM private key without a password") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError("ed25519_private_key is not an Ed25519 key")
        self._key = key

    def raw(self, payload: str) -> str:
        return base64.b64encode(self._key.sign(payload.encode())).decode()

    def sign(self, payload: str) -> str:
        return quote(self.raw(payload), safe="")

    def sign_ws(self, params: Mapping[str, object]) -> str:
        return self.raw(ws_payload(params))

    def __repr__(self) -> str:
        return "Ed25519Signer()"


def make_signer(api_secret: Secret, ed25519_private_key: Secret | None) -> Signer:
    if ed25519_private_key:
        return Ed25519Signer(ed25519_private_key)
    return HmacSigner(api_secret)
