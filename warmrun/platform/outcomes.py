"""What became of an upload, in the words a resident reads (pure, no I/O).

Every case a resident can meet is a :class:`Kind`; an :class:`Outcome` is a kind with what its
sentence names: the campaigns and what each credited, the daily caps that held a run back, the
plausibility rules behind a refusal or a review, the earlier run of a duplicate, the organizer's
note. ``outcome_texts.sentence`` says it in zh-CN and in English.

Crediting keeps why an accepted run counted nowhere, or for less, in ``Run.reasons`` as tokens
(:func:`token`: ``outside_dates:3``, ``daily_cap:3:500``); :func:`of_run` reads an outcome back
from the stored run, its credits and the campaigns its tokens name, so the upload's answer and
every later page say the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from warmrun.platform.kinds import CampaignState
from warmrun.platform.plausibility import Reason, Verdict

# The day a duplicate's earlier run is dated by, when no campaign's timezone applies.
DEFAULT_TZ = "Asia/Shanghai"


class Kind(StrEnum):
    """Every outcome of an upload a resident can meet."""

    CREDITED = "credited"
    # Caps never stand alone: they are limits of a credited outcome (the codes Run.reasons
    # holds; ``daily_cap`` is the code money caps always had).
    DAILY_MONEY_CAP = "daily_cap"
    DAILY_POINTS_CAP = "daily_points_cap"
    OUTSIDE_DATES = "outside_dates"
    CAMPAIGN_NOT_OPEN = "campaign_not_open"
    CAMPAIGN_CLOSED = "campaign_closed"
    NO_CAMPAIGN = "no_campaign"
    NOT_CREDITED = "not_credited"  # accepted before reasons were kept, and counted nowhere
    ALREADY_UPLOADED = "already_uploaded"
    DUPLICATE = "duplicate"
    IMPLAUSIBLE = "implausible"
    FILE_REFUSED = "file_refused"
    IN_REVIEW = "in_review"
    REVIEW_ACCEPTED = "review_accepted"
    REVIEW_REJECTED = "review_rejected"
    WITHDRAWN = "withdrawn"


class Status(StrEnum):
    """The three answers a list shows: counted, not counted, waiting for an organizer."""

    CREDITED = "credited"
    NOT_COUNTED = "not_counted"
    IN_REVIEW = "in_review"


# What crediting stores on a run (and replaces when it credits the run again).
CREDITING = frozenset(
    {
        Kind.DAILY_MONEY_CAP,
        Kind.DAILY_POINTS_CAP,
        Kind.OUTSIDE_DATES,
        Kind.CAMPAIGN_NOT_OPEN,
        Kind.CAMPAIGN_CLOSED,
        Kind.NO_CAMPAIGN,
    }
)
CAMPAIGN_REASONS = (Kind.CAMPAIGN_CLOSED, Kind.CAMPAIGN_NOT_OPEN, Kind.OUTSIDE_DATES)
# The run's reasons that are plausibility rules (each with its sentence and threshold); the
# others are told by the outcome's kind.
RULES = frozenset(r.value for r in Reason) - {
    Reason.REVIEWED.value,
    Reason.SOURCE_WITHDRAWN.value,
    Reason.DAILY_CAP.value,
}


@dataclass(frozen=True)
class Campaign:
    """A campaign as an outcome names it."""

    id: int
    name: str
    starts_on: date
    ends_on: date
    timezone: str = DEFAULT_TZ


@dataclass(frozen=True)
class Credited:
    """What a run brought to one campaign (net of reversals)."""

    campaign_id: int
    name: str
    metres: int
    kcal: int
    value_fen: int
    points: int


@dataclass(frozen=True)
class Limit:
    """A daily cap that held a credited run back in one campaign: ``cap`` in fen or points
    (None: not recorded), ``got`` what the run still earned there."""

    kind: Kind
    campaign: str
    cap: int | None
    got: int


@dataclass(frozen=True)
class Outcome:
    """One upload's (or stored run's) outcome: its kind and what its sentence names."""

    kind: Kind
    credits: tuple[Credited, ...] = ()
    limits: tuple[Limit, ...] = ()
    rules: tuple[str, ...] = ()  # plausibility reasons (Reason values) behind it
    campaign: Campaign | None = None  # the campaign a dates or state reason names
    day: date | None = None  # the run's day there, or the earlier run's day
    run_id: int | None = None  # the earlier run (duplicate, the same file again)
    note: str = ""  # the organizer's note after review
    refusal: tuple[str, str] = ("", "")  # why the file was refused: (zh-CN, en)
    code: str = ""  # the refusal's error code
    after: Outcome | None = None  # after review, or of the run a file already made

    @property
    def status(self) -> Status:
        if self.after is not None:
            return self.after.status
        if self.kind is Kind.IN_REVIEW:
            return Status.IN_REVIEW
        return Status.CREDITED if self.credits else Status.NOT_COUNTED

    @property
    def counted(self) -> tuple[Credited, ...]:
        return self.after.counted if self.after is not None else self.credits

    @property
    def credited_m(self) -> int:
        return max((c.metres for c in self.counted), default=0)

    @property
    def kcal(self) -> int:
        """As the campaigns count it (what "My impact" adds up)."""
        return max((c.kcal for c in self.counted), default=0)

    @property
    def points(self) -> int:
        return sum(c.points for c in self.counted)

    @property
    def value_fen(self) -> int:
        return sum(c.value_fen for c in self.counted)


def token(kind: Kind, *numbers: int) -> str:
    """A crediting reason as ``Run.reasons`` keeps it: the kind, then its campaign (and cap)."""
    return ":".join([kind.value, *(str(n) for n in numbers)])


def parse(reason: str) -> tuple[str, list[int]]:
    """A stored reason's code and numbers (``daily_cap:3:500`` → ``("daily_cap", [3, 500])``)."""
    code, *rest = reason.split(":")
    return code, [int(n) for n in rest if n.lstrip("-").isdigit()]


