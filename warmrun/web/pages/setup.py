"""Set-up pages: admins add cities, goods and campaigns; organizers add compounds in their
cities and run the campaigns that lie wholly in them (rules, points, pledges, state)."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts, campaigns, views
from warmrun.platform.errors import Forbidden, InvalidInput, WarmrunError
from warmrun.platform.models import Basis, CampaignState, Role
from warmrun.web.errors import status_of
from warmrun.web.pages.base import Page, form_int
from warmrun.web.routes.payments import collect_pledge


def _text(data: dict[str, Any], name: str, limit: int = 128) -> str:
    value = str(data.get(name, "")).strip()
    if not value:
        raise InvalidInput(name, "required", "必填")
    return value[:limit]


def _day(data: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(str(data.get(name, "")))
    except ValueError:
        raise InvalidInput(name, "a date (YYYY-MM-DD)", "日期格式应为 YYYY-MM-DD") from None


async def _setup_action(p: Page, data: dict[str, Any]) -> None:
    account = p.me()
    admin = account.role is Role.ADMIN
    action = data.get("action")
    if action == "compound":
        city_id = form_int(data, "city_id") or 0
        if not await accounts.covers_city(account, city_id):
            raise Forbidden()
        await campaigns.create_compound(
            city_id=city_id, name=_text(data, "name"), households=form_int(data, "households") or 0
        )
        return
    if not admin:
        raise Forbidden()
    if action == "city":
        await campaigns.create_city(
            code=_text(data, "code", 32),
            name_zh=_text(data, "name_zh", 64),
            name_en=_text(data, "name_en", 64),
        )
    elif action == "goods":
        await campaigns.create_item(
            code=_text(data, "code", 64),
            name_zh=_text(data, "name_zh"),
            name_en=_text(data, "name_en"),
            unit_price_fen=form_int(data, "unit_price_fen") or 0,
        )
    elif action == "partner":
        await campaigns.create_partner(name=_text(data, "name"))
    elif action == "campaign":
        cities = [int(v) for k, v in data.items() if k.startswith("city_") and str(v).isdigit()]
        if not cities:
            raise InvalidInput("cities", "choose at least one city", "请至少选择一个城市")
        goal = form_int(data, "goal_fen", required=False) or 0
        await campaigns.create_campaign(
            code=_text(data, "code", 64),
            name=_text(data, "name", 200),
            partner_id=form_int(data, "partner_id") or 0,
            goods_id=form_int(data, "goods_id") or 0,
            starts_on=_day(data, "starts_on"),
            ends_on=_day(data, "ends_on"),
            city_goals={c: goal for c in cities},
        )
    else:
        raise InvalidInput("action", "unknown", "未知操作")


async def setup_home(p: Page, data: dict[str, Any]) -> Response:
    error, status, done = None, 200, False
    if p.request.method == "POST":
        try:
            await _setup_action(p, data)
            done = True
        except WarmrunError as exc:
            error, status = exc.message(p.lang), status_of(exc)
    account = p.me()
    scope = await accounts.organizer_city_ids(account)
    mine = [
        c for c in await views.campaign_list() if await accounts.runs_whole_campaign(account, c.id)
    ]
    catalogue = await views.catalogue()
    cities = [c for c in catalogue.cities if scope is None or c["id"] in scope]
    return p.render(
        "setup.html",
        status=status,
        error=error,
        done=done,
        campaigns=mine,
        catalogue=catalogue,
        cities=cities,
        admin=account.role is Role.ADMIN,
    )


async def _campaign_action(campaign_id: int, data: dict[str, Any]) -> None:
    action = data.get("action")
    if action == "rule":
        sport = str(data.get("sport"))
        if sport not in ("run", "walk"):
            raise InvalidInput("sport", "run or walk", "跑步或步行")
        cap = form_int(data, "daily_cap_fen", required=False)
        await campaigns.set_rule(
            campaign_id=campaign_id,
            sport=sport,
            fen=form_int(data, "fen") or 0,
            per=form_int(data, "per") or 0,
            basis=Basis.KCAL if data.get("basis") == "kcal" else Basis.METRES,
            daily_cap_fen=cap,
        )
    elif action == "points":
        await campaigns.set_points_rule(
            campaign_id=campaign_id,
            points_per_km=form_int(data, "points_per_km") or 0,
            points_per_run=form_int(data, "points_per_run") or 0,
            daily_cap=form_int(data, "daily_cap", required=False),
        )
    elif action == "pledge":
        await campaigns.add_pledge(
            campaign_id=campaign_id,
            sponsor=_text(data, "sponsor"),
            cap_fen=form_int(data, "cap_fen") or 0,
            priority=form_int(data, "priority") or 0,
        )
    elif action in ("active", "closed"):
        await campaigns.advance(campaign_id=campaign_id, to=CampaignState(action))
    else:
        raise InvalidInput("action", "unknown", "未知操作")


async def setup_campaign(p: Page, data: dict[str, Any]) -> Response:
    summary = await views.campaign_summary(code=p.request.path_params["code"])
    if not await accounts.runs_whole_campaign(p.me(), summary.id):
        raise Forbidden()
    error, status, done = None, 200, False
    collected: dict[str, Any] | None = None
    if p.request.method == "POST":
        try:
            if data.get("action") in ("prepay", "settle"):
                payment, refunded = await collect_pledge(
                    p.request,
                    lang=p.lang,
                    code=summary.code,
                    campaign_id=summary.id,
                    pledge_id=form_int(data, "pledge_id") or 0,
                    kind=str(data["action"]),
                )
                collected = {
                    "url": payment.checkout_url if payment is not None else "",
                    "amount_fen": payment.amount_fen if payment is not None else 0,
                    "refunded_fen": refunded,
                }
            else:
                await _campaign_action(summary.id, data)
            done = True
        except WarmrunError as exc:
            error, status = exc.message(p.lang), status_of(exc)
    s = await views.campaign_setup(code=summary.code)
    return p.render(
        "setup_campaign.html",
        status=status,
        error=error,
        done=done,
        s=s,
        collected=collected,
        payments_on=p.request.app.state.stripe is not None,
    )
