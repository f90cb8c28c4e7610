"""The credential vault: envelope encryption bound to owner, account and field, with key rotation."""

from __future__ import annotations

import pickle
import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boltztrader.accounts.keyring import (
    NONCE_BYTES,
    Keyring,
    MasterKey,
    generate_master_key,
    parse_master_key,
)
from boltztrader.accounts.vault import FORMAT_VERSION, HEADER_BYTES, TAG_BYTES, Vault, key_id_of
from boltztrader.domain.secrets import Secret
from boltztrader.errors import CredentialError

SENTINEL = "sk-live-SENTINEL-9f2c1e"
BINDING = {"owner": "alice", "account_id": "acct-1", "field": "api_secret"}


def new_key() -> tuple[str, MasterKey]:
    text = generate_master_key()
    return text, parse_master_key(text, source="test")


@pytest.fixture
def keys() -> dict[str, tuple[str, MasterKey]]:
    return {"old": new_key(), "new": new_key()}


def vault_of(primary: MasterKey, *previous: MasterKey) -> Vault:
    return Vault(Keyring(primary, previous))


def test_a_secret_round_trips() -> None:
    """What is encrypted for a binding decrypts to the same secret for that binding."""
    vault = vault_of(new_key()[1])
    blob = vault.encrypt(Secret(SENTINEL), **BINDING)
    assert vault.decrypt(blob, **BINDING) == Secret(SENTINEL)


def test_the_blob_names_its_format_and_key_and_hides_the_value() -> None:
    """A blob starts with the format version and the primary key's id and never holds the plain value."""
    _, key = new_key()
    blob = vault_of(key).encrypt(Secret(SENTINEL), **BINDING)
    assert blob[0] == FORMAT_VERSION
    assert key_id_of(blob) == key.key_id == blob[1:9].hex()
    assert len(blob) == HEADER_BYTES + len(SENTINEL) + TAG_BYTES
    assert SENTINEL.encode() not in blob


def test_each_encryption_uses_a_fresh_data_key_and_nonce() -> None:
    """The same secret encrypted twice gives two unrelated blobs."""
    vault = vault_of(new_key()[1])
    first, second = (vault.encrypt(Secret(SENTINEL), **BINDING) for _ in range(2))
    assert first != second
    assert first[HEADER_BYTES:] != second[HEADER_BYTES:]


@pytest.mark.parametrize("moved", [
    {"owner": "mallory"}, {"account_id": "acct-2"}, {"field": "access_token"},
    {"owner": "alic", "account_id": "eacct-1"},
])
def test_a_blob_moved_to_another_owner_account_or_field_does_not_open(moved: dict[str, str]) -> None:
    """A blob copied to another user, account or field (even by shifting characters) is refused."""
    vault = vault_of(new_key()[1])
    blob = vault.encrypt(Secret(SENTINEL), **BINDING)
    with pytest.raises(CredentialError, match="another owner, account or field, or it was altered"):
        vault.decrypt(blob, **{**BINDING, **moved})


def test_every_altered_byte_is_detected() -> None:
    """Flipping any single bit of any byte of a blob makes it fail to open, never open to something else."""
    vault = vault_of(new_key()[1])
    blob = vault.encrypt(Secret(SENTINEL), **BINDING)
    for position in range(len(blob)):
        altered = bytearray(blob)
        altered[position] ^= 0x01
        with pytest.raises(CredentialError):
            vault.decrypt(bytes(altered), **BINDING)


@pytest.mark.parametrize("cut", [0, 1, HEADER_BYTES, HEADER_BYTES + TAG_BYTES - 1])
def test_a_truncated_blob_is_a_clear_error(cut: int) -> None:
    """A blob cut short is refused with a CredentialError, not an IndexError."""
    vault = vault_of(new_key()[1])
    blob = vault.encrypt(Secret(SENTINEL), **BINDING)
    with pytest.raises(CredentialError, match=r"empty|truncated"):
        vault.decrypt(blob[:cut], **BINDING)


def test_an_unknown_format_version_is_named() -> None:
    """A blob from a future format is refused with its version number."""
    vault = vault_of(new_key()[1])
    blob = bytearray(vault.encrypt(Secret(SENTINEL), **BINDING))
    blob[0] = 9
    with pytest.raises(CredentialError, match="envelope format 9"):
        vault.decrypt(bytes(blob), **BINDING)


def test_a_blob_under_an_unknown_key_names_that_key(keys: dict[str, tuple[str, MasterKey]]) -> None:
    """Decrypting without the wrapping key says which key id is missing and where to configure it."""
    blob = vault_of(keys["old"][1]).encrypt(Secret(SENTINEL), **BINDING)
    with pytest.raises(CredentialError) as caught:
        vault_of(keys["new"][1]).decrypt(blob, **BINDING)
    message = str(caught.value)
    assert keys["old"][1].key_id in message
    assert "BOLTZ_PREVIOUS_MASTER_KEYS" in message


