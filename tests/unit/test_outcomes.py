"""Upload outcomes (pure): every kind a resident can meet has a zh-CN and an English sentence
naming its reason; a stored run reads back as the outcome crediting decided."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from warmrun.platform.earning import METRES, Terms, Today, earning
from warmrun.platform.errors import DuplicateRun, NotATrack
from warmrun.platform.ingest import refused
from warmrun.platform.kinds import CampaignState
from warmrun.platform.outcome_texts import KINDS, RULES, rule, sentence
from warmrun.platform.outcomes import (
    RULES as RULE_CODES,
)
from warmrun.platform.outcomes import (
    Campaign,
    Credited,
    Kind,
    Limit,
    Outcome,
    Placement,
    Status,
    not_counted,
    of_run,
    token,
)

WARM = Campaign(3, "暖冬行动", date(2025, 11, 1), date(2025, 12, 31))
CREDIT = Credited(3, "暖冬行动", metres=5234, kcal=325, value_fen=261, points=57)
STARTED = datetime(2025, 10, 20, 23, 30, tzinfo=UTC)  # 21 October in Shanghai


def example(kind: Kind) -> Outcome:
    """An outcome of ``kind`` with everything its sentence names."""
    cap = Limit(kind, "暖冬行动", 500, 120)
    examples = {
        Kind.CREDITED: Outcome(kind, credits=(CREDIT,)),
        Kind.DAILY_MONEY_CAP: Outcome(Kind.CREDITED, credits=(CREDIT,), limits=(cap,)),
        Kind.DAILY_POINTS_CAP: Outcome(Kind.CREDITED, credits=(CREDIT,), limits=(cap,)),
        Kind.OUTSIDE_DATES: Outcome(kind, campaign=WARM, day=date(2025, 10, 21)),
        Kind.CAMPAIGN_NOT_OPEN: Outcome(kind, campaign=WARM),
        Kind.CAMPAIGN_CLOSED: Outcome(kind, campaign=WARM),
        Kind.ALREADY_UPLOADED: Outcome(
            kind, run_id=12, day=date(2025, 11, 2), after=Outcome(Kind.CREDITED, credits=(CREDIT,))
        ),
        Kind.DUPLICATE: Outcome(kind, run_id=12, day=date(2025, 11, 2)),
        Kind.IMPLAUSIBLE: Outcome(kind, rules=("vehicle_speed",)),
        Kind.FILE_REFUSED: refused(NotATrack()),
        Kind.IN_REVIEW: Outcome(kind, rules=("shared_track",)),
        Kind.REVIEW_ACCEPTED: Outcome(
            kind, note="checked", after=Outcome(Kind.CREDITED, credits=(CREDIT,))
        ),
        Kind.REVIEW_REJECTED: Outcome(kind, note="by car"),
    }
    return examples.get(kind, Outcome(kind))


@pytest.mark.parametrize("kind", list(Kind))
def test_every_outcome_kind_has_a_chinese_and_an_english_sentence(kind: Kind) -> None:
    zh, en = KINDS[kind]
    assert zh.strip() and en.strip() and zh != en
    o = example(kind)
    said_zh, said_en = sentence(o, "zh-CN"), sentence(o, "en")
    assert said_zh and said_en and said_zh != said_en
    assert not re.search(r"[{}]", said_zh + said_en), "a placeholder was left unfilled"
    assert re.search(r"[\u4e00-\u9fff]", said_zh)
    assert not re.search(r"[\u4e00-\u9fff]", sentence(o, "en").replace("暖冬行动", ""))
    assert o.kind in KINDS


@pytest.mark.parametrize("code", sorted(RULE_CODES))
def test_every_plausibility_rule_says_why_in_both_languages(code: str) -> None:
    zh, en = rule(code, "zh-CN"), rule(code, "en")
    assert zh and en and zh != en and code not in (zh, en)


def test_rule_sentences_cover_exactly_the_rules_a_run_can_fail() -> None:
    assert set(RULES) == set(RULE_CODES)


def test_rules_name_their_thresholds() -> None:
    assert "21.6 km/h" in rule("vehicle_speed", "en") and "27.0 km/h" in rule("vehicle_speed", "en")
    assert "21.6 公里/小时" in rule("vehicle_speed", "zh-CN")
    assert "9.0 km/h" in rule("walk_too_fast", "en")
    assert "60 seconds" in rule("overlap", "en")


def test_a_credited_outcome_names_km_kcal_points_and_campaign() -> None:
    assert sentence(example(Kind.CREDITED), "zh-CN") == (
        "已计入“暖冬行动”：5.2 公里 · 325 千卡 · +57 积分。"
    )
    assert sentence(example(Kind.CREDITED), "en") == (
        "Credited to 暖冬行动: 5.2 km · 325 kcal · +57 points."
    )


def test_a_refused_file_says_the_readers_reason() -> None:
    o = refused(NotATrack())
    assert o.status is Status.NOT_COUNTED and o.code == "not_a_track"
    assert NotATrack().message("zh-CN") in sentence(o, "zh-CN")
    assert NotATrack().message("en") in sentence(o, "en")


def test_a_duplicate_names_the_earlier_run_and_its_day() -> None:
    o = refused(DuplicateRun(run_id=7, started_at=STARTED))
    assert o.kind is Kind.DUPLICATE and o.run_id == 7 and o.day == date(2025, 10, 21)
    assert "#7" in sentence(o, "en") and "21 Oct 2025" in sentence(o, "en")
    assert "2025年10月21日" in sentence(o, "zh-CN")


def place(cid: int, state: CampaignState, day: date) -> Placement:
    return Placement(cid, state.value, date(2025, 11, 1), date(2025, 12, 31), day)


def test_why_a_run_counts_nowhere() -> None:
    inside, before = date(2025, 11, 5), date(2025, 10, 5)
    assert not_counted([]) == "no_campaign"
    assert not_counted([place(3, CampaignState.CLOSED, inside)]) == "campaign_closed:3"
    assert not_counted([place(3, CampaignState.SETTLED, inside)]) == "campaign_closed:3"
    assert not_counted([place(3, CampaignState.DRAFT, inside)]) == "campaign_not_open:3"
    assert not_counted([place(3, CampaignState.ACTIVE, before)]) == "outside_dates:3"
    # A run outside every campaign's dates names the open campaign before a closed one.
    both = [place(2, CampaignState.CLOSED, before), place(3, CampaignState.ACTIVE, before)]
    assert not_counted(both) == "outside_dates:3"


def stored(verdict: str, reasons: list[str], **kw: object) -> Outcome:
    return of_run(
        verdict=verdict,
        reasons=reasons,
        review_note=str(kw.get("note", "")),
        started_at=STARTED,
        credits=kw.get("credits", []),  # type: ignore[arg-type]
        campaigns={3: WARM},
    )


def test_a_stored_run_reads_back_as_crediting_decided() -> None:
    outside = stored("accepted", [token(Kind.OUTSIDE_DATES, 3)])
    assert outside.kind is Kind.OUTSIDE_DATES and outside.day == date(2025, 10, 21)
    assert "1 Nov 2025 to 31 Dec 2025" in sentence(outside, "en")
    capped = stored("accepted", ["daily_cap:3:500", "daily_points_cap:3:50"], credits=[CREDIT])
    assert capped.kind is Kind.CREDITED and [x.cap for x in capped.limits] == [500, 50]
    assert "¥5.00" in sentence(capped, "zh-CN") and "50 分" in sentence(capped, "zh-CN")
    legacy = stored("accepted", ["daily_cap"], credits=[CREDIT])
    assert legacy.limits == (Limit(Kind.DAILY_MONEY_CAP, "暖冬行动", None, 261),)
    assert stored("accepted", []).kind is Kind.NOT_CREDITED
    assert stored("accepted", ["no_campaign"]).kind is Kind.NO_CAMPAIGN


def test_review_and_withdrawal_read_back_with_the_note() -> None:
    flagged = stored("flagged", ["shared_track", "reviewed"])
    assert flagged.status is Status.IN_REVIEW and flagged.rules == ("shared_track",)
    rejected = stored("rejected", ["shared_track", "reviewed"], note="乘车")
    assert rejected.kind is Kind.REVIEW_REJECTED and "乘车" in sentence(rejected, "zh-CN")
    accepted = stored("accepted", ["reviewed", "shared_track"], credits=[CREDIT], note="ok")
    assert accepted.kind is Kind.REVIEW_ACCEPTED and accepted.status is Status.CREDITED
    assert accepted.points == 57 and "“ok”" in sentence(accepted, "en")
    assert "Credited to" in sentence(accepted, "en")
    assert stored("rejected", ["source_withdrawn"]).kind is Kind.WITHDRAWN
    assert stored("rejected", ["overlap"]).kind is Kind.IMPLAUSIBLE


def test_earning_says_when_the_points_cap_took_points() -> None:
    terms = Terms(
        campaign_id=3,
        timezone="Asia/Shanghai",
        starts_on=date(2025, 11, 1),
        ends_on=date(2025, 11, 30),
        walking_factor_permille=600,
        default_body_mass_kg=60,
        city_id=1,
        basis=METRES,
        fen=50,
        per=1000,
        points_per_km=10,
        points_per_run=5,
        points_cap=50,
    )
    args = {"terms": terms, "day": date(2025, 11, 3), "run_id": 1, "sport": "run"}
    free = earning(**args, credited_m=3000, body_mass_kg=None, today=Today())  # type: ignore[arg-type]
    assert free.points == 35 and not free.points_capped
    held = earning(**args, credited_m=3000, body_mass_kg=None, today=Today(points_today=30))  # type: ignore[arg-type]
    assert held.points == 20 and held.points_capped
