"""Badges, in-app notifications and impact cards."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response

from warmrun.leaderboard.boards import Boards
from warmrun.leaderboard.campaigns import clocks
from warmrun.platform import accounts, badges, campaign_views, challenges, clock, notices, views
from warmrun.web import cards, forms, i18n
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.routes import api
from warmrun.web.routes.organizer import whole_campaign


@api.route(
    "GET",
    "/api/v1/me/badges",
    access=Access.RESIDENT,
    tag="game",
    summary="The badges of my campaigns, and which I hold",
)
async def my_badges(ctx: Ctx) -> dict[str, Any]:
    return {"items": await badges.of_resident(resident_id=ctx.resident_id())}


@api.route(
    "GET",
    "/api/v1/me/notifications",
    access=Access.RESIDENT,
    tag="game",
    query=forms.Page,
    summary="My notifications, newest first, with the unread count",
)
async def my_notifications(ctx: Ctx) -> dict[str, Any]:
    items, total, unread = await notices.of_resident(
        resident_id=ctx.resident_id(), lang=ctx.lang, offset=ctx.query.offset, limit=ctx.query.limit
    )
    return {"items": items, "total": total, "unread": unread}


@api.route(
    "POST",
    "/api/v1/me/notifications/read",
    access=Access.RESIDENT,
    tag="game",
    summary="Mark all my notifications read",
)
async def read_notifications(ctx: Ctx) -> dict[str, Any]:
    return {"marked": await notices.mark_read(resident_id=ctx.resident_id())}


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/badges",
    access=Access.ORGANIZER,
    tag="game",
    body=forms.NewBadge,
    summary="Add or change a badge: a rule kind, its threshold and the points it awards",
)
async def new_badge(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await whole_campaign(ctx, ctx.path["code"])
    b = await badges.add_badge(campaign_id=campaign_id, **ctx.body.model_dump())
    return {"badge": {"id": b.id, "code": b.code, "kind": b.kind, "threshold": b.threshold}}


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/badges/defaults",
    access=Access.ORGANIZER,
    tag="game",
    summary="Install the standard badges (first run, 10/100/500 km, stations, streaks ...)",
)
async def default_badges(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await whole_campaign(ctx, ctx.path["code"])
    return {"items": [b.code for b in await badges.install_defaults(campaign_id=campaign_id)]}


async def _resident_card(ctx: Ctx, code: str) -> bytes:
    rid = ctx.resident_id()
    d = await campaign_views.dashboard(code=code, compounds_limit=0)
    mine = next((i for i in await views.impact(resident_id=rid) if i.campaign_code == code), None)
    metres = mine.metres if mine else 0
    permille = mine.goods_permille if mine else 0
    rank = None
    if ctx.redis is not None:
        window = (await clocks())[d.campaign.id].current(clock.now(), "campaign")
        found = await Boards(ctx.redis).rank(d.campaign.id, rid, window)
        rank = found[0] if found else None
    balance = (await views.points_of(resident_id=rid, offset=0, limit=0)).balance
    name = await views.resident_name(resident_id=rid)
    zh = ctx.lang.startswith("zh")
    goods = d.goods_zh if zh else d.goods_en
    card = cards.Card(
        campaign=d.campaign.name,
        who=name,
        headline=(
            f"我为山区孩子跑出了 {cards.packs(permille)} 个{goods}"
            if zh
            else f"I ran {cards.packs(permille)} × {goods} for children in mountain areas"
        ),
        figures=[
            ("公里" if zh else "km", i18n.km(metres, ctx.lang)),
            ("排名" if zh else "rank", f"#{rank}" if rank else "–"),
            ("积分" if zh else "points", str(balance)),
        ],
        footer=FOOTER_ZH if zh else FOOTER_EN,
    )
    return await asyncio.to_thread(cards.render, card)


FOOTER_ZH = "温暖同行 · 你跑的每一公里，都会变成山区孩子的棉衣和文具"
FOOTER_EN = "warmrun · every kilometre becomes coats and school things"


def _png(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type="image/png",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )


@api.route(
    "GET",
    "/api/v1/me/impact-card.png",
    access=Access.RESIDENT,
    tag="game",
    query=forms.CardQuery,
    produces="image/png",
    summary="My impact card for a campaign: a PNG to share",
)
async def my_card(ctx: Ctx) -> Response:
    return _png(await _resident_card(ctx, ctx.query.campaign), f"warmrun-{ctx.query.campaign}.png")


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/compounds/{compound_id:int}/impact-card.png",
    access=Access.PUBLIC,
    tag="game",
    produces="image/png",
    summary="A compound's impact card: a PNG to share",
)
async def compound_card(ctx: Ctx) -> Response:
    code = ctx.path["code"]
    d = await campaign_views.dashboard(code=code, compounds_limit=0)
    area = await campaign_views.compound_area(code=code, compound_id=ctx.path["compound_id"])
    card = _compound_card(d, area, ctx.lang)
    return _png(await asyncio.to_thread(cards.render, card), f"warmrun-compound-{area.id}.png")


def _compound_card(
    d: campaign_views.Dashboard, area: campaign_views.AreaTotals, lang: str
) -> cards.Card:
    zh = lang.startswith("zh")
    goods = d.goods_zh if zh else d.goods_en
    permille = max(area.funded_fen, 0) * 1000 // d.goods_price_fen
    return cards.Card(
        campaign=d.campaign.name,
        who=area.name_zh,
        headline=(
            f"我们小区为山区孩子跑出了 {cards.packs(permille)} 个{goods}"
            if zh
            else f"Our compound ran {cards.packs(permille)} × {goods} "
            "for children in mountain areas"
        ),
        figures=[
            ("公里" if zh else "km", i18n.km(area.metres, lang)),
            ("参与人数" if zh else "runners", str(area.participants)),
        ],
        footer=FOOTER_ZH if zh else FOOTER_EN,
    )


async def _organizes_all(ctx: Ctx, compound_ids: list[int]) -> None:
    """Challenges span compounds: the caller must organize every one's city."""
    for compound_id in compound_ids:
        await accounts.check_compound(ctx.me(), compound_id)


