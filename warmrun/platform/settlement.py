"""Ledger verification and campaign settlement reports.

The report is a pure function of the ledger (no timestamps of generation, sorted rows,
canonical JSON), so settling again regenerates it byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from warmrun.platform import events, payments
from warmrun.platform.campaigns import advance, get_campaign
from warmrun.platform.conversion import goods_progress, pledges_owed, split_largest_remainder
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
    SponsorPledge,
)

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
    rows = await Contribution.filter(campaign_id=campaign_id).values(
        "city_id", "compound_id", "metres", "kcal", "value_fen", "funded_fen", "resident_ref"
    )
    cities = {c.id: c for c in await City.all()}
    compounds = {c.id: c for c in await Compound.all()}
    by_city: dict[int, dict[str, Any]] = {}
    by_compound: dict[int, dict[str, Any]] = {}
    for row in rows:
        for key, table in ((row["city_id"], by_city), (row["compound_id"], by_compound)):
            acc = table.setdefault(
                key, {"metres": 0, "kcal": 0, "value_fen": 0, "funded_fen": 0, "residents": {}}
            )
            acc["metres"] += row["metres"]
            acc["kcal"] += row["kcal"]
            acc["value_fen"] += row["value_fen"]
            acc["funded_fen"] += row["funded_fen"]
            acc["residents"][row["resident_ref"]] = (
                acc["residents"].get(row["resident_ref"], 0) + row["metres"]
            )
    pledges = await SponsorPledge.filter(campaign_id=campaign_id).order_by("priority", "id")
    total_value = sum(r["value_fen"] for r in rows)
    pro_rata = campaign.settlement_mode == SettlementMode.PRO_RATA
    owed = pledges_owed(
        total_value_fen=total_value,
        caps=[p.cap_fen for p in pledges],
        allocated=[p.allocated_fen for p in pledges],
        pro_rata=pro_rata,
    )
    funded_total = sum(owed)
    if pro_rata:
        _scale_funded(by_city, funded_total)
        _scale_funded(by_compound, funded_total)

    def block(acc: dict[str, Any]) -> dict[str, Any]:
        progress = goods_progress(acc["funded_fen"], goods.unit_price_fen)
        return {
            "metres": acc["metres"],
            "kcal": acc["kcal"],
            "value_fen": acc["value_fen"],
            "funded_fen": acc["funded_fen"],
            "participants": sum(1 for m in acc["residents"].values() if m > 0),
            "bundles": progress.bundles,
            "next_bundle_permille": progress.next_permille,
        }

    total = goods_progress(funded_total, goods.unit_price_fen)
    donated = await payments.received(campaign_id=campaign_id, kind=PaymentKind.DONATION)
    with_donations = goods_progress(funded_total + donated.net_fen, goods.unit_price_fen)
    paid = [await payments.received(campaign_id=campaign_id, pledge_id=p.id) for p in pledges]
    return {
        "campaign": {
            "id": campaign.id,
            "code": campaign.code,
            "name": campaign.name,
            "starts_on": campaign.starts_on.isoformat(),
            "ends_on": campaign.ends_on.isoformat(),
            "settlement_mode": str(campaign.settlement_mode),
        },
        "ledger": {"entries": check.entries, "head_hash": check.head_hash},
        "goods": {
            "code": goods.code,
            "name_zh": goods.name_zh,
            "name_en": goods.name_en,
            "unit_price_fen": goods.unit_price_fen,
            "bundles": total.bundles,
            "next_bundle_permille": total.next_permille,
            "bundles_with_donations": with_donations.bundles,
        },
        "totals": {
            "metres": sum(r["metres"] for r in rows),
            "kcal": sum(r["kcal"] for r in rows),
            "value_fen": total_value,
            "funded_fen": funded_total,
        },
        "cities": [
            {"city": cities[k].code, "name_zh": cities[k].name_zh, **block(v)}
            for k, v in sorted(by_city.items(), key=lambda kv: cities[kv[0]].code)
        ],
        "compounds": [
            {
                "city": cities[compounds[k].city_id].code,
                "compound": compounds[k].name,
                **block(v),
            }
            for k, v in sorted(
                by_compound.items(),
                key=lambda kv: (compounds[kv[0]].city_id, compounds[kv[0]].name),
            )
        ],
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
                "paid_fen": r.net_fen,
            }
            for p, o, r in zip(pledges, owed, paid, strict=True)
        ],
    }


def _scale_funded(table: dict[int, dict[str, Any]], funded_total: int) -> None:
    keys = sorted(table)
    shares = split_largest_remainder(funded_total, [max(table[k]["value_fen"], 0) for k in keys])
    for k, share in zip(keys, shares, strict=True):
        table[k]["funded_fen"] = share


def render_json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


_CSV_FIGURES = (
    "metres",
    "kcal",
    "value_fen",
    "funded_fen",
    "participants",
    "bundles",
    "next_bundle_permille",
)


# A spreadsheet reads a text cell that starts with one of these as a formula (or, for tab and
# carriage return, shifts it so that the next character does).
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a string that would start a formula
    (a compound named ``=HYPERLINK(...)``) gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_LEAD):
        return "'" + value
    return value


def report_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The report as rows (the CSV and XLSX exports share them), every text cell made safe
    for spreadsheets."""
    return [[spreadsheet_cell(v) for v in row] for row in _report_rows(data)]


def _report_rows(data: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [["level", "city", "compound", *_CSV_FIGURES]]
    overall = {
        **data["totals"],
        "participants": "",
        "bundles": data["goods"]["bundles"],
        "next_bundle_permille": data["goods"]["next_bundle_permille"],
    }
    rows.append(["campaign", "", "", *(overall[k] for k in _CSV_FIGURES)])
    for c in data["cities"]:
        rows.append(["city", c["city"], "", *(c[k] for k in _CSV_FIGURES)])
    for c in data["compounds"]:
        rows.append(["compound", c["city"], c["compound"], *(c[k] for k in _CSV_FIGURES)])
    rows.append([])
    rows.append(["sponsor", "cap_fen", "owed_fen", "paid_fen"])
    for p in data["pledges"]:
        rows.append([p["sponsor"], p["cap_fen"], p["owed_fen"], p["paid_fen"]])
    rows.append([])
    rows.append(["donations", "payments", "received_fen", "refunded_fen", "net_fen"])
    d = data["donations"]
    rows.append(["", d["payments"], d["received_fen"], d["refunded_fen"], d["net_fen"]])
    return rows


def render_csv(data: dict[str, Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(report_rows(data))
    return out.getvalue().encode()


async def settle(*, campaign_id: int) -> dict[str, Any]:
    """Freeze a closed campaign and return its report (regenerates identically afterwards)."""
    campaign: Campaign = await get_campaign(campaign_id=campaign_id)
    if campaign.state not in (CampaignState.CLOSED, CampaignState.SETTLED):
        raise CampaignStateError(state=campaign.state, needed="closed")
    data = await report(campaign_id=campaign_id)
    if campaign.state == CampaignState.CLOSED:
        await advance(campaign_id=campaign_id, to=CampaignState.SETTLED)
    return data


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
