"""Build a campaign world through the services (no raw inserts that skip rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tests.conftest import PARSER
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import campaigns, ingest
from warmrun.platform.ingest import FileOutcome
from warmrun.platform.models import Campaign, CampaignState, Resident, SettlementMode
from warmrun.platform.uploads import Upload

START = datetime(2025, 11, 2, 0, 0, tzinfo=UTC)


@dataclass
class World:
    campaign: Campaign
    alice: Resident
    bob: Resident
    compound_id: int
    city_id: int


async def world(
    *,
    mode: SettlementMode = SettlementMode.FIRST_COME,
    cap_fen: int = 1_000_000,
    daily_cap_fen: int | None = None,
) -> World:
    partner = await campaigns.create_partner(name="One Foundation")
    coat = await campaigns.create_item(
        code="coat", name_zh="棉服", name_en="Coat", unit_price_fen=12_000
    )
    pack = await campaigns.create_bundle(
        code="warm-pack",
        name_zh="温暖包",
        name_en="Warm pack",
        price_fen=36_500,
        lines=[(coat.id, 1)],
    )
    city = await campaigns.create_city(
        code="SZ", name_zh="苏州", name_en="Suzhou", lat=31.2989, lon=120.5853
    )
    compound = await campaigns.create_compound(city_id=city.id, name="天骄花园", households=800)
    campaign = await campaigns.create_campaign(
        code="c1",
        name="Warm run",
        partner_id=partner.id,
        goods_id=pack.id,
        starts_on=date(2025, 11, 1),
        ends_on=date(2025, 12, 31),
        city_goals={city.id: 365_000},
        settlement_mode=mode,
    )
    await campaigns.set_rule(
        campaign_id=campaign.id, sport="run", fen=50, per=1000, daily_cap_fen=daily_cap_fen
    )
    await campaigns.set_points_rule(campaign_id=campaign.id, points_per_km=10, points_per_run=5)
    await campaigns.add_pledge(campaign_id=campaign.id, sponsor="Sponsor A", cap_fen=cap_fen)
    await campaigns.advance(campaign_id=campaign.id, to=CampaignState.ACTIVE)
    alice = await campaigns.create_resident(
        compound_id=compound.id, display_name="Alice", body_mass_kg=60
    )
    bob = await campaigns.create_resident(compound_id=compound.id, display_name="Bob")
    campaign = await campaigns.get_campaign(campaign_id=campaign.id)
    return World(campaign, alice, bob, compound.id, city.id)


def run_file(seed: int = 1, *, minutes_after: int = 0, points: int = 1200) -> bytes:
    return synthetic_run_gpx(
        points=points, start=START + timedelta(minutes=minutes_after), seed=seed
    )


async def upload(
    resident_id: int, data: bytes, name: str = "run.gpx", *, source: str = "file"
) -> list[FileOutcome]:
    return await ingest.import_uploads(
        parser=PARSER,
        resident_id=resident_id,
        uploads=[Upload(name=name, data=data)],
        source=source,
    )
