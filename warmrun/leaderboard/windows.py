"""Campaign time for the boards: local days, window expiry, tie-break seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from warmrun.leaderboard import keys
from warmrun.platform import clock


@dataclass(frozen=True)
class CampaignClock:
    """What the relay and readers need to know about a campaign's calendar."""

    campaign_id: int
    timezone: str
    starts_on: date
    retention: timedelta
    _cache: dict[tuple[date, int], list[tuple[str, int]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def epoch(self) -> float:
        return datetime.combine(self.starts_on, time(0), ZoneInfo(self.timezone)).timestamp()

    def seconds(self, at: float) -> int:
        """Tie-break time: whole seconds since the campaign's first local midnight."""
        return int(at - self.epoch)

    def windows(self, day: date, now: datetime | None = None) -> list[tuple[str, int]]:
        """(window, expire-at) for a local day; the whole-campaign board never expires.

        A closed window's keys live on for ``retention`` after the window ends, or after now
        when a late entry (or a rebuild) writes to a window that closed long ago.
        """
        floor = (now or clock.now()).timestamp()
        cache_key = (day, int(floor) // 3600)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        tz = ZoneInfo(self.timezone)
        monday = day - timedelta(days=day.weekday())
        week_end = datetime.combine(monday + timedelta(days=7), time(0), tz)
        first = day.replace(day=1)
        next_month = (first + timedelta(days=32)).replace(day=1)
        month_end = datetime.combine(next_month, time(0), tz)
        result = [
            ("all", 0),
            (keys.week_window(day), self._expiry(week_end, floor)),
            (keys.month_window(day), self._expiry(month_end, floor)),
        ]
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[cache_key] = result
        return result

    def _expiry(self, end: datetime, floor: float) -> int:
        return int(max(end.timestamp(), floor) + self.retention.total_seconds())

    def current(self, now: datetime, window: str) -> str:
        """The key suffix of the current week or month (campaign-local), or "all"."""
        day = now.astimezone(ZoneInfo(self.timezone)).date()
        if window == "week":
            return keys.week_window(day)
        if window == "month":
            return keys.month_window(day)
        return "all"
