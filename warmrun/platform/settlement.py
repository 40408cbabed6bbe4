"""Ledger verification and campaign settlement reports.

The report is a pure function of the ledger (no timestamps of generation, sorted rows,
canonical JSON), so settling again regenerates it byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from warmrun.platform import audit, clock, events, payments, sql, tally, transparency
from warmrun.platform.campaigns import get_campaign, goods_lines
from warmrun.platform.conversion import (
    ItemLine,
    goods_progress,
    items_funded,
    pledges_owed,
    split_largest_remainder,
)
from warmrun.platform.errors import CampaignStateError, LedgerTampered, NotFound
from warmrun.platform.ledger import GENESIS, entry_hash
from warmrun.platform.models import (
    Campaign,
    CampaignState,
    City,
    Compound,
    Contribution,
    Goods,
    PaymentKind,
    SettlementMode,
    SettlementReport,
    SponsorPledge,
)
from warmrun.platform.report_files import render_csv as render_csv
from warmrun.platform.report_files import render_json as render_json
from warmrun.platform.report_files import report_rows as report_rows
from warmrun.platform.report_files import spreadsheet_cell as spreadsheet_cell
from warmrun.platform.signing import SiteKey
from warmrun.verify import utc as verify_utc

_FIELDS = (
    "campaign_id",
    "seq",
    "kind",
    "run_id",
    "resident_ref",
    "city_id",
    "compound_id",
    "local_day",
    "sport",
    "metres",
    "kcal",
    "value_fen",
    "funded_fen",
    "idempotency_key",
)


@dataclass(frozen=True)
class Verification:
    campaign_id: int
    entries: int
    head_hash: str


async def verify(*, campaign_id: int) -> Verification:
    """Recompute the chain; raise LedgerTampered at the first entry that does not match."""
    campaign = await get_campaign(campaign_id=campaign_id)
    rows = (
        await Contribution.filter(campaign_id=campaign_id)
        .order_by("seq")
        .values(*_FIELDS, "prev_hash", "hash")
    )
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        fields = {k: row[k] for k in _FIELDS}
        if row["seq"] != expected_seq or row["prev_hash"] != prev:
            raise LedgerTampered(campaign_id=campaign_id, seq=expected_seq)
        if entry_hash(prev, fields) != row["hash"]:
            raise LedgerTampered(campaign_id=campaign_id, seq=row["seq"])
        prev = row["hash"]
    if campaign.head_seq != len(rows) or campaign.head_hash != prev:
        raise LedgerTampered(campaign_id=campaign_id, seq=len(rows) + 1)
    return Verification(campaign_id=campaign_id, entries=len(rows), head_hash=prev)


async def report(*, campaign_id: int) -> dict[str, Any]:
    """The settlement figures, computed from the ledger alone."""
    campaign = await get_campaign(campaign_id=campaign_id)
    check = await verify(campaign_id=campaign_id)
    goods = await Goods.get(id=campaign.goods_id)
    sums = await _ledger_sums(campaign_id)
    by_city = {a[0]: _figures(t) for a, t in sums.area.items() if a[0] and not a[1]}
    by_compound = {a[1]: _figures(t) for a, t in sums.area.items() if a[1]}
    pledges = await SponsorPledge.filter(campaign_id=campaign_id).order_by("priority", "id")
    whole = sums.area.get(tally.OVERALL, tally.AreaSums()).sums
    pro_rata = campaign.settlement_mode == SettlementMode.PRO_RATA
    owed = pledges_owed(
        total_value_fen=whole.value_fen,
        caps=[p.cap_fen for p in pledges],
        allocated=[p.allocated_fen for p in pledges],
        pro_rata=pro_rata,
    )
    funded_total = sum(owed)
    if pro_rata:
        _scale_funded(by_city, funded_total)
        _scale_funded(by_compound, funded_total)
    lines = await goods_lines(goods.id)
    donated = await payments.received(campaign_id=campaign_id, kind=PaymentKind.DONATION)
    paid = {p["id"]: p["paid_fen"] for p in await payments.pledges_paid(campaign_id)}
    return {
        "campaign": _campaign_block(campaign),
        "ledger": {"entries": check.entries, "head_hash": check.head_hash},
        "goods": _goods_block(goods, lines, funded_total, donated.net_fen),
        "totals": {
            "metres": whole.metres,
            "kcal": whole.kcal,
            "value_fen": whole.value_fen,
            "funded_fen": funded_total,
        },
        **await _area_blocks(by_city, by_compound, goods.unit_price_fen, lines),
        "offline": await events.offline_totals(campaign_id=campaign_id),
        "donations": {
            "payments": donated.payments,
            "received_fen": donated.received_fen,
            "refunded_fen": donated.refunded_fen,
            "net_fen": donated.net_fen,
        },
        "pledges": [
            {
                "id": p.id,
                "sponsor": p.sponsor,
                "cap_fen": p.cap_fen,
                "owed_fen": o,
                "paid_fen": paid[p.id],
            }
            for p, o in zip(pledges, owed, strict=True)
        ],
        # The latest signed checkpoint of the campaign's public log (the settlement's, once
        # settled): check the figures above against it with warmrun/verify.py.
        "checkpoint": await _latest_checkpoint(campaign_id),
    }


async def _ledger_sums(campaign_id: int) -> tally.Totals:
    """The same sums as the totals kept beside the ledger, recomputed from its rows."""
    rows = await Contribution.filter(campaign_id=campaign_id).values(
        "city_id", "compound_id", "local_day", "metres", "kcal", "value_fen", "funded_fen",
        "resident_ref",
    )  # fmt: skip
    return tally.fold(
        tally.Entry(
            r["resident_ref"], r["city_id"], r["compound_id"], sql.as_date(r["local_day"]),
            r["metres"], r["kcal"], r["value_fen"], r["funded_fen"],
        )
        for r in rows
    )  # fmt: skip


def _campaign_block(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "code": campaign.code,
        "name": campaign.name,
        "starts_on": campaign.starts_on.isoformat(),
        "ends_on": campaign.ends_on.isoformat(),
        "settlement_mode": str(campaign.settlement_mode),
    }


def _goods_block(
    goods: Goods, lines: list[ItemLine], funded_fen: int, donated_fen: int
) -> dict[str, Any]:
    total = goods_progress(funded_fen, goods.unit_price_fen)
    return {
        "code": goods.code,
        "name_zh": goods.name_zh,
        "name_en": goods.name_en,
        "unit_price_fen": goods.unit_price_fen,
        "bundles": total.bundles,
        "next_bundle_permille": total.next_permille,
        "bundles_with_donations": goods_progress(
            funded_fen + donated_fen, goods.unit_price_fen
        ).bundles,
        # What the bundles funded hold: each item line times the bundles.
        "items": [{**ln.as_dict(), "funded": n} for ln, n in items_funded(total.bundles, lines)],
    }


async def _area_blocks(
    by_city: dict[int, dict[str, Any]],
    by_compound: dict[int, dict[str, Any]],
    price_fen: int,
    lines: list[ItemLine],
) -> dict[str, list[dict[str, Any]]]:
    """The report's per-city and per-compound figures, with goods and item counts."""
    cities = {c.id: c for c in await City.all()}
    compounds = {c.id: c for c in await Compound.all()}

    def block(acc: dict[str, Any]) -> dict[str, Any]:
        progress = goods_progress(acc["funded_fen"], price_fen)
        return {
            **acc,
            "bundles": progress.bundles,
            "next_bundle_permille": progress.next_permille,
            "items": {ln.code: n for ln, n in items_funded(progress.bundles, lines)},
        }

    return {
        "cities": [
            {"city": cities[k].code, "name_zh": cities[k].name_zh,
             "name_en": cities[k].name_en, **block(v)}
            for k, v in sorted(by_city.items(), key=lambda kv: cities[kv[0]].code)
        ],
        "compounds": [
            {"city": cities[compounds[k].city_id].code,
             "city_zh": cities[compounds[k].city_id].name_zh,
             "city_en": cities[compounds[k].city_id].name_en,
             "compound": compounds[k].name, **block(v)}
            for k, v in sorted(
                by_compound.items(),
                key=lambda kv: (compounds[kv[0]].city_id, compounds[kv[0]].name),
            )
        ],
    }  # fmt: skip


