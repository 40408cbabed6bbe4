"""Campaign set-up: cities, compounds, partners, goods and bundles, campaigns, conversion and
points rules, sponsor pledges, staff accounts. Admins set up what spans cities; organizers
add compounds in their cities and tune the rules of campaigns that lie wholly in them."""

from __future__ import annotations

from typing import Any

from warmrun.platform import accounts, campaign_views, campaigns
from warmrun.platform.kinds import Basis, CampaignState, Role, SettlementMode
from warmrun.web import forms
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.routes import api
from warmrun.web.routes.organizer import whole_campaign


@api.route(
    "POST",
    "/api/v1/setup/cities",
    access=Access.ADMIN,
    tag="setup",
    body=forms.NewCity,
    summary="Add a city (returns the existing one with that code)",
)
async def new_city(ctx: Ctx) -> dict[str, Any]:
    c = await campaigns.create_city(**ctx.body.model_dump())
    return {"city": {"id": c.id, "code": c.code, "name_zh": c.name_zh, "name_en": c.name_en}}


@api.route(
    "POST",
    "/api/v1/setup/compounds",
    access=Access.ORGANIZER,
    tag="setup",
    body=forms.NewCompound,
    summary="Add a compound in one of my cities",
)
async def new_compound(ctx: Ctx) -> dict[str, Any]:
    b: forms.NewCompound = ctx.body
    await accounts.check_city(ctx.me(), b.city_id)
    c = await campaigns.create_compound(city_id=b.city_id, name=b.name, households=b.households)
    return {
        "compound": {"id": c.id, "city_id": c.city_id, "name": c.name, "households": c.households}
    }


@api.route(
    "POST",
    "/api/v1/setup/partners",
    access=Access.ADMIN,
    tag="setup",
    body=forms.NewPartner,
    summary="Add a charity partner",
)
async def new_partner(ctx: Ctx) -> dict[str, Any]:
    p = await campaigns.create_partner(name=ctx.body.name)
    return {"partner": {"id": p.id, "name": p.name}}


@api.route(
    "POST",
    "/api/v1/setup/goods",
    access=Access.ADMIN,
    tag="setup",
    body=forms.NewItem,
    summary="Add a goods item at its unit price",
)
async def new_item(ctx: Ctx) -> dict[str, Any]:
    g = await campaigns.create_item(**ctx.body.model_dump())
    return {"goods": {"id": g.id, "code": g.code, "unit_price_fen": g.unit_price_fen}}


@api.route(
    "POST",
    "/api/v1/setup/bundles",
    access=Access.ADMIN,
    tag="setup",
    body=forms.NewBundle,
    summary="Add a bundle of goods at its own price (a warm pack)",
)
async def new_bundle(ctx: Ctx) -> dict[str, Any]:
    b: forms.NewBundle = ctx.body
    g = await campaigns.create_bundle(
        code=b.code,
        name_zh=b.name_zh,
        name_en=b.name_en,
        price_fen=b.price_fen,
        lines=[(line.goods_id, line.quantity) for line in b.lines],
    )
    return {"goods": {"id": g.id, "code": g.code, "unit_price_fen": g.unit_price_fen}}


@api.route(
    "POST",
    "/api/v1/setup/campaigns",
    access=Access.ADMIN,
    tag="setup",
    body=forms.NewCampaign,
    summary="Create a campaign (draft) with its cities and goals",
)
async def new_campaign(ctx: Ctx) -> dict[str, Any]:
    b: forms.NewCampaign = ctx.body
    c = await campaigns.create_campaign(
        code=b.code,
        name=b.name,
        partner_id=b.partner_id,
        goods_id=b.goods_id,
        starts_on=b.starts_on,
        ends_on=b.ends_on,
        city_goals={g.city_id: g.goal_fen for g in b.cities},
        settlement_mode=SettlementMode(b.settlement_mode),
    )
    return {"campaign": await campaign_views.campaign_summary(code=c.code)}


@api.route(
    "PUT",
    "/api/v1/campaigns/{code}/rules/{sport}",
    access=Access.ORGANIZER,
    tag="setup",
    body=forms.Rule,
    summary="Set the conversion rule of a sport (run/walk), now or from a later time",
)
async def set_rule(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await whole_campaign(ctx, ctx.path["code"])
    b: forms.Rule = ctx.body
    r = await campaigns.set_rule(
        campaign_id=campaign_id,
        sport=ctx.path["sport"],
        fen=b.fen,
        per=b.per,
        basis=Basis(b.basis),
        daily_cap_fen=b.daily_cap_fen,
        effective_from=b.effective_from,
    )
    rule = {"sport": r.sport, "fen": r.fen, "per": r.per, "basis": str(r.basis)}
    return {"rule": {**rule, "daily_cap_fen": r.daily_cap_fen}}


@api.route(
    "PUT",
    "/api/v1/campaigns/{code}/points-rule",
    access=Access.ORGANIZER,
    tag="setup",
    body=forms.PointsRuleForm,
    summary="Set how runs earn community points",
)
async def set_points_rule(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await whole_campaign(ctx, ctx.path["code"])
    r = await campaigns.set_points_rule(campaign_id=campaign_id, **ctx.body.model_dump())
    return {
        "points_rule": {
            "points_per_km": r.points_per_km,
            "points_per_run": r.points_per_run,
            "daily_cap": r.daily_cap,
            "expire_after_days": r.expire_after_days,
            "expiry_notice_days": r.expiry_notice_days,
        }
    }


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/pledges",
    access=Access.ORGANIZER,
    tag="setup",
    body=forms.Pledge,
    summary="Add a sponsor pledge (per-km money up to a cap)",
)
async def add_pledge(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await whole_campaign(ctx, ctx.path["code"])
    p = await campaigns.add_pledge(campaign_id=campaign_id, **ctx.body.model_dump())
    return {
        "pledge": {"id": p.id, "sponsor": p.sponsor, "cap_fen": p.cap_fen, "priority": p.priority}
    }


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/activate",
    access=Access.ORGANIZER,
    tag="setup",
    summary="Open a draft campaign for credit",
)
async def activate(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await whole_campaign(ctx, ctx.path["code"])
    c = await campaigns.advance(campaign_id=campaign_id, to=CampaignState.ACTIVE)
    return {"state": str(c.state)}


@api.route(
    "POST",
    "/api/v1/setup/staff",
    access=Access.ADMIN,
    tag="setup",
    body=forms.NewStaff,
    summary="Create a partner, organizer, desk staff or admin account",
)
async def new_staff(ctx: Ctx) -> dict[str, Any]:
    b: forms.NewStaff = ctx.body
    a = await accounts.create_staff(
        email=b.email,
        password=b.password,
        role=Role(b.role),
        partner_id=b.partner_id,
        city_ids=b.city_ids,
        compound_ids=b.compound_ids,
    )
    return {"account": {"id": a.id, "email": a.email, "role": str(a.role)}}


@api.route(
    "POST",
    "/api/v1/setup/compounds/{compound_id:int}/households",
    access=Access.ORGANIZER,
    tag="setup",
    body=forms.Households,
    summary="Correct a compound's registered households (a compound in one of my cities)",
)
async def set_households(ctx: Ctx) -> dict[str, Any]:
    compound_id = ctx.path["compound_id"]
    await accounts.check_compound(ctx.me(), compound_id)
    c = await campaigns.set_households(compound_id=compound_id, households=ctx.body.households)
    return {
        "compound": {"id": c.id, "city_id": c.city_id, "name": c.name, "households": c.households}
    }
