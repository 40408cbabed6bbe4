"""Crediting: a run's contributions to campaigns, their points, and their reversal.

Contributions are appended to each campaign's hash chain while its row is locked
(platform/chain.py); every contribution and reversal writes its outbox row in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun.platform import clock, points_ledger, rule_versions, sql
from warmrun.platform.chain import Entry, append, emit
from warmrun.platform.chain import lock_campaign as lock_campaign  # events lock it too
from warmrun.platform.conversion import value_fen
from warmrun.platform.earning import Earning, Terms, Today, counts_on, earning, local_day
from warmrun.platform.errors import WarmrunError
from warmrun.platform.models import (
    Basis,
    CampaignState,
    Compound,
    Contribution,
    ConversionRule,
    PledgeAllocation,
    PointsEntry,
    Resident,
    RuleVersion,
    Run,
)
from warmrun.platform.outcomes import CREDITING, Kind, Placement, not_counted, parse, token
from warmrun.platform.refs import resident_ref
from warmrun.platform.tracks import HIKE, WALK, kcal


@dataclass
class Credit:
    """What crediting one run produced across campaigns."""

    credited_m: int = 0
    value_fen: int = 0
    points: int = 0
    campaigns: list[int] = field(default_factory=list)


def _kcal(
    walking_factor_permille: int, default_mass_kg: int, resident: Resident, sport: str, metres: int
) -> int:
    mass = resident.body_mass_kg or default_mass_kg
    return round(
        kcal(
            metres=metres,
            sport=sport,
            body_mass_kg=mass,
            walking_factor=walking_factor_permille / 1000,
        )
    )


class CampaignChanged(WarmrunError):
    """A campaign left the active state between the credit's checks and its chain append.

    Raised inside the caller's transaction so that everything it wrote rolls back; the caller
    runs the whole transaction again, which then sees the campaign as it is now. Only if that
    keeps happening does a resident see it."""

    code = "campaign_changed"
    message_en = "A campaign changed while your run was being counted. Please upload it again."
    message_zh = "计入跑步记录时活动状态发生了变化，请重新上传。"


async def lock_resident(conn: BaseDBAsyncClient, resident_id: int) -> None:
    """Hold the resident's row until the transaction ends.

    Daily caps (money and points) are read and then written: this lock serializes one
    resident's concurrent credits and reversals, so the campaign lock is needed only for the
    chain append itself. Order: a resident's row before any campaign row, everywhere.
    """
    await sql.locked(conn, "SELECT id FROM resident WHERE id = ?", resident_id)


# Every campaign of the resident's city (the active ones credit; the others say why a run
# counted nowhere), with what crediting needs of each: its state and calendar, the kcal
# parameters, the conversion rule for the sport and the points rule.
_CAMPAIGNS = """
SELECT ca.id, ca.state, ca.timezone, ca.starts_on, ca.ends_on, ca.walking_factor_permille,
       ca.default_body_mass_kg, co.city_id,
       cr.basis, cr.fen, cr.per, cr.daily_cap_fen,
       pr.points_per_km, pr.points_per_run, pr.daily_cap AS points_cap
FROM compound co
JOIN campaign_city cc ON cc.city_id = co.city_id
JOIN campaign ca ON ca.id = cc.campaign_id
LEFT JOIN conversion_rule cr ON cr.campaign_id = ca.id AND cr.sport = ?
LEFT JOIN points_rule pr ON pr.campaign_id = ca.id
WHERE co.id = ?
ORDER BY ca.id
"""

# Read under the resident's lock: money credited today in the campaign, earlier crediting
# rounds of this run, run points earned today in the campaign.
_TODAY = """
SELECT
 (SELECT COALESCE(SUM(value_fen), 0) FROM contribution
  WHERE campaign_id = ? AND resident_ref = ? AND local_day = ?) AS used_fen,
 (SELECT COUNT(*) FROM contribution
  WHERE run_id = ? AND campaign_id = ? AND kind = 'run') AS rounds,
 (SELECT COALESCE(SUM(delta), 0) FROM points_entry
  WHERE resident_id = ? AND reason = 'run' AND ref LIKE ?) AS points_today