def campaign_ids(reasons: Sequence[str]) -> set[int]:
    """The campaigns a run's stored reasons name."""
    return {n[0] for code, n in map(parse, reasons) if code in CREDITING and n}


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


# --- crediting: why an accepted run counts nowhere -----------------------------------------------


@dataclass(frozen=True)
class Placement:
    """A campaign of the resident's city as crediting sees one run: its state, its dates and
    the run's day in its timezone."""

    campaign_id: int
    state: str
    starts_on: date
    ends_on: date
    day: date

    @property
    def in_dates(self) -> bool:
        return self.starts_on <= self.day <= self.ends_on

    @property
    def counts(self) -> bool:
        return self.state == CampaignState.ACTIVE.value and self.in_dates

    @property
    def days_away(self) -> int:
        return max((self.starts_on - self.day).days, (self.day - self.ends_on).days, 0)


def not_counted(campaigns: Sequence[Placement]) -> str:
    """The reason token of an accepted run that counts in none of ``campaigns``: a campaign
    whose dates hold the run but that is closed (or not open yet) says so; otherwise the
    nearest campaign by date (open ones first) names the dates the run missed."""
    if not campaigns:
        return token(Kind.NO_CAMPAIGN)
    dated = [c for c in campaigns if c.in_dates]
    for state, kind in (
        (CampaignState.CLOSED, Kind.CAMPAIGN_CLOSED),
        (CampaignState.SETTLED, Kind.CAMPAIGN_CLOSED),
        (CampaignState.DRAFT, Kind.CAMPAIGN_NOT_OPEN),
    ):
        for c in dated:
            if c.state == state.value:
                return token(kind, c.campaign_id)
    nearest = min(
        campaigns,
        key=lambda c: (c.state != CampaignState.ACTIVE.value, c.days_away, -c.campaign_id),
    )
    return token(Kind.OUTSIDE_DATES, nearest.campaign_id)