def _standings_view(s: challenges.Standings) -> dict[str, Any]:
    c = s.challenge
    return {
        "challenge": {
            "id": c.id,
            "name": c.name,
            "starts_on": c.starts_on,
            "ends_on": c.ends_on,
            "target_m_per_household": c.target_m_per_household,
            "person_cap_m": c.person_cap_m,
            "settled_at": c.settled_at,
        },
        "teams": [
            {
                "rank": i,
                "compound_id": t.compound_id,
                "compound": s.names[t.compound_id],
                "counted_m": t.counted_m,
                "households": t.households,
                "per_household_m": t.per_household_mm / 1000,
                "target_permille": t.target_permille,
            }
            for i, t in enumerate(s.teams, start=1)
        ],
    }


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/challenges",
    access=Access.ORGANIZER,
    tag="game",
    body=forms.NewChallenge,
    summary="Group compounds for a period against a per-household target",
)
async def new_challenge(ctx: Ctx) -> dict[str, Any]:
    c = await campaign_views.campaign_summary(code=ctx.path["code"])
    await _organizes_all(ctx, ctx.body.compound_ids)
    made = await challenges.create_challenge(campaign_id=c.id, **ctx.body.model_dump())
    return _standings_view(await challenges.standings(challenge_id=made.id))


@api.route(
    "GET",
    "/api/v1/challenges/{challenge_id:int}",
    access=Access.PUBLIC,
    tag="game",
    summary="A challenge's standings: per-household scores, each resident counted up to the cap",
)
async def challenge_standings(ctx: Ctx) -> dict[str, Any]:
    return _standings_view(await challenges.standings(challenge_id=ctx.path["challenge_id"]))


@api.route(
    "POST",
    "/api/v1/challenges/{challenge_id:int}/settle",
    access=Access.ORGANIZER,
    tag="game",
    summary="After the end: post every participant's challenge points (once)",
)
async def settle_challenge(ctx: Ctx) -> dict[str, Any]:
    s = await challenges.standings(challenge_id=ctx.path["challenge_id"])
    await _organizes_all(ctx, list(s.names))
    return {"points": await challenges.settle(challenge_id=s.challenge.id)}
