"""The signed-in account as the services hand it to the web: plain values, no ORM row."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING

from warmrun.platform.kinds import Role

if TYPE_CHECKING:
    from warmrun.platform.models import Account


@dataclass(frozen=True)
class Identity:
    """A signed-in account as services hand it out: no password hash, no database row."""

    id: int
    email: str
    role: Role
    resident_id: int | None
    partner_id: int | None
    locale: str
    session_epoch: int  # carried in session cookies and CSRF bindings
    created_at: datetime

    @classmethod
    def of(cls, a: Account) -> Identity:
        return cls(**{f.name: getattr(a, f.name) for f in fields(cls)})