def test_previous_keys_still_decrypt_while_new_blobs_use_the_primary(
        keys: dict[str, tuple[str, MasterKey]]) -> None:
    """During a rotation old blobs open under a previous key and new blobs are wrapped by the primary."""
    old, new = keys["old"][1], keys["new"][1]
    old_blob = vault_of(old).encrypt(Secret(SENTINEL), **BINDING)
    rotating = vault_of(new, old)
    assert rotating.decrypt(old_blob, **BINDING) == Secret(SENTINEL)
    assert rotating.key_id_of(rotating.encrypt(Secret("x"), **BINDING)) == new.key_id
    assert not rotating.is_current(old_blob)


def test_rewrap_moves_the_data_key_to_the_primary_and_keeps_the_value(
        keys: dict[str, tuple[str, MasterKey]]) -> None:
    """A re-wrapped blob carries the primary's id and the same value ciphertext, and needs no old key."""
    old, new = keys["old"][1], keys["new"][1]
    old_blob = vault_of(old).encrypt(Secret(SENTINEL), **BINDING)
    rewrapped = vault_of(new, old).rewrap(old_blob, **BINDING)
    assert key_id_of(rewrapped) == new.key_id
    value_part = HEADER_BYTES - NONCE_BYTES
    assert rewrapped[value_part:] == old_blob[value_part:]
    assert vault_of(new).decrypt(rewrapped, **BINDING) == Secret(SENTINEL)
    assert vault_of(new).is_current(rewrapped)


def test_rewrap_refuses_a_blob_bound_elsewhere(keys: dict[str, tuple[str, MasterKey]]) -> None:
    """Rotation cannot launder a blob into another binding: re-wrapping checks the binding too."""
    old, new = keys["old"][1], keys["new"][1]
    old_blob = vault_of(old).encrypt(Secret(SENTINEL), **BINDING)
    with pytest.raises(CredentialError):
        vault_of(new, old).rewrap(old_blob, **{**BINDING, "account_id": "acct-2"})


def test_an_empty_binding_part_is_refused() -> None:
    """A credential must be bound to a real owner, account and field."""
    vault = vault_of(new_key()[1])
    with pytest.raises(CredentialError, match="non-empty"):
        vault.encrypt(Secret(SENTINEL), **{**BINDING, "owner": ""})


def test_only_secret_values_are_encrypted() -> None:
    """A plain string is refused, so callers keep secrets wrapped up to the vault."""
    vault = vault_of(new_key()[1])
    with pytest.raises(TypeError):
        vault.encrypt(SENTINEL, **BINDING)  # type: ignore[arg-type]


def test_errors_never_carry_the_secret_or_key_material(keys: dict[str, tuple[str, MasterKey]]) -> None:
    """No vault error's text, repr or formatted traceback contains the secret or a master key."""
    old_text, old = keys["old"]
    new_text, new = keys["new"]
    blob = vault_of(old).encrypt(Secret(SENTINEL), **BINDING)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    attempts = [
        lambda: vault_of(new).decrypt(blob, **BINDING),
        lambda: vault_of(old).decrypt(tampered, **BINDING),
        lambda: vault_of(old).decrypt(blob, **{**BINDING, "owner": "bob"}),
        lambda: vault_of(new, old).rewrap(blob, **{**BINDING, "field": "access_token"}),
    ]
    for attempt in attempts:
        with pytest.raises(CredentialError) as caught:
            attempt()
        shown = str(caught.value) + repr(caught.value) + "".join(traceback.format_exception(caught.value))
        for hidden in (SENTINEL, old_text, new_text, old_text.rstrip("=")):
            assert hidden not in shown


def test_secrets_and_keys_stay_redacted_and_unpicklable(keys: dict[str, tuple[str, MasterKey]]) -> None:
    """A decrypted Secret and a MasterKey show no value in repr, str or f-strings, and refuse pickling."""
    text, key = keys["old"]
    vault = vault_of(key)
    secret = vault.decrypt(vault.encrypt(Secret(SENTINEL), **BINDING), **BINDING)
    shown = f"{secret} {secret!r} {key} {key!r} {vault.keyring!r}"
    assert SENTINEL not in shown
    assert text not in shown
    assert key.key_id in shown
    for value in (secret, key):
        with pytest.raises(TypeError):
            pickle.dumps(value)


@settings(max_examples=150, deadline=None)
@given(value=st.text(), owner=st.text(min_size=1), account_id=st.text(min_size=1),
       field=st.sampled_from(["api_secret", "access_token"]))
def test_any_text_round_trips_for_any_binding(value: str, owner: str, account_id: str, field: str) -> None:
    """Every string, bound to any owner and account, decrypts to itself, also after a re-wrap."""
    old, new = new_key()[1], new_key()[1]
    binding = {"owner": owner, "account_id": account_id, "field": field}
    blob = vault_of(old).encrypt(Secret(value), **binding)
    rotating = vault_of(new, old)
    assert rotating.decrypt(blob, **binding).reveal() == value
    assert vault_of(new).decrypt(rotating.rewrap(blob, **binding), **binding).reveal() == value
