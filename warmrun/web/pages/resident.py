"""Residents' pages: impact, runs, points, shop, pickup codes, account."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from warmrun.leaderboard.boards import Boards
from warmrun.leaderboard.campaigns import clocks
from warmrun.platform import (
    accounts,
    badges,
    clock,
    maps,
    notices,
    privacy_zones,
    rewards,
    transparency,
    views,
)
from warmrun.platform.errors import (
    InvalidInput,
    NotFound,
    WarmrunError,
)
from warmrun.platform.privacy import MAX_ZONES, Zone
from warmrun.web import forms, ratelimit
from warmrun.web.codes import member_code
from warmrun.web.pages.base import Page, form_int
from warmrun.web.presenters import qr_svg, track_svg


async def me_page(p: Page, _: dict[str, Any]) -> Response:
    rid = p.resident_id()
    recent, total = await views.runs_of(resident_id=rid, offset=0, limit=5)
    impact = await views.impact(resident_id=rid)
    ranks = []
    redis = p.request.app.state.redis
    if redis is not None:
        all_clocks = await clocks()
        for i in impact:
            c = await views.campaign_summary(code=i.campaign_code)
            window = all_clocks[c.id].current(clock.now(), "campaign")
            mine = await Boards(redis).rank(c.id, rid, window)
            ranks.append((i.campaign_code, mine[0] if mine else None))
    points = await views.points_of(resident_id=rid, offset=0, limit=0)
    return p.render(
        "me.html",
        runs=recent,
        total=total,
        impact=impact,
        ranks=dict(ranks),
        balance=points.balance,
        member_code=member_code(str(p.settings.secret_key), rid),
        badges=[b for b in await badges.of_resident(resident_id=rid) if b["held"]],
        notices=(await notices.of_resident(resident_id=rid, lang=p.lang, limit=5))[0],
        proofs=await transparency.checkpointed([i.campaign_code for i in impact]),
    )


async def runs_page(p: Page, _: dict[str, Any]) -> Response:
    offset = max(0, int(p.request.query_params.get("offset", "0") or 0))
    items, total = await views.runs_of(resident_id=p.resident_id(), offset=offset, limit=20)
    return p.render("runs.html", runs=items, total=total, offset=offset)


async def run_page(p: Page, _: dict[str, Any]) -> Response:
    run = await views.run(run_id=p.request.path_params["run_id"])
    if run.resident_id != p.resident_id():
        raise NotFound("run", "跑步记录")
    shown = await maps.shown_segments(parser=p.parser, run_id=run.id, owner_id=run.resident_id)
    return p.render("run.html", run=run, map=track_svg(shown, title=run.file_name))


async def points_page(p: Page, _: dict[str, Any]) -> Response:
    pts = await views.points_of(resident_id=p.resident_id(), offset=0, limit=100)
    return p.render("points.html", points=pts)


async def shop_page(p: Page, data: dict[str, Any]) -> Response:
    rid = p.resident_id()
    error = None
    if p.request.method == "POST":
        try:
            await ratelimit.check(p.request.app.state.redis, ratelimit.REDEEM, str(rid))
            key = str(data.get("idempotency_key", ""))[:64] or uuid.uuid4().hex
            slot = str(data.get("slot", "")).strip()[:32] or None
            r = await rewards.redeem(
                resident_id=rid,
                reward_id=form_int(data, "reward_id") or 0,
                idempotency_key=f"{rid}:{key}",
                slot=slot,
            )
            return p.redirect(f"/me/redemptions/{r.code}")
        except WarmrunError as exc:
            error = exc.message(p.lang)
    items = await views.rewards_for(resident_id=rid)
    pts = await views.points_of(resident_id=rid, offset=0, limit=0)
    mine = await views.redemptions(resident_id=rid)
    return p.render(
        "shop.html",
        status=400 if error else 200,
        items=items,
        balance=pts.balance,
        redemptions=mine,
        error=error,
        key=uuid.uuid4().hex,
    )


async def redemption_page(p: Page, data: dict[str, Any]) -> Response:
    rid = p.resident_id()
    code = p.request.path_params["code"]
    found = await views.redemptions(resident_id=rid, code=code)
    if not found:
        raise NotFound("pickup code", "取货码")
    if p.request.method == "POST":
        await rewards.cancel(code=found[0].code, resident_id=rid)
        return p.redirect(f"/me/redemptions/{found[0].code}")
    return p.render("redemption.html", r=found[0], qr=qr_svg(found[0].code).decode())


async def account_page(p: Page, data: dict[str, Any]) -> Response:
    account = p.me()
    error = None
    new_token = None
    if p.request.method == "POST":
        action = data.get("action")
        try:
            if action == "logout_everywhere":
                await accounts.end_all_sessions(account_id=account.id)
                response = p.redirect("/login")
                await p.sign_out(response)
                return response
            if action == "new_token":
                issued = await accounts.issue_token(
                    account_id=account.id,
                    name=str(data.get("name", "")),
                    lifetime=p.settings.token_lifetime,
                )
                new_token = issued.token
                action = None
            if action == "privacy":
                await _save_privacy(p.resident_id(), data)
                return p.redirect("/me/account#privacy")
            if action == "revoke_token":
                await accounts.revoke_token(
                    account_id=account.id, token_id=form_int(data, "token_id") or 0
                )
                return p.redirect("/me/account#tokens")
            if action == "erase":
                await ratelimit.guarded_sign_in(
                    p.request.app.state.redis,
                    email=account.email,
                    password=str(data.get("password", "")),
                    address=p.request.client.host if p.request.client else "?",
                )
                await accounts.erase_resident(account_id=account.id)
                response = p.redirect("/")
                await p.sign_out(response)
                return response
            if action is not None:
                raise InvalidInput("action", "unknown", "未知操作")
        except WarmrunError as exc:
            error = exc.message(p.lang)
    policy = None
    if account.resident_id is not None:
        policy = await privacy_zones.policy_of(resident_id=account.resident_id)
    return p.render(
        "account.html",
        status=400 if error else 200,
        error=error,
        new_token=new_token,
        tokens=await accounts.tokens_of(account_id=account.id),
        privacy=policy,
        zone_rows=range(MAX_ZONES),
    )


async def _save_privacy(resident_id: int, data: dict[str, Any]) -> None:
    """The account page's privacy form, checked by the API's own request model."""
    zones = []
    for i in range(MAX_ZONES):
        row = {k: str(data.get(f"zone_{k}_{i}", "")).strip() for k in ("lat", "lon", "radius_m")}
        if any(row.values()):
            zones.append(row)
    try:
        settings = forms.PrivacySettings.model_validate(
            {"radius_m": str(data.get("radius_m", "")).strip() or 200, "zones": zones}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        raise InvalidInput(field, first["msg"], "位置或距离无效") from exc
    await privacy_zones.set_policy(
        resident_id=resident_id,
        radius_m=settings.radius_m,
        zones=[Zone(lat=z.lat, lon=z.lon, radius_m=z.radius_m) for z in settings.zones],
    )


async def card_page(p: Page, _: dict[str, Any]) -> Response:
    return p.render("card.html", impact=await views.impact(resident_id=p.resident_id()))