async def _latest_checkpoint(campaign_id: int) -> dict[str, Any] | None:
    try:
        return _checkpoint_block(await transparency.checkpoint(campaign_id=campaign_id))
    except NotFound:
        return None


def _figures(t: tally.AreaSums) -> dict[str, Any]:
    return {
        "metres": t.sums.metres,
        "kcal": t.sums.kcal,
        "value_fen": t.sums.value_fen,
        "funded_fen": t.sums.funded_fen,
        "participants": t.participants,
    }


def _scale_funded(table: dict[int, dict[str, Any]], funded_total: int) -> None:
    keys = sorted(table)
    shares = split_largest_remainder(funded_total, [max(table[k]["value_fen"], 0) for k in keys])
    for k, share in zip(keys, shares, strict=True):
        table[k]["funded_fen"] = share


async def settle(*, campaign_id: int, key: SiteKey | None = None) -> dict[str, Any]:
    """Freeze a closed campaign and return its report, as stored (settling again returns it).

    In one transaction, under the campaign's lock: the report, the state, the settlement entry
    of the public log with the report's figures, a checkpoint signed with ``key``, the report
    stored as it stands, and the audit entry."""
    campaign: Campaign = await get_campaign(campaign_id=campaign_id)
    if campaign.state not in (CampaignState.CLOSED, CampaignState.SETTLED):
        raise CampaignStateError(state=campaign.state, needed="closed")
    if campaign.state == CampaignState.SETTLED:
        return await current_report(campaign_id=campaign_id)
    await transparency.catch_up(campaign_id=campaign_id)
    async with in_transaction() as conn:
        updated = (
            await Campaign.filter(id=campaign_id, state=CampaignState.CLOSED)
            .using_db(conn)
            .update(state=CampaignState.SETTLED, settled_at=clock.now())
        )
        if not updated:
            raise CampaignStateError(state="changed meanwhile", needed="closed")
        data = await report(campaign_id=campaign_id)
        made = await transparency.seal(conn, campaign_id=campaign_id, key=key, settlement=data)
        if made is not None:
            data["checkpoint"] = _checkpoint_block(made)
        by = audit.current().label
        body = render_json(data).decode()
        await SettlementReport.create(
            campaign_id=campaign_id, body=body, created_at=clock.now(), created_by=by, using_db=conn
        )
        after = {"state": "settled", "funded_fen": data["totals"]["funded_fen"]}
        before = {"state": "closed"}
        await audit.record(
            conn,
            "campaign.settle",
            campaign_id=campaign_id,
            subject=campaign.code,
            before=before,
            after=after,
        )
    return data


