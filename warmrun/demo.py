"""The four-city demo campaign (Chongqing, Suzhou, Wuxi, Chengdu), created idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from warmrun import demo_life
from warmrun.config import Settings
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import accounts, badges, campaigns, clock, ingest, rewards
from warmrun.platform.ingest import FileOutcome
from warmrun.platform.models import Account, CampaignState, City, Resident, Reward, Role
from warmrun.platform.uploads import Parser, Upload

CAMPAIGN_CODE = "four-city-warm-run-2025"
DEMO_PASSWORD = "warmrun-demo"  # noqa: S105 - printed by `warmrun demo`; demo data only
DEMO_RESIDENT = "runner@warmrun.example"
# (code, zh, en, lat, lon): city centres; runs starting within 60 km count for the city.
CITIES = [
    ("CQ", "重庆", "Chongqing", 29.5630, 106.5516),
    ("SZ", "苏州", "Suzhou", 31.2989, 120.5853),
    ("WX", "无锡", "Wuxi", 31.4912, 120.3119),
    ("CD", "成都", "Chengdu", 30.5728, 104.0668),
]
COMPOUNDS = ["天骄花园", "湖畔雅苑"]
RESIDENTS = ["小李", "王阿姨", "陈老师"]
# One Foundation's warm pack (public figures): 365 CNY, the items it holds.
ITEMS = [
    ("coat", "棉服", "Cotton coat", 12_000),
    ("shoes", "棉鞋", "Cotton shoes", 6_000),
    ("bag", "书包", "School bag", 5_000),
    ("stationery", "文具套装", "Stationery set", 3_000),
]


@dataclass
class DemoResult:
    campaign_id: int
    imported: list[FileOutcome]


async def run_demo(settings: Settings, parser: Parser) -> DemoResult:
    """A campaign four weeks in: hundreds of residents in the four cities with their runs,
    families with children, runs waiting in review, an event day with check-ins today,
    volunteers' points, booked and handed-out drinks, and residents' ratings."""
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    partner_id, cities, campaign_id = await _campaign(today)
    campaign = await campaigns.get_campaign(campaign_id=campaign_id)
    imported = await _residents_and_runs(parser, cities, campaign.starts_on, today)
    sample = resources.files("warmrun.samples")
    first = await Resident.filter(display_name=RESIDENTS[0]).order_by("id").first()
    for entry in sorted(sample.iterdir(), key=lambda p: p.name):
        if first is not None and entry.name.endswith((".gpx", ".fit", ".tcx")):
            imported += await ingest.import_uploads(
                parser=parser,
                resident_id=first.id,
                uploads=[Upload(name=entry.name, data=entry.read_bytes())],
            )
    if first is not None:
        await _demo_accounts(partner_id, cities[0].id, first.id, first.compound_id)
    await demo_life.everyday_life(parser, campaign_id, cities, today)
    return DemoResult(campaign_id=campaign_id, imported=imported)


async def _campaign(today: date) -> tuple[int, list[City], int]:
    """The partner, the warm pack and its items, the four cities and the active campaign with
    its rules, pledge and badges: (partner id, cities, campaign id)."""
    partner = await campaigns.create_partner(name="壹基金 One Foundation")
    items = [
        await campaigns.create_item(code=c, name_zh=zh, name_en=en, unit_price_fen=p)
        for c, zh, en, p in ITEMS
    ]
    pack = await campaigns.create_bundle(
        code="warm-pack",
        name_zh="温暖包",
        name_en="Warm pack",
        price_fen=36_500,
        lines=[(i.id, 1) for i in items],
    )
    cities = [
        await campaigns.create_city(code=c, name_zh=zh, name_en=en, lat=la, lon=lo)
        for c, zh, en, la, lo in CITIES
    ]
    campaign = await campaigns.create_campaign(
        code=CAMPAIGN_CODE,
        name="骄邻环球跑 · Four-city warm run",
        partner_id=partner.id,
        goods_id=pack.id,
        # Four weeks in, two months to go (dates are kept when the demo runs again).
        starts_on=today - timedelta(days=27),
        ends_on=today + timedelta(days=62),
        city_goals={c.id: 100 * 36_500 for c in cities},
    )
    # The "10 km = 5 CNY" precedent for running; walking at 30 fen/km; 20 CNY a day at most.
    await campaigns.set_rule(
        campaign_id=campaign.id, sport="run", fen=50, per=1000, daily_cap_fen=2_000
    )
    await campaigns.set_rule(
        campaign_id=campaign.id, sport="walk", fen=30, per=1000, daily_cap_fen=2_000
    )
    await campaigns.set_points_rule(
        campaign_id=campaign.id, points_per_km=10, points_per_run=5, daily_cap=200
    )
    await campaigns.add_pledge(
        campaign_id=campaign.id, sponsor="天骄智慧服务 Tianjiao", cap_fen=5_000_000
    )
    await badges.install_defaults(campaign_id=campaign.id)
    if campaign.state == CampaignState.DRAFT:
        await campaigns.advance(campaign_id=campaign.id, to=CampaignState.ACTIVE)
    return partner.id, cities, campaign.id


# Generated residents: a surname and a given name, deterministic, so that running the demo
# again finds the same people.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "艳", "勇", "杰", "娟",
         "涛", "明", "超", "秀英", "霞", "平"]  # fmt: skip
RESIDENTS_PER_COMPOUND = 32
RUNS_PER_RESIDENT = 2


def resident_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]


async def _residents_and_runs(
    parser: Parser, cities: list[City], starts_on: date, today: date
) -> list[FileOutcome]:
    """Two compounds per city, each with its hot drink and 40 residents of every age, who
    each import two synthetic runs on days of the campaign so far: enough for at least one
    warm pack in every city."""
    imported: list[FileOutcome] = []
    seed = 0
    days = max((today - starts_on).days, 1)
    for city, (_, _, _, lat, lon) in zip(cities, CITIES, strict=True):
        for ci, name in enumerate(COMPOUNDS):
            compound = await campaigns.create_compound(
                city_id=city.id, name=f"{city.name_zh}·{name}", households=800 + 150 * ci
            )
            if not await Reward.filter(compound_id=compound.id).exists():
                await rewards.create_reward(
                    compound_id=compound.id,
                    name_zh="大堂热饮",
                    name_en="Hot drink at the lobby",
                    points_price=30,
                    stock=50,
                    needs_slot=True,
                )
            for ri in range(RESIDENTS_PER_COMPOUND):
                seed += 1
                resident = await _resident(compound.id, ri, seed)
                uploads = [
                    Upload(
                        name=f"{city.code.lower()}-{seed}-{k}.gpx",
                        data=_run(seed, k, starts_on, days, lat + 0.01 * ci, lon, city.name_en),
                    )
                    for k in range(RUNS_PER_RESIDENT)
                ]
                imported += await ingest.import_uploads(
                    parser=parser, resident_id=resident.id, uploads=uploads
                )
    return imported


async def _resident(compound_id: int, ri: int, seed: int) -> Resident:
    display = RESIDENTS[ri] if ri < len(RESIDENTS) else resident_name(seed)
    found = await Resident.filter(compound_id=compound_id, display_name=display).first()
    if found is not None:
        return found
    # Ages across the groups: a few seniors, mostly adults, some not given.
    year = [1952, 1961, 1975, 1983, 1990, 1996, None][seed % 7]
    return await campaigns.create_resident(
        compound_id=compound_id, display_name=display, body_mass_kg=50 + seed % 30,
        birth_year=year,
    )  # fmt: skip


def _run(seed: int, k: int, starts_on: date, days: int, lat: float, lon: float, city: str) -> bytes:
    """A morning run of about 7 km on a day of the campaign so far."""
    day = starts_on + timedelta(days=(seed * 3 + k * 11) % days)
    start = datetime(day.year, day.month, day.day, 22, 30, tzinfo=UTC) - timedelta(days=1)
    return synthetic_run_gpx(
        points=(2000 + (seed * 37 + k * 101) % 600) // 5,
        every_s=5,  # as phone apps record: five times fewer points to make and read
        start=start + timedelta(minutes=seed % 50),
        lat=lat + 0.001 * (seed % 9),
        lon=lon,
        pace_mps=2.7 + 0.1 * (seed % 5),
        seed=seed * 10 + k,
        name=f"{city} morning run",
    )


async def _demo_accounts(partner_id: int, city_id: int, resident_id: int, compound_id: int) -> None:
    """Sign-ins for trying every role (DEMO_PASSWORD; for a demo database only)."""
    staff = [
        ("admin@warmrun.example", Role.ADMIN, None, [], []),
        ("partner@warmrun.example", Role.PARTNER, partner_id, [], []),
        ("organizer@warmrun.example", Role.ORGANIZER, None, [city_id], []),
        ("desk@warmrun.example", Role.DESK, None, [], [compound_id]),
    ]
    for email, role, partner, city_ids, compound_ids in staff:
        if not await Account.filter(email=email).exists():
            await accounts.create_staff(
                email=email,
                password=DEMO_PASSWORD,
                role=role,
                partner_id=partner,
                city_ids=city_ids,
                compound_ids=compound_ids,
            )
    if not await Account.filter(email=DEMO_RESIDENT).exists():
        await Account.create(
            email=DEMO_RESIDENT,
            password_hash=await accounts.hash_password(DEMO_PASSWORD),
            role=Role.RESIDENT,
            resident_id=resident_id,
        )
