"""The credential vault: envelope encryption of broker secrets and tokens at rest.

Each value gets its own random 256-bit data key. The value is sealed with AES-GCM under the data
key; the data key is sealed with AES-GCM under a master key. Both seals carry associated data
binding them to (owner, account, field), so a blob copied to another user, account or field does
not open. A blob is self-describing bytes::

    version (1) | master key id (8) | wrap nonce (12) | wrapped data key + tag (48)
    | value nonce (12) | value ciphertext + tag (len(value) + 16)

Rotation re-wraps only the data key (:meth:`Vault.rewrap`): the value's ciphertext is untouched.
Every failure is a CredentialError whose message names the account and field, never the value
or any key material.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from boltztrader.accounts.keyring import KEY_BYTES, KEY_ID_BYTES, NONCE_BYTES, Keyring
from boltztrader.domain.secrets import Secret
from boltztrader.errors import CredentialError

FORMAT_VERSION = 1
TAG_BYTES = 16
_WRAPPED_BYTES = KEY_BYTES + TAG_BYTES
_KEY_ID_AT = 1
_WRAP_NONCE_AT = _KEY_ID_AT + KEY_ID_BYTES
_WRAPPED_AT = _WRAP_NONCE_AT + NONCE_BYTES
_VALUE_NONCE_AT = _WRAPPED_AT + _WRAPPED_BYTES
_CIPHERTEXT_AT = _VALUE_NONCE_AT + NONCE_BYTES
HEADER_BYTES = _CIPHERTEXT_AT
# Labels keep the two seals' associated data apart, so neither can stand in for the other.
_WRAP_LABEL = b"boltz/credential/data-key"
_VALUE_LABEL = b"boltz/credential/value"


@dataclass(frozen=True)
class Binding:
    """What a blob belongs to: it opens only for the same owner, account and field."""

    owner: str
    account_id: str
    field: str

    def __post_init__(self) -> None:
        if not (self.owner and self.account_id and self.field):
            raise CredentialError("a credential is bound to a non-empty owner, account and field")

    def describe(self) -> str:
        return f"the stored {self.field} of account {self.account_id}"

    def aad(self, label: bytes, *extra: bytes) -> bytes:
        """Unambiguous associated data: each part is length-prefixed, so no two bindings collide."""
        parts = (label, bytes([FORMAT_VERSION]), *extra,
                 self.owner.encode(), self.account_id.encode(), self.field.encode())
        return b"".join(struct.pack(">I", len(part)) + part for part in parts)


@dataclass(frozen=True)
class Envelope:
    """The parsed parts of a blob; ``to_bytes`` writes them back in the stored layout."""

    key_id: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    value_nonce: bytes
    ciphertext: bytes

    @classmethod
    def parse(cls, blob: bytes, what: str = "the blob") -> Envelope:
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise CredentialError(f"{what} is not bytes")
        data = bytes(blob)
        if not data:
            raise CredentialError(f"{what} is empty")
        if data[0] != FORMAT_VERSION:
            raise CredentialError(f"{what} has envelope format {data[0]}; "
                                  f"this version reads format {FORMAT_VERSION}")
        if len(data) < HEADER_BYTES + TAG_BYTES:
            raise CredentialError(f"{what} is truncated ({len(data)} bytes)")
        return cls(data[_KEY_ID_AT:_WRAP_NONCE_AT], data[_WRAP_NONCE_AT:_WRAPPED_AT],
                   data[_WRAPPED_AT:_VALUE_NONCE_AT], data[_VALUE_NONCE_AT:_CIPHERTEXT_AT],
                   data[_CIPHERTEXT_AT:])

    def to_bytes(self) -> bytes:
        return b"".join((bytes([FORMAT_VERSION]), self.key_id, self.wrap_nonce, self.wrapped_key,
                         self.value_nonce, self.ciphertext))


class Vault:
    """Encrypts, decrypts and re-wraps credentials with the keys of one keyring."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def primary_key_id(self) -> str:
        return self._keyring.primary.key_id

    def encrypt(self, secret: Secret, *, owner: str, account_id: str, field: str) -> bytes:
        """A new blob holding ``secret``, bound to (owner, account, field), under the primary key."""
        if not isinstance(secret, Secret):
            raise TypeError("the vault encrypts Secret values only")
        binding = Binding(owner, account_id, field)
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        value_nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(value_nonce, secret.reveal().encode("utf-8"),
                                              binding.aad(_VALUE_LABEL))
        return self._wrap(data_key, binding, value_nonce, ciphertext)

    def decrypt(self, blob: bytes, *, owner: str, account_id: str, field: str) -> Secret:
        """The secret in ``blob``; CredentialError if it is bound elsewhere, altered or its key unknown."""
        binding = Binding(owner, account_id, field)
        envelope = Envelope.parse(blob, binding.describe())
        data_key = self._unwrap(envelope, binding)
        try:
            plain = AESGCM(data_key).decrypt(envelope.value_nonce, envelope.ciphertext,
                                             binding.aad(_VALUE_LABEL))
        except InvalidTag:
            raise _does_not_open(binding) from None
        return Secret(plain.decode("utf-8"))

    def rewrap(self, blob: bytes, *, owner: str, account_id: str, field: str) -> bytes:
        """The same value and data key, with the data key wrapped anew under the primary key."""
        binding = Binding(owner, account_id, field)
        envelope = Envelope.parse(blob, binding.describe())
        data_key = self._unwrap(envelope, binding)
        return self._wrap(data_key, binding, envelope.value_nonce, envelope.ciphertext)

    def key_id_of(self, blob: bytes) -> str:
        """The id (hex) of the master key that wraps ``blob``'s data key."""
        return key_id_of(blob)

    def is_current(self, blob: bytes) -> bool:
        """Whether ``blob`` is already wrapped under the primary key (rotation leaves it alone)."""
        return Envelope.parse(blob).key_id == self._keyring.primary.id_bytes

    def _wrap(self, data_key: bytes, binding: Binding, value_nonce: bytes, ciphertext: bytes) -> bytes:
        primary = self._keyring.primary
        wrap_nonce, wrapped = primary.wrap(data_key, binding.aad(_WRAP_LABEL, primary.id_bytes))
        return Envelope(primary.id_bytes, wrap_nonce, wrapped, value_nonce, ciphertext).to_bytes()

    def _unwrap(self, envelope: Envelope, binding: Binding) -> bytes:
        try:
            key = self._keyring.find(envelope.key_id)
        except CredentialError as exc:
            raise CredentialError(f"{binding.describe()} cannot be opened: {exc}") from None
        data_key = key.unwrap(envelope.wrap_nonce, envelope.wrapped_key,
                              binding.aad(_WRAP_LABEL, envelope.key_id))
        if data_key is None:
            raise _does_not_open(binding)
        return data_key


def key_id_of(blob: bytes) -> str:
    """The id (hex) of the master key that wraps ``blob``'s data key; no key is needed to read it."""
    return Envelope.parse(blob).key_id.hex()


def _does_not_open(binding: Binding) -> CredentialError:
    return CredentialError(f"{binding.describe()} does not decrypt: it was encrypted for another owner, "
                           "account or field, or it was altered")