"""


async def credit(conn: BaseDBAsyncClient, run: Run, resident: Resident) -> Credit:
    """Append a contribution (and points) for every active campaign this run counts in.

    Everything that needs no chain position (the conversion, the daily caps, the points) is
    decided first, under the resident's lock; the campaign row, which every resident's credit
    queues on, is locked last and held only for the append, the outbox row and the commit.
    What held the run back (a daily cap) or why it counted nowhere (its dates, a closed or
    unopened campaign, none at all) is kept in the run's reasons for every later page.
    """
    out = Credit()
    if run.started_at is None or run.credited_m <= 0:
        return out
    sport = WALK if run.sport == HIKE else run.sport
    rows = await sql.rows(conn, _CAMPAIGNS, sport, resident.compound_id)
    rows = await rules_at(conn, rows, sport, run.started_at)
    terms = [_terms(c) for c in rows]
    placed = [
        _placement(t, str(c["state"]), run.started_at) for t, c in zip(terms, rows, strict=True)
    ]
    counting = [t for t, p in zip(terms, placed, strict=True) if p.counts]
    if counting:
        await lock_resident(conn, resident.id)
    notes: list[str] = []
    for t in counting:
        e = await _credit_one(conn, run, resident, sport, t)
        if e is None:
            continue
        out.credited_m = run.credited_m
        out.value_fen += e.value_fen
        out.points += e.points
        out.campaigns.append(e.campaign_id)
        notes += _caps(e, t)
    run.reasons = await _keep_reasons(
        conn, run.id, notes if out.campaigns else [not_counted(placed)]
    )
    return out


def _placement(t: Terms, state: str, started_at: datetime) -> Placement:
    day = local_day(started_at, t.timezone)
    return Placement(t.campaign_id, state, t.starts_on, t.ends_on, day)


def _caps(e: Earning, t: Terms) -> list[str]:
    """The daily caps that took some of what the run would have earned in the campaign."""
    out = []
    if e.capped:
        out.append(token(Kind.DAILY_MONEY_CAP, e.campaign_id, t.daily_cap_fen or 0))
    if e.points_capped:
        out.append(token(Kind.DAILY_POINTS_CAP, e.campaign_id, t.points_cap or 0))
    return out


async def _keep_reasons(conn: BaseDBAsyncClient, run_id: int, notes: list[str]) -> list[str]:
    """Replace what an earlier crediting round kept in the run's reasons with ``notes``; the
    reasons as stored now.

    Read afresh: the caller may have changed the reasons in this transaction (a review)."""
    found = await sql.row(conn, "SELECT reasons FROM run WHERE id = ?", run_id)
    before = list(sql.field_value(Run, "reasons", found["reasons"]) or [])
    kept = {r for r in before if parse(r)[0] not in CREDITING}
    after = sorted(kept | set(notes))
    if after != sorted(before):
        await Run.filter(id=run_id).using_db(conn).update(reasons=after)
    return after


async def _credit_one(
    conn: BaseDBAsyncClient, run: Run, resident: Resident, sport: str, terms: Terms
) -> Earning | None:
    """Load what today already holds, ask :func:`earning` what the run earns in this
    campaign, and write it: points, then (under the campaign lock) the chained entry."""
    day = counts_on(terms, run.started_at)  # type: ignore[arg-type]
    if day is None:
        return None
    ref = resident_ref(resident.id)
    e = earning(
        terms=terms,
        day=day,
        run_id=run.id,
        credited_m=run.credited_m,
        sport=sport,
        body_mass_kg=resident.body_mass_kg,
        today=await _today(conn, terms.campaign_id, ref, day, run.id, resident.id),
    )
    if e.points:
        await points_ledger.post(
            conn,
            resident_id=resident.id,
            delta=e.points,
            reason="run",
            key=f"{e.key}:points",
            ref=f"c{e.campaign_id}:{day.isoformat()}:run{run.id}",
        )
    head = await lock_campaign(conn, e.campaign_id)
    if head.state != CampaignState.ACTIVE.value:
        raise CampaignChanged(campaign_id=e.campaign_id)
    entry = await append(
        conn,
        head,
        kind="run",
        run_id=run.id,
        resident_ref=ref,
        city_id=terms.city_id,
        compound_id=resident.compound_id,
        day=day,
        sport=sport,
        metres=run.credited_m,
        kcal=e.kcal,
        value=e.value_fen,
        key=e.key,
    )
    await emit(conn, entry, source=run.source)
    return e


async def _today(
    conn: BaseDBAsyncClient, campaign_id: int, ref: str, day: date, run_id: int, resident_id: int
) -> Today:
    """What the resident already has on ``day`` in the campaign (see _TODAY)."""
    today = await sql.row(
        conn,
        _TODAY,
        campaign_id,
        ref,
        day,
        run_id,
        campaign_id,
        resident_id,
        f"c{campaign_id}:{day.isoformat()}%",
    )
    return Today(int(today["used_fen"]), int(today["rounds"]), int(today["points_today"]))


def _terms(row: dict[str, Any]) -> Terms:
    """A campaign's terms from the _CAMPAIGNS row (dates arrive as text on SQLite)."""
    return Terms(
        campaign_id=int(row["id"]),
        timezone=row["timezone"],
        starts_on=sql.as_date(row["starts_on"]),
        ends_on=sql.as_date(row["ends_on"]),
        walking_factor_permille=int(row["walking_factor_permille"]),
        default_body_mass_kg=int(row["default_body_mass_kg"]),
        city_id=int(row["city_id"]),
        basis=row["basis"],
        fen=int(row["fen"] or 0),
        per=int(row["per"] or 1),
        daily_cap_fen=row["daily_cap_fen"],
        points_per_km=row["points_per_km"],
        points_per_run=int(row["points_per_run"] or 0),
        points_cap=row["points_cap"],
    )


