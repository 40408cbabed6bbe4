"""The hash chain over a campaign's contributions (pure)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

GENESIS = "0" * 64


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 of the previous hash and the entry's canonical JSON (sorted keys, no spaces)."""
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=_default)
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


def _default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)
