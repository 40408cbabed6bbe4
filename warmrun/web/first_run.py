"""The first-run link: how an install without an administrator gets its first one.

`warmrun serve` (and `warmrun admin first-run-link`) write the SHA-256 of a fresh random token
to ``$WARMRUN_HOME/first-run-token`` (mode 0600) and print ``/first-run?token=…``. Whoever
holds the link (the person who started the server) can create the first admin on that page,
once: the file is removed then, and the page refuses as soon as any admin exists. Only the
digest is stored, so reading the file does not give the link away.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

FILE = "first-run-token"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(home: Path) -> str:
    """A new token (replacing any earlier one); returns it for the link."""
    token = secrets.token_urlsafe(24)
    home.mkdir(parents=True, exist_ok=True)
    path = home / FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(_digest(token))
    return token


def valid(home: Path, token: str) -> bool:
    try:
        stored = (home / FILE).read_text().strip()
    except OSError:
        return False
    return bool(token) and hmac.compare_digest(stored, _digest(token))


def clear(home: Path) -> None:
    (home / FILE).unlink(missing_ok=True)
