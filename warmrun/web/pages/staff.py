"""Partners' and organizers' pages: dashboard, review, desk, stock."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts, rewards, settlement, views
from warmrun.platform.errors import (
    Forbidden,
    LedgerTampered,
    NotFound,
    WarmrunError,
)
from warmrun.platform.models import Role
from warmrun.web import forms, scoped
from warmrun.web.errors import status_of
from warmrun.web.pages.base import Page, form_int, form_model
from warmrun.web.presenters import bar_chart_svg, line_chart_svg
from warmrun.web.routes.ledger import page_context


async def partner_home(p: Page, _: dict[str, Any]) -> Response:
    account = p.me()
    mine = [
        c
        for c in await views.campaign_list()
        if account.role is Role.ADMIN or c.partner_id == account.partner_id
    ]
    if len(mine) == 1:
        return p.redirect(f"/partner/{mine[0].code}")
    return p.render("partner_home.html", campaigns=mine)


async def partner_dashboard(p: Page, _: dict[str, Any]) -> Response:
    account = p.me()
    d = await views.dashboard(code=p.request.path_params["code"])
    if account.role is not Role.ADMIN and d.campaign.partner_id != account.partner_id:
        raise NotFound("campaign", "活动")
    try:
        v = await settlement.verify(campaign_id=d.campaign.id)
        verified: dict[str, Any] = {"ok": True, "entries": v.entries, "head": v.head_hash}
    except LedgerTampered as exc:
        verified = {"ok": False, "error": exc.message(p.lang)}
    report = await settlement.report(campaign_id=d.campaign.id)
    km_by_city = bar_chart_svg(
        [(c.name_en if p.lang == "en" else c.name_zh, c.metres // 1000) for c in d.cities],
        title="km / city",
        unit=" km",
    )
    total, series = 0, []
    for day in d.days:
        total += day["metres"]
        series.append((day["day"], total // 1000))
    over_time = line_chart_svg(series, title="km over time")
    return p.render(
        "partner.html",
        d=d,
        verified=verified,
        report=report,
        km_by_city=km_by_city,
        over_time=over_time,
        **await page_context(p.request, d.campaign.id),
    )


async def review_page(p: Page, data: dict[str, Any]) -> Response:
    account = p.me()
    scope = await accounts.organizer_city_ids(account)
    message, error, status = None, None, 200
    if p.request.method == "POST":
        ids = [v for k, v in data.items() if k.startswith("run_")]
        done = 0
        try:
            if ids:  # the same bounds as the API's bulk review
                b = form_model(
                    forms.BulkReview, data, run_ids=ids, accept=data.get("decision") == "accept"
                )
                for run_id in dict.fromkeys(b.run_ids):
                    try:
                        await scoped.review(account, run_id, accept=b.accept, note=b.note)
                        done += 1
                    except WarmrunError:
                        continue
            message = done
        except WarmrunError as exc:
            error, status = exc.message(p.lang), status_of(exc)
    items, total = await views.review_queue(city_ids=scope, offset=0, limit=50)
    return p.render(
        "review.html", status=status, items=items, total=total, done=message, error=error
    )


async def desk_page(p: Page, data: dict[str, Any]) -> Response:
    account = p.me()
    result, error = None, None
    if p.request.method == "POST":
        try:
            result = await scoped.fulfil(account, str(data.get("code", "")))
        except WarmrunError as exc:
            error = exc.message(p.lang)
    return p.render("desk.html", status=400 if error else 200, result=result, error=error)


async def stock_page(p: Page, data: dict[str, Any]) -> Response:
    """Rewards and stock of the organizer's compounds: offer a reward, restock one."""
    account = p.me()
    scope = await accounts.organizer_city_ids(account)
    error, done, status = None, False, 200
    if p.request.method == "POST":
        try:
            if data.get("action") == "restock":
                reward = await views.reward(reward_id=form_int(data, "reward_id") or 0)
                city = await views.compound_city(compound_id=reward.compound_id)
                if not await accounts.covers_city(account, city):
                    raise NotFound("reward", "奖品")
                add = form_model(forms.Restock, data).add
                await rewards.restock(reward_id=reward.id, add=add)
            else:
                new = form_model(forms.NewReward, data, needs_slot=data.get("needs_slot") == "on")
                city = await views.compound_city(compound_id=new.compound_id)
                if not await accounts.covers_city(account, city):
                    raise Forbidden()
                await rewards.create_reward(**new.model_dump())
            done = True
        except WarmrunError as exc:
            error, status = exc.message(p.lang), status_of(exc)
    return p.render(
        "stock.html",
        status=status,
        items=await views.rewards_in(city_ids=scope),
        places=await views.places(city_ids=scope),
        error=error,
        done=done,
    )
