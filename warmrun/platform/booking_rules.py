"""Pure rules of bookings: dated pickup windows in a compound's local time, the options a
resident chooses, and until when a booking may be cancelled.

Windows are set in local time (the compound's city, Asia/Shanghai by default) and stored in
UTC; a window never crosses midnight (a desk's day is one local day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from warmrun.platform.errors import InvalidInput

MAX_DAYS = 14  # daily slots made in one go: two weeks
MAX_CAPACITY = 1000  # bookings one window can take
MAX_CANCEL_HOURS = 168  # a week: the CHECK constraint reward_cancel_ck holds the same bound
MAX_GROUPS = 4  # questions per reward (flavour, hot or warm ...)
MAX_CHOICES = 12  # answers per question
AHEAD_DAYS = 366  # how far ahead slots may be opened
LEGACY_SLOTS = ("07:00-09:00", "09:00-11:00", "16:00-18:00", "18:00-20:00")


@dataclass(frozen=True)
class Window:
    starts_at: datetime  # aware, UTC
    ends_at: datetime


def windows(
    *, day: date, starts: time, ends: time, days: int, capacity: int, tz: str, now: datetime
) -> list[Window]:
    """``days`` daily windows from ``day``, ``starts``–``ends`` in local time ``tz``.

    Refused: an end not after the start, more days or places than allowed, a day more than
    a year ahead, and a first window that is already over (the later ones are later still).
    Times are wall-clock minutes: an offset or seconds given with them are dropped."""
    starts, ends = (t.replace(tzinfo=None, second=0, microsecond=0) for t in (starts, ends))
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput("days", f"from 1 to {MAX_DAYS}", f"须为 1 至 {MAX_DAYS} 天")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidInput("capacity", f"from 1 to {MAX_CAPACITY}", f"须为 1 至 {MAX_CAPACITY}")
    if ends <= starts:
        raise InvalidInput("ends", "must be after the start", "须晚于开始时间")
    if not -1 <= (day - now.date()).days <= AHEAD_DAYS:
        raise InvalidInput("day", "from today to a year ahead", "须在今天至一年之内")
    zone = ZoneInfo(tz)
    out = [
        Window(
            datetime.combine(d, starts, zone).astimezone(UTC),
            datetime.combine(d, ends, zone).astimezone(UTC),
        )
        for d in (day + timedelta(days=n) for n in range(days))
    ]
    if out[0].ends_at <= now:
        raise InvalidInput("day", "that time is already over", "该时段已经过去")
    return out


def label(starts_at: datetime, ends_at: datetime, tz: str) -> str:
    """A window as residents and the desk read it, in local time: ``2025-11-03 07:00-09:00``
    (at most 22 characters: it also fills a redemption's ``slot`` text)."""
    zone = ZoneInfo(tz)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}"


def local_text(moment: datetime, tz: str) -> str:
    """A moment in local time, to the minute: ``2025-11-03 05:00``."""
    return f"{moment.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends at."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def cancel_until(starts_at: datetime, cancel_hours: int) -> datetime:
    """The last moment a booking of a slot starting at ``starts_at`` may be cancelled."""
    return starts_at - timedelta(hours=cancel_hours)


def legacy_slot(text: str | None, *, needs_slot: bool) -> str | None:
    """A reward without dated slots: the resident may name one of the daily pickup times
    (rewards that need a slot), or none; anything else is refused."""
    text = (text or "").strip()
    if not text:
        return None
    if not needs_slot or text not in LEGACY_SLOTS:
        raise InvalidInput("slot", "not one of the pickup times", "不是可选的领取时间")
    return text


@dataclass(frozen=True)
class Choice:
    id: int
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Group:
    id: int
    name_zh: str
    name_en: str
    choices: tuple[Choice, ...]


def chosen(groups: list[Group], ids: list[int]) -> list[list[str]]:
    """The words of what a resident chose, one answer per group in the groups' order
    (``[group zh, group en, choice zh, choice en]``). Refused: a choice the reward does not
    offer, two answers to one question, a question left unanswered."""
    offered = {c.id: (g, c) for g in groups for c in g.choices}
    picked: dict[int, Choice] = {}
    for i in ids:
        if i not in offered:
            raise InvalidInput("choices", "a choice that is not offered", "所选选项不在可选范围内")
        group, choice = offered[i]
        if picked.get(group.id, choice) != choice:
            raise InvalidInput(
                "choices", f"one answer for {group.name_en}", f"{group.name_zh}只能选一项"
            )
        picked[group.id] = choice
    for g in groups:
        if g.id not in picked:
            raise InvalidInput("choices", f"please choose {g.name_en}", f"请选择{g.name_zh}")
    return [[g.name_zh, g.name_en, picked[g.id].name_zh, picked[g.id].name_en] for g in groups]


def option_group(
    name_zh: str, name_en: str, choices: list[tuple[str, str]], *, groups_now: int
) -> list[tuple[str, str]]:
    """A new question's answers, checked: some, not too many, none twice."""
    if groups_now >= MAX_GROUPS:
        raise InvalidInput("choices", f"at most {MAX_GROUPS} questions", f"最多 {MAX_GROUPS} 项")
    cleaned = [(zh.strip(), en.strip()) for zh, en in choices if zh.strip() or en.strip()]
    if not name_zh.strip() or not name_en.strip():
        raise InvalidInput("name", "both names are needed", "中英文名称都要填写")
    if not 1 <= len(cleaned) <= MAX_CHOICES:
        raise InvalidInput("choices", f"from 1 to {MAX_CHOICES}", f"须为 1 至 {MAX_CHOICES} 个")
    if any(not zh or not en for zh, en in cleaned):
        raise InvalidInput("choices", "each needs both names", "每个选项都要有中英文名称")
    if len({zh for zh, _ in cleaned}) != len(cleaned):
        raise InvalidInput("choices", "each only once", "选项不能重复")
    return cleaned
