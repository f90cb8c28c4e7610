"""Master keys: parsing, key files, the keyring, and the settings that configure them."""

from __future__ import annotations

import base64
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from boltztrader.accounts.keyring import (
    Keyring,
    create_key_file,
    generate_master_key,
    load_keyring,
    load_or_create_key_file,
    parse_master_key,
    parse_master_keys,
)
from boltztrader.domain.secrets import Secret
from boltztrader.errors import ConfigError, CredentialError
from boltztrader.settings import load_settings


def test_a_generated_key_parses_to_32_bytes_with_a_stable_id() -> None:
    """`generate_master_key` text parses back, and the same text always yields the same key id."""
    text = generate_master_key()
    assert len(base64.urlsafe_b64decode(text)) == 32
    first, second = parse_master_key(text, source="x"), parse_master_key(f"  {text}\n", source="x")
    assert first == second
    assert first.key_id == second.key_id
    assert len(first.key_id) == 16
    assert parse_master_key(text.rstrip("="), source="x") == first


def test_generated_keys_differ() -> None:
    """Two generated keys are different keys with different ids."""
    a, b = (parse_master_key(generate_master_key(), source="x") for _ in range(2))
    assert a != b
    assert a.key_id != b.key_id


@pytest.mark.parametrize("text", ["", "not base64!!", base64.urlsafe_b64encode(b"short").decode(),
                                  base64.urlsafe_b64encode(b"k" * 33).decode()])
def test_a_malformed_key_is_refused_without_echoing_it(text: str) -> None:
    """A key that is not 32 bytes of base64 is a ConfigError naming the source, not the text."""
    with pytest.raises(ConfigError, match="BOLTZ_MASTER_KEY is not a master key") as caught:
        parse_master_key(text, source="BOLTZ_MASTER_KEY")
    if text:
        assert text not in str(caught.value)


def test_a_key_list_skips_blanks_and_names_the_bad_entry() -> None:
    """A comma-separated list ignores blank entries and names the position of a malformed one."""
    a, b = generate_master_key(), generate_master_key()
    assert [k.key_id for k in parse_master_keys(f"{a}, ,{b},", source="L")] == [
        parse_master_key(a, source="x").key_id, parse_master_key(b, source="x").key_id]
    with pytest.raises(ConfigError, match="entry 2 of L"):
        parse_master_keys(f"{a},oops", source="L")


def test_load_or_create_makes_a_private_file_once(tmp_path: Path) -> None:
    """The development key file is created with mode 0600 on first use and reused afterwards."""
    path = tmp_path / "var" / "master.key"
    created = load_or_create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key_file(path) == created
    assert not [p for p in path.parent.iterdir() if p.name != "master.key"]


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    """Many concurrent first uses of the key file all end up with the same key."""
    path = tmp_path / "master.key"
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: load_or_create_key_file(path).key_id, range(16)))
    assert len(ids) == 1


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    """The development key file must stay private: a group- or world-readable one is refused."""
    path = tmp_path / "master.key"
    load_or_create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        load_or_create_key_file(path)


def test_create_key_file_never_overwrites(tmp_path: Path) -> None:
    """`create_key_file` writes a new private key file and refuses to replace an existing one."""
    path = tmp_path / "new.key"
    key = create_key_file(path)
    assert parse_master_key(path.read_text(), source="x") == key
    with pytest.raises(ConfigError, match="already exists"):
        create_key_file(path)
    assert parse_master_key(path.read_text(), source="x") == key


def test_load_keyring_takes_the_configured_primary_and_previous_keys(tmp_path: Path) -> None:
    """BOLTZ_MASTER_KEY or the key file is the primary; previous keys follow without duplicates."""
    primary, old = generate_master_key(), generate_master_key()
    ring = load_keyring(master_key=Secret(primary), master_key_file=None,
                        previous=Secret(f"{old},{primary},{old}"))
    assert ring.key_ids == tuple(parse_master_key(k, source="x").key_id for k in (primary, old))
    path = tmp_path / "k"
    path.write_text(primary + "\n")
    assert load_keyring(master_key=None, master_key_file=path, previous=None).primary == ring.primary


def test_load_keyring_refuses_ambiguous_or_missing_configuration(tmp_path: Path) -> None:
    """Both a key and a key file, or neither without a development file, are configuration errors."""
    key = Secret(generate_master_key())
    with pytest.raises(ConfigError, match="not both"):
        load_keyring(master_key=key, master_key_file=tmp_path / "k", previous=None)
    with pytest.raises(ConfigError, match="no master key"):
        load_keyring(master_key=None, master_key_file=None, previous=None)
    with pytest.raises(ConfigError, match="cannot read BOLTZ_MASTER_KEY_FILE"):
        load_keyring(master_key=None, master_key_file=tmp_path / "missing", previous=None)


def test_paper_mode_falls_back_to_the_development_key_file(tmp_path: Path) -> None:
    """With no key configured, the given development key file is created and used as the primary."""
    path = tmp_path / "var" / "master.key"
    ring = load_keyring(master_key=None, master_key_file=None, previous=None, dev_key_file=path)
    assert path.is_file()
    assert load_keyring(master_key=None, master_key_file=None, previous=None,
                        dev_key_file=path).primary == ring.primary


def test_a_keyring_names_a_key_it_does_not_hold() -> None:
    """Looking up an unknown key id is a CredentialError naming that id."""
    ring = Keyring(parse_master_key(generate_master_key(), source="x"))
    with pytest.raises(CredentialError, match="0102030405060708 is not configured"):
        ring.find(bytes(range(1, 9)))


def test_settings_accept_previous_master_keys_and_keep_them_secret() -> None:
    """BOLTZ_PREVIOUS_MASTER_KEYS is a known setting whose value never shows in the settings' repr."""
    old = generate_master_key()
    settings = load_settings({"BOLTZ_PREVIOUS_MASTER_KEYS": f"{old},"})
    assert settings.previous_master_keys is not None
    assert settings.previous_master_keys.get_secret_value() == f"{old},"
    assert old not in repr(settings) + str(settings.model_dump())


def test_settings_refuse_a_malformed_previous_key_without_echoing_it() -> None:
    """A malformed entry in BOLTZ_PREVIOUS_MASTER_KEYS is one ConfigError line without the value."""
    with pytest.raises(ConfigError, match="invalid setting BOLTZ_PREVIOUS_MASTER_KEYS: entry 2") as caught:
        load_settings({"BOLTZ_PREVIOUS_MASTER_KEYS": f"{generate_master_key()},hunter2-not-a-key"})
    assert "hunter2" not in str(caught.value)
