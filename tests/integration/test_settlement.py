"""The hash-chained ledger and settlement reports."""

from __future__ import annotations

import pytest

from tests.integration.factory import run_file, upload, world
from warmrun.platform import campaigns, settlement
from warmrun.platform.errors import CampaignStateError, LedgerTampered
from warmrun.platform.models import (
    CampaignState,
    Contribution,
    PledgeAllocation,
    SettlementMode,
)

pytestmark = pytest.mark.usefixtures("database")


async def _three_runs(w) -> None:  # type: ignore[no-untyped-def]
    await upload(w.alice.id, run_file(seed=1))
    await upload(w.bob.id, run_file(seed=2, minutes_after=7))
    await upload(w.alice.id, run_file(seed=3, minutes_after=120))


async def test_untouched_ledger_verifies() -> None:
    w = await world()
    await _three_runs(w)
    v = await settlement.verify(campaign_id=w.campaign.id)
    assert v.entries == 3


async def test_edited_contribution_is_detected() -> None:
    w = await world()
    await _three_runs(w)
    await Contribution.filter(seq=2).update(metres=99_999)
    with pytest.raises(LedgerTampered) as info:
        await settlement.verify(campaign_id=w.campaign.id)
    assert info.value.params["seq"] == 2


async def test_deleted_contribution_is_detected() -> None:
    w = await world()
    await _three_runs(w)
    victim = await Contribution.get(seq=3)
    await PledgeAllocation.filter(contribution_id=victim.id).delete()
    await victim.delete()
    with pytest.raises(LedgerTampered):
        await settlement.verify(campaign_id=w.campaign.id)


async def test_settling_an_active_campaign_is_refused() -> None:
    w = await world()
    with pytest.raises(CampaignStateError):
        await settlement.settle(campaign_id=w.campaign.id)


async def test_settlement_report_regenerates_byte_identically() -> None:
    w = await world()
    await _three_runs(w)
    await campaigns.advance(campaign_id=w.campaign.id, to=CampaignState.CLOSED)
    first = await settlement.settle(campaign_id=w.campaign.id)
    again = await settlement.settle(campaign_id=w.campaign.id)
    assert settlement.render_json(first) == settlement.render_json(again)
    assert settlement.render_csv(first) == settlement.render_csv(again)
    assert (await campaigns.get_campaign(campaign_id=w.campaign.id)).state == "settled"
    assert first["totals"]["funded_fen"] == sum(p["owed_fen"] for p in first["pledges"])


async def test_pro_rata_splits_the_pool_over_all_contributions() -> None:
    w = await world(mode=SettlementMode.PRO_RATA, cap_fen=500)
    await _three_runs(w)
    await campaigns.advance(campaign_id=w.campaign.id, to=CampaignState.CLOSED)
    data = await settlement.settle(campaign_id=w.campaign.id)
    assert data["totals"]["value_fen"] > 500
    assert data["totals"]["funded_fen"] == 500
    assert sum(c["funded_fen"] for c in data["compounds"]) == 500


async def test_report_cells_never_start_a_spreadsheet_formula() -> None:
    from warmrun.platform.models import Compound, SponsorPledge

    w = await world()
    await Compound.filter(id=w.compound_id).update(name='=HYPERLINK("http://evil.example","x")')
    await SponsorPledge.filter(campaign_id=w.campaign.id).update(sponsor="@SUM(1+1)")
    await _three_runs(w)
    rows = settlement.report_rows(await settlement.report(campaign_id=w.campaign.id))
    cells = [c for row in rows for c in row if isinstance(c, str)]
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert "'@SUM(1+1)" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    csv_text = settlement.render_csv(await settlement.report(campaign_id=w.campaign.id)).decode()
    assert not [line for line in csv_text.splitlines() if line.split(",")[2:3] == ["=HYPERLINK("]]


def test_numbers_stay_numbers_in_spreadsheets() -> None:
    assert settlement.spreadsheet_cell(-120) == -120
    assert settlement.spreadsheet_cell("-120") == "'-120"
    assert settlement.spreadsheet_cell("苏州") == "苏州"


async def test_the_csv_suits_finance_staff_bom_chinese_headers_yuan_km_and_city_names() -> None:
    w = await world()
    await _three_runs(w)
    data = await settlement.report(campaign_id=w.campaign.id)
    raw = settlement.render_csv(data)
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    head = lines[0].split(",")
    assert head[:4] == ["层级", "城市", "城市代码", "小区"]
    assert "价值（元）" in head and "价值（分）" in head and "公里" in head
    city = next(line.split(",") for line in lines if line.startswith("城市,"))
    assert city[1] == "苏州" and city[2] == "SZ"
    fen = int(city[head.index("价值（分）")])
    assert city[head.index("价值（元）")] == f"{fen // 100}.{fen % 100:02d}"
    metres = int(city[head.index("米")])
    assert city[head.index("公里")] == f"{metres // 1000}.{metres % 1000:03d}"
    english = settlement.render_csv(data, "en").decode("utf-8-sig").splitlines()
    assert english[0].startswith("level,city,city code,compound")
    assert any(line.startswith("city,Suzhou,SZ") for line in english)
