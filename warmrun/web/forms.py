"""Input models of the API: parsed and bounded before any service sees them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

# The largest value of a 32-bit integer column (every id): past it PostgreSQL refuses the query
# (and past 2**63 SQLite cannot even bind the value), so an id past it can only name nothing.
MAX_INT = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_INT)]


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL: refused here rather than by the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class Page(Form):
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(20, ge=1, le=100)


class SignUp(Form):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    display_name: str = Field(min_length=1, max_length=64)
    compound_id: Id
    birth_year: int | None = Field(None, ge=1900, le=2100)
    public_board: bool = True


class Login(Form):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class TokenGrant(Login):
    name: str = Field("api", min_length=1, max_length=64)


class NewToken(Form):
    name: str = Field(min_length=1, max_length=64)


class PasswordChange(Form):
    old: str = Field(min_length=1, max_length=256)
    new: str = Field(min_length=1, max_length=256)


class Erase(Form):
    password: str = Field(min_length=1, max_length=256)


class Redeem(Form):
    reward_id: Id
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    slot: str | None = Field(None, max_length=32)
    slot_id: Id | None = None  # a dated slot, for a reward that has them
    choices: list[Id] = Field(default_factory=list, max_length=12)  # one per option group


class Review(Form):
    accept: bool
    note: str = Field("", max_length=500)


class BulkReview(Review):
    run_ids: list[Id] = Field(min_length=1, max_length=100)


class Code(Form):
    code: str = Field(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9]+$")


class Language(Form):
    lang: Literal["zh-CN", "en"]


class BoardQuery(Page):
    window: str = Field("campaign", pattern=r"^(campaign|week|month)$")
    metric: Literal["m", "pc", "pr"] = "m"


class RankQuery(Form):
    campaign: str = Field(min_length=1, max_length=64)
    window: str = Field("campaign", pattern=r"^(campaign|week|month)$")


class NewReward(Form):
    compound_id: Id
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = Field(min_length=1, max_length=128)
    points_price: int = Field(ge=0, le=1_000_000)  # 0: a free service only
    stock: int = Field(ge=0, le=1_000_000)
    needs_slot: bool = False
    kind: Literal["goods", "service"] = "goods"
    cancel_hours: int = Field(0, ge=0, le=168)


class Restock(Form):
    add: int = Field(ge=1, le=1_000_000)


Code64 = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


class NewCity(Form):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name_zh: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=64)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class NewCompound(Form):
    city_id: Id
    name: str = Field(min_length=1, max_length=128)
    households: int = Field(ge=0, le=1_000_000)


class NewPartner(Form):
    name: str = Field(min_length=1, max_length=128)


class NewItem(Form):
    code: str = Code64
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = Field(min_length=1, max_length=128)
    unit_price_fen: int = Field(ge=1, le=10**10)


class BundleLine(Form):
    goods_id: Id
    quantity: int = Field(1, ge=1, le=1000)


class NewBundle(Form):
    code: str = Code64
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = Field(min_length=1, max_length=128)
    price_fen: int = Field(ge=1, le=10**10)
    lines: list[BundleLine] = Field(min_length=1, max_length=50)


class CityGoal(Form):
    city_id: Id
    goal_fen: int = Field(0, ge=0, le=10**12)


class NewCampaign(Form):
    code: str = Code64
    name: str = Field(min_length=1, max_length=200)
    partner_id: Id
    goods_id: Id
    starts_on: date
    ends_on: date
    cities: list[CityGoal] = Field(min_length=1, max_length=100)
    settlement_mode: Literal["first_come", "pro_rata"] = "first_come"


class Rule(Form):
    fen: int = Field(ge=0, le=1_000_000)
    per: int = Field(ge=1, le=1_000_000)
    basis: Literal["metres", "kcal"] = "metres"
    daily_cap_fen: int | None = Field(None, ge=0, le=10**9)
    # Runs that start from this moment on are credited under the new terms (default: now).
    effective_from: AwareDatetime | None = None


class PointsRuleForm(Form):
    points_per_km: int = Field(ge=0, le=10_000)
    points_per_run: int = Field(0, ge=0, le=10_000)
    daily_cap: int | None = Field(None, ge=0, le=10**6)
    # Points lapse this many days after they were earned, oldest first (none: never).
    expire_after_days: int | None = Field(None, ge=1, le=3650)
    expiry_notice_days: int = Field(14, ge=0, le=365)


class Pledge(Form):
    sponsor: str = Field(min_length=1, max_length=128)
    cap_fen: int = Field(ge=1, le=10**12)
    priority: int = Field(0, ge=0, le=1000)


class NewStaff(Form):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    role: Literal["partner", "organizer", "desk", "admin"]
    partner_id: Id | None = None
    city_ids: list[Id] = Field(default_factory=list, max_length=100)
    compound_ids: list[Id] = Field(default_factory=list, max_length=200)


class Donation(Form):
    amount_fen: int | None = Field(None, ge=1, le=10**9)
    warm_packs: int | None = Field(None, ge=1, le=100)
    name: str = Field("", max_length=64)
    # A key of the client's choosing: the same key returns the same payment.
    key: str | None = Field(None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class PledgeCheckout(Form):
    kind: Literal["prepay", "settle"]


class SessionQuery(Form):
    session_id: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_]+$")


class NewEvent(Form):
    city_id: Id
    name: str = Field(min_length=1, max_length=128)
    day: date
    place: str = Field("", max_length=200)
    credit_mode: Literal["flat", "route"] = "flat"
    participant_fen: int = Field(0, ge=0, le=10**7)


# A route's name, group and sport; the page's form sends its GPX as a file.
class RouteFields(Form):
    name: str = Field(min_length=1, max_length=128)
    group: Literal["family", "senior", "adult"]
    sport: Literal["run", "walk"] = "run"


class NewRoute(RouteFields):
    gpx: str = Field(min_length=1, max_length=2 * 1024 * 1024)


class NewStation(Form):
    name: str = Field(min_length=1, max_length=128)
    points: int = Field(0, ge=0, le=10_000)


class ScanCheckIn(Form):
    token: str = Field(min_length=1, max_length=200)
    for_resident_id: Id | None = None


class StaffCheckIn(Form):
    station_id: Id
    member_code: str = Field(min_length=3, max_length=20)


class NewBadge(Form):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9-]+$")
    name_zh: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=64)
    kind: Literal[
        "first_run",
        "distance_km",
        "first_check_in",
        "all_stations",
        "all_cities",
        "family_run",
        "early_bird",
        "streak_weeks",
    ]
    threshold: int = Field(1, ge=0, le=100_000)
    points: int = Field(0, ge=0, le=10_000)


class ReportQuery(Form):
    # Export headers: Chinese (for finance staff in China) unless English is asked for.
    lang: Literal["zh", "en"] = "zh"


class CardQuery(Form):
    campaign: str = Field(min_length=1, max_length=64)


class NewChallenge(Form):
    name: str = Field(min_length=1, max_length=128)
    compound_ids: list[Id] = Field(min_length=2, max_length=50)
    starts_on: date
    ends_on: date
    target_m_per_household: int = Field(ge=1, le=10**7)
    person_cap_m: int | None = Field(None, ge=1, le=10**7)
    points_per_km: int = Field(0, ge=0, le=1000)
    weekly_cap_m: int = Field(20_000, ge=0, le=10**7)
    decline_permille: int = Field(500, ge=0, le=1000)


class ZoneIn(Form):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: int = Field(ge=100, le=1000)


class PrivacySettings(Form):
    """What of a resident's tracks others may not see (API and account page alike)."""

    radius_m: int = Field(200, ge=200, le=2000)
    zones: list[ZoneIn] = Field(default_factory=list, max_length=5)


