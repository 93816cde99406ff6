"""Envelope encryption: a master key wraps one data key per owner; data keys encrypt values.

Only `cryptography`'s AES-256-GCM and HKDF are used. Every ciphertext is `nonce || ct+tag`
with a fresh 96-bit random nonce, and associated data that binds it to where it belongs, so
a ciphertext copied to another row or owner fails to decrypt instead of yielding wrong data.
This module holds no SQL.
"""
from __future__ import annotations

import base64
import binascii
import os
import stat
from abc import abstractmethod
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from traitlets import Unicode
from traitlets.config import LoggingConfigurable

from .errors import IntegrityFailure, MasterKeyMismatch

KEY_BYTES = 32
NONCE_BYTES = 12
MASTER_KEY_ENV = "DX_MASTER_KEY"
_CHECK_PLAINTEXT = b"dx-jupyter master key check v1"
_CHECK_AAD = b"dx-master-check-v1"


class MasterKeyError(Exception):
    """The master key is missing, malformed or unreadable."""


def decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as err:
        raise MasterKeyError(f"{source} is not valid base64: {err}") from None
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"{source} must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


class MasterKeyProvider(LoggingConfigurable):
    """Where the master key comes from. Subclass it to fetch the key from a KMS."""

    @abstractmethod
    def get_master_key(self) -> bytes:
        """Return the 32-byte master key."""


class EnvOrFileMasterKeyProvider(MasterKeyProvider):
    """`DX_MASTER_KEY` (base64) if set, else a key file created on first use with mode 0600."""

    key_file = Unicode(
        "",
        config=True,
        help="Path of the master key file; default: master.key beside the SQLite database.",
    )

    def get_master_key(self) -> bytes:
        env = os.environ.get(MASTER_KEY_ENV)
        if env:
            return decode_key(env, f"${MASTER_KEY_ENV}")
        if not self.key_file:
            raise MasterKeyError(f"no master key: set ${MASTER_KEY_ENV} or a key file path")
        return self._read_or_create(Path(self.key_file))

    def _read(self, path: Path) -> bytes:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            self.log.warning("master key file %s is readable by others (mode %o)", path, mode)
        return decode_key(path.read_text(), f"master key file {path}")

    def _read_or_create(self, path: Path) -> bytes:
        if path.exists():
            return self._read(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = AESGCM.generate_key(bit_length=256)
        # Written whole to a private temporary file, then linked into place: two first starts
        # at once (server and CLI) agree on one key, and nobody reads a half-written file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(encode_key(key) + "\n")
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                return self._read(path)
        finally:
            tmp.unlink(missing_ok=True)
        self.log.info("created a new master key file %s (mode 0600); back it up", path)
        return key


def _aad(*parts: str) -> bytes:
    return b"\x00".join(p.encode("utf-8") for p in parts)


def secret_aad(scope: str, owner_id: str, name: str) -> bytes:
    return _aad("dx-secret-v1", scope, owner_id, name)


def secret_aad_prefix(scope: str, owner_id: str) -> bytes:
    """`secret_aad(scope, owner_id, name) == secret_aad_prefix(scope, owner_id) + name.encode()`."""
    return _aad("dx-secret-v1", scope, owner_id, "")


def data_key_aad(scope: str, owner_id: str) -> bytes:
    return _aad("dx-datakey-v1", scope, owner_id)


class Sealer:
    """`seal` under one key many times: the AES-GCM context is built once (bulk uploads)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return Sealer(key).seal(plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes, what: str) -> bytes:
    """Decrypt `seal`'s output; `what` names the object in the error."""
    if len(blob) < NONCE_BYTES + 16:
        raise IntegrityFailure(f"{what}: stored ciphertext is truncated")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise IntegrityFailure(
            f"{what}: ciphertext failed authentication (modified, moved to another row, "
            "or encrypted under another key)"
        ) from None


def derive_key(master_key: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=f"dx-jupyter {purpose}".encode()
    ).derive(master_key)


class Keyring:
    """Wraps and unwraps data keys with the master key; checks the master key is the right one."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise MasterKeyError(f"master key must be {KEY_BYTES} bytes")
        self._master = master_key

    @staticmethod
    def new_data_key() -> bytes:
        return AESGCM.generate_key(bit_length=256)

    def wrap(self, data_key: bytes, scope: str, owner_id: str) -> bytes:
        return seal(self._master, data_key, data_key_aad(scope, owner_id))

    def unwrap(self, wrapped: bytes, scope: str, owner_id: str) -> bytes:
        return open_sealed(
            self._master, wrapped, data_key_aad(scope, owner_id), f"data key of {scope} {owner_id}"
        )

    def make_check(self) -> bytes:
        return seal(self._master, _CHECK_PLAINTEXT, _CHECK_AAD)

    def verify_check(self, blob: bytes) -> None:
        try:
            ok = open_sealed(self._master, blob, _CHECK_AAD, "master key check") == _CHECK_PLAINTEXT
        except IntegrityFailure:
            ok = False
        if not ok:
            raise MasterKeyMismatch(
                "the configured master key is not the one this store is locked with (the key it "
                "was created with, or the new key of its latest rotation); "
                f"set ${MASTER_KEY_ENV} or the key file to that key (nothing was changed)"
            )

    def executor_key(self) -> bytes:
        """Key for run events when no separate executor key is configured."""
        return derive_key(self._master, "executor key v1")