# --- reading an outcome back -------------------------------------------------------------------


def of_run(
    *,
    verdict: str,
    reasons: Sequence[str],
    review_note: str,
    started_at: datetime | None,
    credits: Sequence[Credited],
    campaigns: Mapping[int, Campaign],
) -> Outcome:
    """The outcome of a stored run: its verdict, its reasons (plausibility, review, source,
    crediting), what its campaigns credited (net) and the campaigns its reasons name."""
    rules = tuple(r for r in reasons if r in RULES)
    reviewed = Reason.REVIEWED.value in reasons
    if verdict == Verdict.FLAGGED.value:
        return Outcome(Kind.IN_REVIEW, rules=rules)
    if Reason.SOURCE_WITHDRAWN.value in reasons:
        return Outcome(Kind.WITHDRAWN)
    if verdict == Verdict.REJECTED.value:
        if reviewed:
            return Outcome(Kind.REVIEW_REJECTED, rules=rules, note=review_note)
        return Outcome(Kind.IMPLAUSIBLE, rules=rules)
    result = _credited(reasons, credits, campaigns, started_at)
    if reviewed:
        return Outcome(Kind.REVIEW_ACCEPTED, note=review_note, after=result)
    return result


def _credited(
    reasons: Sequence[str],
    credits: Sequence[Credited],
    campaigns: Mapping[int, Campaign],
    started_at: datetime | None,
) -> Outcome:
    counted = tuple(c for c in credits if c.metres > 0)
    if counted:
        return Outcome(Kind.CREDITED, credits=counted, limits=_limits(reasons, counted))
    for code, numbers in map(parse, reasons):
        campaign = campaigns.get(numbers[0]) if numbers else None
        if code in CAMPAIGN_REASONS and campaign is not None:
            day = local_day(started_at, campaign.timezone) if started_at else None
            return Outcome(Kind(code), campaign=campaign, day=day)
        if code == Kind.NO_CAMPAIGN.value:
            return Outcome(Kind.NO_CAMPAIGN)
    return Outcome(Kind.NOT_CREDITED)


def _limits(reasons: Sequence[str], counted: Sequence[Credited]) -> tuple[Limit, ...]:
    by_id = {c.campaign_id: c for c in counted}
    out: list[Limit] = []
    for code, numbers in map(parse, reasons):
        if code not in (Kind.DAILY_MONEY_CAP.value, Kind.DAILY_POINTS_CAP.value):
            continue
        # A bare "daily_cap" was kept before caps named their campaign: the first one.
        c = by_id.get(numbers[0]) if numbers else counted[0]
        if c is None:
            continue
        kind = Kind(code)
        got = c.value_fen if kind is Kind.DAILY_MONEY_CAP else c.points
        out.append(Limit(kind, c.name, numbers[1] if len(numbers) > 1 else None, got))
    return tuple(out)


def of_existing(run_id: int, started_at: datetime | None, run: Outcome) -> Outcome:
    """The same file uploaded again: nothing new, and what its run became."""
    day = local_day(started_at, DEFAULT_TZ) if started_at else None
    return Outcome(Kind.ALREADY_UPLOADED, run_id=run_id, day=day, after=run)


def of_refusal(code: str, zh: str, en: str, params: Mapping[str, object]) -> Outcome:
    """A file that stored no run: the same run as an earlier one, or refused (the reader's or
    the service's reason, in both languages)."""
    if code == "duplicate_run" and isinstance(params.get("run_id"), int):
        started = params.get("started_at")
        day = local_day(started, DEFAULT_TZ) if isinstance(started, datetime) else None
        return Outcome(Kind.DUPLICATE, run_id=int(str(params["run_id"])), day=day)
    return Outcome(Kind.FILE_REFUSED, refusal=(zh, en), code=code)