class ConsistencyQuery(Form):
    # ``from``: the size of the checkpoint the caller kept; ``to``: a checkpoint's number
    # (the latest when absent).
    from_: int = Field(alias="from", ge=1, le=MAX_INT)
    to: int | None = Field(None, ge=1, le=MAX_INT)


class ProofQuery(Form):
    campaign: str = Field(min_length=1, max_length=64)


class Households(Form):
    """A compound's registered households, corrected (the set-up API and the households page)."""

    households: int = Field(ge=0, le=1_000_000)


class Invite(Form):
    """A one-time link for a new member of staff: an organizer's cities, a desk clerk's
    compounds, or the charity partner a partner's staff work for."""

    email: str = Field(min_length=3, max_length=254)
    role: Literal["organizer", "desk", "partner"]
    places: list[Id] = Field(default_factory=list, max_length=200)
    partner_id: Id | None = None


class AcceptInvitation(Form):
    password: str = Field(min_length=1, max_length=256)


class AuditQuery(Page):
    campaign: str | None = Field(None, max_length=64)
    action: str | None = Field(None, max_length=32)
    actor: str | None = Field(None, max_length=254)
    since: date | None = None
    until: date | None = None  # inclusive: entries made on that day are shown
    lang: Literal["zh", "en"] = "zh"  # the CSV's headers


class Confirmed(Form):
    """A step that cannot be undone: the request says it knows."""

    confirm: bool = False


class NewChild(Form):
    """A child in the guardian's care: a display name (never shown on public boards), the
    birth year, and the guardian's consent to the child's runs being kept."""

    display_name: str = Field(min_length=1, max_length=64)
    birth_year: int = Field(ge=1900, le=2100)
    consent: bool = False


class Grant(Form):
    """Points for volunteering or a winter-care visit, once per ``ref``."""

    member: str = Field(min_length=1, max_length=254)  # a member code or the resident's e-mail
    points: int = Field(ge=1, le=10_000)
    reason: Literal["volunteer", "winter_care", "event_help", "other"]
    note: str = Field("", max_length=200)
    ref: str = Field(min_length=1, max_length=64)


class Adjustment(Form):
    member: str = Field(min_length=1, max_length=254)
    delta: int = Field(ge=-10_000, le=10_000)
    note: str = Field(min_length=1, max_length=200)
    ref: str = Field(min_length=1, max_length=64)  # the request's own id: sent twice, done once


class FiguresQuery(Form):
    city: int | None = Field(None, ge=1, le=MAX_INT)
    compound: int | None = Field(None, ge=1, le=MAX_INT)
    lang: Literal["zh", "en"] = "zh"  # the CSV's headers


class NewRating(Form):
    subject: Literal["redemption", "event"]
    subject_id: Id
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=500)
