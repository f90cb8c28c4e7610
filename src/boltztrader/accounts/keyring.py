"""Master keys for the credential vault: parsing, ids, the keyring, and key files.

A master key is 32 random bytes written as urlsafe base64 (``boltz keys generate`` prints one).
Its id is the first 8 bytes of its SHA-256, so a stored blob can name the key that wraps it
without revealing anything about the key. The keyring holds one primary key, which wraps every
new data key, and any number of previous keys, which only unwrap: rotation configures the new
primary with the old key as previous, re-wraps every blob, then drops the old key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from boltztrader.domain.secrets import Secret
from boltztrader.errors import ConfigError, CredentialError

KEY_BYTES = 32
KEY_ID_BYTES = 8
NONCE_BYTES = 12
# Where paper and development mode keep a generated key when none is configured; ``var/`` is
# ignored by git, like the embedded database.
DEV_KEY_FILE = Path("var/master.key")
KEY_FORMAT_HINT = "expected 32 bytes in urlsafe base64, as `boltz keys generate` prints"


class MasterKey:
    """One master key. Its bytes never leave this object: it wraps and unwraps data keys itself."""

    __slots__ = ("_material", "id_bytes")

    def __init__(self, material: bytes) -> None:
        if len(material) != KEY_BYTES:
            raise ConfigError(f"a master key is {KEY_BYTES} bytes, not {len(material)}")
        self._material = material
        self.id_bytes = hashlib.sha256(material).digest()[:KEY_ID_BYTES]

    @property
    def key_id(self) -> str:
        """The key's public id as hex: safe to print, log and store."""
        return self.id_bytes.hex()

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[bytes, bytes]:
        """Encrypt ``data_key`` under this key; returns (nonce, wrapped key with its tag)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce, AESGCM(self._material).encrypt(nonce, data_key, aad)

    def unwrap(self, nonce: bytes, wrapped: bytes, aad: bytes) -> bytes | None:
        """The data key, or None when the wrapped key or its associated data do not authenticate."""
        try:
            return AESGCM(self._material).decrypt(nonce, wrapped, aad)
        except InvalidTag:
            return None

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MasterKey) and other._material == self._material

    def __hash__(self) -> int:
        return hash(self.id_bytes)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("master keys are not pickled")


def generate_master_key() -> str:
    """A new random master key as the text that BOLTZ_MASTER_KEY or a key file holds."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_master_key(text: str, *, source: str) -> MasterKey:
    """The key written in ``text``; ConfigError naming ``source`` (never the text) when malformed."""
    cleaned = text.strip()
    try:
        material = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{source} is not a master key: {KEY_FORMAT_HINT}") from None
    if len(material) != KEY_BYTES:
        raise ConfigError(f"{source} is not a master key: {KEY_FORMAT_HINT}")
    return MasterKey(material)


def parse_master_keys(text: str, *, source: str) -> tuple[MasterKey, ...]:
    """The keys in a comma-separated list; blank entries are ignored."""
    entries = [entry for entry in text.split(",") if entry.strip()]
    return tuple(parse_master_key(entry, source=f"entry {n} of {source}")
                 for n, entry in enumerate(entries, start=1))


def read_key_file(path: Path, *, source: str) -> MasterKey:
    """The key held in the file at ``path``."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a text file"
        raise ConfigError(f"cannot read {source} {path}: {reason}") from None
    return parse_master_key(text, source=f"{source} {path}")


def create_key_file(path: Path) -> MasterKey:
    """Write a new master key to a new file that only its owner can read; never replaces a file."""
    key_text = generate_master_key()
    if not _write_new_private_file(path, key_text + "\n"):
        raise ConfigError(f"{path} already exists: a master key file is never overwritten")
    return parse_master_key(key_text, source=f"key file {path}")


def load_or_create_key_file(path: Path) -> MasterKey:
    """The key in ``path``; the file is created first (mode 0600) when it does not exist.

    For paper and development mode, so that a fresh checkout runs without configuration. The
    file must stay private: one that others can read is refused rather than silently trusted.
    """
    _write_new_private_file(path, generate_master_key() + "\n")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"key file {path} is readable by other users (mode {mode:04o}): chmod 600 it")
    return read_key_file(path, source="key file")


def _write_new_private_file(path: Path, content: str) -> bool:
    """Create ``path`` atomically with mode 0600; False (and nothing written) if it already exists."""
    temporary = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, content.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        # A hard link appears complete or not at all, and fails if the name is taken: two
        # processes starting at once agree on one key and nobody ever reads half a file.
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        _fsync_directory(path.parent)
        return True
    except OSError as exc:
        raise ConfigError(f"cannot create key file {path}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Keyring:
    """The primary key (wraps new data keys) and previous keys (unwrap only), without duplicates."""

    primary: MasterKey
    previous: tuple[MasterKey, ...] = ()

    def __post_init__(self) -> None:
        seen = {self.primary.id_bytes}
        unique = []
        for key in self.previous:
            if key.id_bytes not in seen:
                seen.add(key.id_bytes)
                unique.append(key)
        object.__setattr__(self, "previous", tuple(unique))

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key's id, the primary's first."""
        return (self.primary.key_id, *(key.key_id for key in self.previous))

    def find(self, id_bytes: bytes) -> MasterKey:
        """The key with this id; CredentialError when this keyring does not hold it."""
        for key in (self.primary, *self.previous):
            if key.id_bytes == id_bytes:
                return key
        raise CredentialError(
            f"master key {id_bytes.hex()} is not configured (this process holds {', '.join(self.key_ids)}): "
            "add it to BOLTZ_PREVIOUS_MASTER_KEYS"
        )


def load_keyring(*, master_key: Secret | None, master_key_file: Path | None, previous: Secret | None,
                 dev_key_file: Path | None = None) -> Keyring:
    """The keyring as configured: BOLTZ_MASTER_KEY or BOLTZ_MASTER_KEY_FILE is the primary.

    With neither set, ``dev_key_file`` (paper mode only; the caller decides) is loaded or created.
    """
    if master_key is not None and master_key_file is not None:
        raise ConfigError("set BOLTZ_MASTER_KEY or BOLTZ_MASTER_KEY_FILE, not both")
    if master_key is not None:
        primary = parse_master_key(master_key.reveal(), source="BOLTZ_MASTER_KEY")
    elif master_key_file is not None:
        primary = read_key_file(master_key_file, source="BOLTZ_MASTER_KEY_FILE")
    elif dev_key_file is not None:
        primary = load_or_create_key_file(dev_key_file)
    else:
        raise ConfigError("no master key: set BOLTZ_MASTER_KEY or BOLTZ_MASTER_KEY_FILE")
    old = parse_master_keys(previous.reveal(), source="BOLTZ_PREVIOUS_MASTER_KEYS") if previous else ()
    return Keyring(primary, old)
