"""The site's Ed25519 key: it signs the checkpoints of every campaign's public log.

Kept in ``WARMRUN_HOME/ledger_key.pem`` (PKCS #8, readable by the owner only), created on
first start. Every process of one site reads the same file; the public half is published at
``/.well-known/warmrun-ledger-key``. Losing the file means new checkpoints carry a new key:
those made before stay checkable with the old public key, so keep a copy of it.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from warmrun.platform.errors import SigningKeyUnreadable
from warmrun.verify import key_id

KEY_FILE = "ledger_key.pem"


@dataclass(frozen=True)
class SiteKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        """The raw 32-byte public key."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def public_base64(self) -> str:
        return base64.b64encode(self.public).decode()

    @classmethod
    def generate(cls) -> SiteKey:
        return cls(Ed25519PrivateKey.generate())


def load_or_create(home: Path) -> SiteKey:
    """The key in ``home``, made on first use. The file appears whole or not at all (written
    aside, then linked into place), so processes starting together agree on one key."""
    path = home / KEY_FILE
    home.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SigningKeyUnreadable(path=str(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyUnreadable(path=str(path))
    os.chmod(path, 0o600)
    return SiteKey(key)


def _create(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
    finally:
        aside.unlink(missing_ok=True)