async def current_report(*, campaign_id: int) -> dict[str, Any]:
    """A settled campaign's report as stored at settlement (with what each sponsor has paid
    so far); before that, the figures as the ledger gives them now."""
    stored = await SettlementReport.get_or_none(campaign_id=campaign_id)
    if stored is None:
        return await report(campaign_id=campaign_id)
    loaded: dict[str, Any] = json.loads(stored.body)
    # What sponsors have paid against what they owe moves on after settlement (settlement
    # payments, refunds of prepaid excess): read now, beside the stored figures.
    paid = {p["id"]: p["paid_fen"] for p in await payments.pledges_paid(campaign_id)}
    for pledge in loaded["pledges"]:
        pledge["paid_fen"] = paid.get(pledge["id"], 0)
    return loaded


def _checkpoint_block(cp: transparency.CheckpointView) -> dict[str, Any]:
    """The report's copy of a checkpoint: its figures and the signed file itself."""
    return {
        "number": cp.number,
        "size": cp.size,
        "root": cp.root,
        "time": verify_utc(cp.made_at),
        "reason": cp.reason,
        "key_id": cp.key_id,
        "note": cp.note,
    }


@dataclass(frozen=True)
class PledgeBalance:
    pledge_id: int
    sponsor: str
    cap_fen: int
    owed_fen: int  # what the settled ledger says the sponsor owes
    received_fen: int  # prepaid and settlement payments, net of refunds

    @property
    def due_fen(self) -> int:
        return max(self.owed_fen - self.received_fen, 0)

    @property
    def excess_fen(self) -> int:
        return max(self.received_fen - self.owed_fen, 0)


async def pledge_balance(*, pledge_id: int) -> PledgeBalance:
    """What a sponsor still owes (or was paid too much) once its campaign is settled."""
    pledge = await SponsorPledge.get_or_none(id=pledge_id)
    if pledge is None:
        raise NotFound("pledge", "认捐")
    campaign = await get_campaign(campaign_id=pledge.campaign_id)
    if campaign.state != CampaignState.SETTLED:
        raise CampaignStateError(state=campaign.state, needed="settled")
    data = await report(campaign_id=campaign.id)
    owed = next(p["owed_fen"] for p in data["pledges"] if p["id"] == pledge_id)
    got = await payments.received(campaign_id=campaign.id, pledge_id=pledge_id)
    return PledgeBalance(
        pledge_id=pledge_id,
        sponsor=pledge.sponsor,
        cap_fen=pledge.cap_fen,
        owed_fen=owed,
        received_fen=got.net_fen,
    )
