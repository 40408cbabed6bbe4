"""Signed codes printed or shown at the event: station check-in tokens and residents'
member codes (for staff checking in a resident without a phone)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, URLSafeSerializer

from warmrun.platform import clock
from warmrun.platform.errors import InvalidInput, InvalidStationCode
from warmrun.platform.events import EventView

# A station code works from the start of the event day until this long after it ends (the
# clean-up after an evening event), in the campaign's timezone.
GRACE = timedelta(hours=2)


def _stations(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="warmrun.station")


def station_token(secret: str, *, station_id: int, event: EventView, tz: str) -> str:
    end = datetime.combine(event.day + timedelta(days=1), time.min, ZoneInfo(tz)) + GRACE
    return str(_stations(secret).dumps([station_id, event.id, int(end.timestamp())]))


def read_station_token(secret: str, token: str) -> tuple[int, int]:
    """(station id, event id) of a genuine, unexpired token; InvalidStationCode otherwise."""
    if not token or len(token) > 200:
        raise InvalidStationCode()
    try:
        value = _stations(secret).loads(token)
    except BadSignature:
        raise InvalidStationCode() from None
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, int) for v in value)):
        raise InvalidStationCode()
    station_id, event_id, expires = value
    if clock.now().timestamp() > expires:
        raise InvalidStationCode()
    return station_id, event_id


def member_code(secret: str, resident_id: int) -> str:
    """A short code a resident shows (or says) to staff: the id and a 4-digit check."""
    mac = hmac.new(secret.encode(), f"member:{resident_id}".encode(), hashlib.sha256).digest()
    check = int.from_bytes(mac[:4], "big") % 10_000
    return f"{resident_id}-{check:04d}"


def read_member_code(secret: str, code: str) -> int:
    head, _, _ = code.strip().partition("-")
    if not head.isdigit() or len(head) > 9 or member_code(secret, int(head)) != code.strip():
        raise InvalidInput("member_code", "not a valid member code", "会员码无效")
    return int(head)
