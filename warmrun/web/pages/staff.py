"""Partners' and organizers' pages: dashboard, review, stock (the desk: ``bookings``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts, campaign_views, rewards, settlement, views
from warmrun.platform.errors import (
    Forbidden,
    InvalidInput,
    LedgerTampered,
    NotFound,
    WarmrunError,
)
from warmrun.platform.kinds import Role
from warmrun.web import forms, scoped
from warmrun.web.pages.base import Page, form_int, form_model
from warmrun.web.presenters import bar_chart_svg, line_chart_svg
from warmrun.web.routes.ledger import page_context


async def partner_home(p: Page, _: dict[str, Any]) -> Response:
    account = p.me()
    mine = [
        c
        for c in await campaign_views.campaign_list()
        if account.role is Role.ADMIN or c.partner_id == account.partner_id
    ]
    if len(mine) == 1:
        return p.redirect(f"/partner/{mine[0].code}")
    return p.render("partner_home.html", campaigns=mine)


async def partner_dashboard(p: Page, _: dict[str, Any]) -> Response:
    account = p.me()
    d = await campaign_views.dashboard(code=p.request.path_params["code"])
    if account.role is not Role.ADMIN and d.campaign.partner_id != account.partner_id:
        raise NotFound("campaign", "活动")
    km_by_city, over_time = _charts(d, p.lang)
    return p.render(
        "partner.html",
        d=d,
        verified=await _verified(p, d.campaign.id),
        km_by_city=km_by_city,
        over_time=over_time,
        **await page_context(p.request, d.campaign.id),
    )


async def _verified(p: Page, campaign_id: int) -> dict[str, Any] | None:
    """Whether the campaign's ledger verifies (a broken chain is shown, not raised); None
    unless asked for (``?verify=1``): at a million entries the check takes seconds, and the
    page itself reads only the kept totals."""
    if p.request.query_params.get("verify") != "1":
        return None
    try:
        v = await settlement.verify(campaign_id=campaign_id)
    except LedgerTampered as exc:
        return {"ok": False, "error": exc.message(p.lang)}
    return {"ok": True, "entries": v.entries, "head": v.head_hash}


def _charts(d: campaign_views.Dashboard, lang: str) -> tuple[str, str]:
    """Kilometres per city, and kilometres over time."""
    km_by_city = bar_chart_svg(
        [(c.name_en if lang == "en" else c.name_zh, c.metres // 1000) for c in d.cities],
        title="km / city",
        unit=" km",
    )
    total, series = 0, []
    for day in d.days:
        total += day["metres"]
        series.append((day["day"], total // 1000))
    return km_by_city, line_chart_svg(series, title="km over time")


async def review_page(p: Page, data: dict[str, Any]) -> Response:
    scope = await accounts.organizer_city_ids(p.me())
    done = await p.attempt(_bulk_review(p, data)) if p.posted else None
    items, total = await views.review_queue(city_ids=scope, offset=0, limit=50)
    return p.render("review.html", items=items, total=total, done=done)


async def _bulk_review(p: Page, data: dict[str, Any]) -> int:
    """The runs ticked on the page, reviewed one by one (the same bounds as the API's bulk
    review); how many were reviewed."""
    ids = [v for k, v in data.items() if k.startswith("run_")]
    if not ids:
        raise InvalidInput("run_ids", "tick at least one run", "请至少勾选一条记录")
    b = form_model(forms.BulkReview, data, run_ids=ids, accept=data.get("decision") == "accept")
    done = 0
    for run_id in dict.fromkeys(b.run_ids):
        try:
            await scoped.review(p.me(), run_id, accept=b.accept, note=b.note)
            done += 1
        except WarmrunError:
            continue
    return done


async def stock_page(p: Page, data: dict[str, Any]) -> Response:
    """Rewards and stock of the caller's compounds: restock one; organizers also offer new
    rewards (desk staff keep the stock, the price is the organizers')."""
    done = p.posted and await p.attempt(_stock_action(p, data)) is not None
    me = p.me()
    organizer = me.role is not Role.DESK
    scope = await accounts.organizer_city_ids(me)
    return p.render(
        "stock.html",
        items=await views.rewards_in(compound_ids=await accounts.compound_ids(me)),
        places=await campaign_views.places(city_ids=scope) if organizer else [],
        done=done,
    )


async def _stock_action(p: Page, data: dict[str, Any]) -> bool:
    """Restock a reward of the caller's compounds, or offer a new one (organizers)."""
    if data.get("action") == "restock":
        await scoped.restock(
            p.me(), form_int(data, "reward_id") or 0, form_model(forms.Restock, data).add
        )
    else:
        if p.me().role is Role.DESK:
            raise Forbidden()
        new = form_model(forms.NewReward, data, needs_slot=data.get("needs_slot") == "on")
        await accounts.check_compound(p.me(), new.compound_id)
        await rewards.create_reward(**new.model_dump())
    return True


async def report_page(p: Page, _: dict[str, Any]) -> Response:
    """The settlement report, printable (and saved to PDF from the browser's print): for the
    campaign's partner, its organizers and admins. Before settlement, a marked preview."""
    c = await campaign_views.campaign_summary(code=p.request.path_params["code"])
    if not await accounts.can_see_campaign(p.me(), c.id, partner_id=c.partner_id):
        raise NotFound("campaign", "活动")
    report = await settlement.current_report(campaign_id=c.id)
    return p.render("report.html", r=report, settled=c.state == "settled")