async def reverse(conn: BaseDBAsyncClient, run: Run, *, reason: str) -> None:
    """Append reversal entries for every credited contribution and points award of ``run``."""
    await lock_resident(conn, run.resident_id)
    originals = await Contribution.filter(run_id=run.id, kind="run").using_db(conn).order_by("id")
    for c in originals:
        key = f"reverse:{c.id}"
        if await Contribution.filter(idempotency_key=key).using_db(conn).exists():
            continue
        campaign = await lock_campaign(conn, c.campaign_id)
        allocs = await PledgeAllocation.filter(contribution_id=c.id).using_db(conn)
        released = [(a.pledge_id, -a.fen) for a in allocs]
        reversal = await append(
            conn,
            campaign,
            kind="reversal",
            run_id=run.id,
            resident_ref=c.resident_ref,
            city_id=c.city_id,
            compound_id=c.compound_id,
            day=c.local_day,
            sport=c.sport,
            metres=-c.metres,
            kcal=-c.kcal,
            value=-c.value_fen,
            key=key,
            funded=-c.funded_fen,
            allocations=released,
        )
        await emit(conn, reversal, source=run.source, reverses=c.id, reason=reason)
    awards = await PointsEntry.filter(
        idempotency_key__startswith=f"run:{run.id}:campaign:", reason="run"
    ).using_db(conn)
    for award in awards:
        key = f"reverse:{award.idempotency_key}"
        if await points_ledger.posted(conn, key):
            continue
        # Taken back whole: what was already spent is owed and repaid by later credits.
        await points_ledger.post(
            conn,
            resident_id=award.resident_id,
            delta=-award.delta,
            reason="reversal",
            key=key,
            ref=award.ref,
            owe=True,
        )


async def credit_offline(
    conn: BaseDBAsyncClient,
    *,
    campaign_id: int,
    resident: Resident,
    day: date,
    sport: str,
    metres: int,
    value: int,
    key: str,
) -> Entry | None:
    """An offline participation credit (an event day), appended to the same chain as runs
    under ``key``; None if that key was credited before."""
    if await Contribution.filter(idempotency_key=key).using_db(conn).exists():
        return None
    campaign = await lock_campaign(conn, campaign_id)
    if await Contribution.filter(idempotency_key=key).using_db(conn).exists():
        return None  # credited while we waited for the lock
    compound = await Compound.filter(id=resident.compound_id).using_db(conn).get()
    kc = _kcal(
        campaign.walking_factor_permille, campaign.default_body_mass_kg, resident, sport, metres
    )
    entry = await append(
        conn,
        campaign,
        kind="offline",
        run_id=None,
        resident_ref=resident_ref(resident.id),
        city_id=compound.city_id,
        compound_id=compound.id,
        day=day,
        sport=sport,
        metres=metres,
        kcal=kc,
        value=value,
        key=key,
    )
    await emit(conn, entry, source="offline")
    return entry


async def offline_value(conn: BaseDBAsyncClient, campaign_id: int, sport: str, metres: int) -> int:
    """The fen a distance is worth under the campaign's conversion rule for ``sport`` in force
    now."""
    row: dict[str, Any] = {"id": campaign_id, "basis": None, "fen": None, "per": None}
    rule = await ConversionRule.filter(campaign_id=campaign_id, sport=sport).using_db(conn).first()
    if rule is not None:
        row |= {"basis": rule.basis, "fen": rule.fen, "per": rule.per}
    (now,) = await rules_at(conn, [row], sport, clock.now())
    if now["basis"] != Basis.METRES:
        return 0
    return value_fen(metres, fen=int(now["fen"] or 0), per=int(now["per"] or 1))


async def rules_at(
    conn: BaseDBAsyncClient, rows: list[dict[str, Any]], sport: str, at: datetime
) -> list[dict[str, Any]]:
    """Each campaign row with the conversion rule version in force at ``at`` (a rule can be
    scheduled to take effect later); rows of campaigns with no versions stay as they are."""
    ids = [int(r["id"]) for r in rows]
    found: dict[int, list[rule_versions.Version]] = {}
    versions = RuleVersion.filter(campaign_id__in=ids, rule="conversion", sport=sport)
    for row in await versions.using_db(conn):
        found.setdefault(row.campaign_id, []).append(
            rule_versions.Version(row.version, row.effective_from, dict(row.terms))
        )
    out = []
    for r in rows:
        v = rule_versions.in_force(found.get(int(r["id"]), []), at)
        if v is not None:
            r = {**r, **{k: v.terms.get(k) for k in ("basis", "fen", "per", "daily_cap_fen")}}
        out.append(r)
    return out
