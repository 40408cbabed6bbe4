"""A small two-city campaign with an account for every role, built through the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from warmrun.platform import accounts, campaigns, rewards
from warmrun.platform.models import CampaignState, Role

PASSWORD = "correct horse battery"


@dataclass
class Site:
    campaign: str
    city: int  # Suzhou: the residents' city
    other_city: int  # Chongqing
    compound: int
    other_compound: int
    drink: int  # hot drink reward in the residents' compound
    other_drink: int  # hot drink in the Chongqing compound
    emails: dict[str, str] = field(default_factory=dict)


async def build_site() -> Site:
    partner = await campaigns.create_partner(name="One Foundation")
    other_partner = await campaigns.create_partner(name="Another Charity")
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
    sz = await campaigns.create_city(
        code="SZ", name_zh="苏州", name_en="Suzhou", lat=31.2989, lon=120.5853
    )
    cq = await campaigns.create_city(
        code="CQ", name_zh="重庆", name_en="Chongqing", lat=29.563, lon=106.5516
    )
    home = await campaigns.create_compound(city_id=sz.id, name="天骄花园", households=800)
    away = await campaigns.create_compound(city_id=cq.id, name="湖畔雅苑", households=600)
    # A wide period so that real recordings from past years count.
    c = await campaigns.create_campaign(
        code="warm",
        name="Warm run",
        partner_id=partner.id,
        goods_id=pack.id,
        starts_on=date(2010, 1, 1),
        ends_on=date(2030, 12, 31),
        city_goals={sz.id: 365_000, cq.id: 365_000},
    )
    await campaigns.set_rule(campaign_id=c.id, sport="run", fen=50, per=1000)
    await campaigns.set_rule(campaign_id=c.id, sport="walk", fen=30, per=1000)
    await campaigns.set_points_rule(campaign_id=c.id, points_per_km=10, points_per_run=5)
    await campaigns.add_pledge(campaign_id=c.id, sponsor="Sponsor A", cap_fen=1_000_000)
    await campaigns.advance(campaign_id=c.id, to=CampaignState.ACTIVE)
    drink = await rewards.create_reward(
        compound_id=home.id,
        name_zh="大堂热饮",
        name_en="Hot drink",
        points_price=30,
        stock=5,
        needs_slot=True,
    )
    other_drink = await rewards.create_reward(
        compound_id=away.id, name_zh="大堂热饮", name_en="Hot drink", points_price=30, stock=5
    )
    site = Site(c.code, sz.id, cq.id, home.id, away.id, drink.id, other_drink.id)
    staff = [
        ("admin", Role.ADMIN, None, []),
        ("partner", Role.PARTNER, partner.id, []),
        ("other_partner", Role.PARTNER, other_partner.id, []),
        ("organizer", Role.ORGANIZER, None, [sz.id]),
        ("other_organizer", Role.ORGANIZER, None, [cq.id]),
    ]
    for name, role, p, cities in staff:
        email = f"{name}@example.org"
        await accounts.create_staff(
            email=email, password=PASSWORD, role=role, partner_id=p, city_ids=cities
        )
        site.emails[name] = email
    for name, compound in (
        ("resident", home.id),
        ("other_resident", home.id),
        ("far_resident", away.id),
    ):
        email = f"{name}@example.org"
        await accounts.sign_up_resident(
            email=email, password=PASSWORD, display_name=name, compound_id=compound
        )
        site.emails[name] = email
    return site
