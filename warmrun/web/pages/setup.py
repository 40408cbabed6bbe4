"""Set-up pages: admins add cities, goods and campaigns; organizers add compounds in their
cities and run the campaigns that lie wholly in them (rules, points, pledges, state)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from warmrun.platform import accounts, campaign_views, campaigns, settlement, views
from warmrun.platform.accounts import Identity
from warmrun.platform.errors import ConfirmationNeeded, Forbidden, InvalidInput
from warmrun.platform.kinds import Basis, CampaignState, Role, SettlementMode
from warmrun.platform.signing import SiteKey
from warmrun.web import forms
from warmrun.web.pages.base import Page, form_int, form_model, yuan_fields
from warmrun.web.routes.ledger import ledger_key
from warmrun.web.routes.payments import collect_pledge


def _day(data: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(str(data.get(name, "")))
    except ValueError:
        raise InvalidInput(name, "a date (YYYY-MM-DD)", "日期格式应为 YYYY-MM-DD") from None


async def _local_moment(campaign_id: int, data: dict[str, Any]) -> datetime | None:
    """The form's "takes effect from" (a browser's date and time, no zone) in the campaign's
    time zone; None when left empty (now)."""
    raw = str(data.get("effective_from", "")).strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("effective_from", "a date and time", "须为日期和时间") from None
    tz = (await campaign_views.campaign_summary_by_id(campaign_id=campaign_id)).timezone
    return moment.replace(tzinfo=ZoneInfo(tz)) if moment.tzinfo is None else moment


def _bundle_lines(data: dict[str, Any]) -> list[dict[str, str]]:
    """The bundle form's item lines that name an item (``line_item_N`` × ``line_qty_N``)."""
    lines = []
    for key, value in data.items():
        if key.startswith("line_item_") and str(value).strip():
            n = key.removeprefix("line_item_")
            lines.append({"goods_id": value, "quantity": data.get(f"line_qty_{n}") or "1"})
    return lines


async def _setup_action(p: Page, data: dict[str, Any]) -> None:
    data = yuan_fields(data, "unit_price", "goal")
    account = p.me()
    admin = account.role is Role.ADMIN
    action = data.get("action")
    if action == "compound":
        compound = form_model(forms.NewCompound, data)
        await accounts.check_city(account, compound.city_id)
        await campaigns.create_compound(**compound.model_dump())
        return
    if not admin:
        raise Forbidden()
    if action == "city":
        await campaigns.create_city(**form_model(forms.NewCity, data).model_dump())
    elif action == "goods":
        await campaigns.create_item(**form_model(forms.NewItem, data).model_dump())
    elif action == "bundle":
        b = form_model(forms.NewBundle, yuan_fields(data, "price"), lines=_bundle_lines(data))
        await campaigns.create_bundle(
            code=b.code,
            name_zh=b.name_zh,
            name_en=b.name_en,
            price_fen=b.price_fen,
            lines=[(ln.goods_id, ln.quantity) for ln in b.lines],
        )
    elif action == "partner":
        await campaigns.create_partner(name=form_model(forms.NewPartner, data).name)
    elif action == "campaign":
        # One checkbox per city (city_<id>), and one goal for all of them.
        goal = str(data.get("goal_fen", "")).strip() or 0
        chosen = [
            {"city_id": v, "goal_fen": goal} for k, v in data.items() if k.startswith("city_")
        ]
        if not chosen:
            raise InvalidInput("cities", "choose at least one city", "请至少选择一个城市")
        c = form_model(
            forms.NewCampaign,
            data,
            cities=chosen,
            starts_on=_day(data, "starts_on"),
            ends_on=_day(data, "ends_on"),
        )
        await campaigns.create_campaign(
            code=c.code,
            name=c.name,
            partner_id=c.partner_id,
            goods_id=c.goods_id,
            starts_on=c.starts_on,
            ends_on=c.ends_on,
            city_goals={g.city_id: g.goal_fen for g in c.cities},
            settlement_mode=SettlementMode(c.settlement_mode),
        )
    else:
        raise InvalidInput("action", "unknown", "未知操作")


async def setup_home(p: Page, data: dict[str, Any]) -> Response:
    if p.posted:
        await p.attempt(_setup_action(p, data))
    account = p.me()
    scope = await accounts.organizer_city_ids(account)
    catalogue = await campaign_views.catalogue()
    return p.render(
        "setup.html",
        done=p.posted and p.error is None,
        campaigns=await _my_campaigns(account),
        catalogue=catalogue,
        cities=[c for c in catalogue.cities if scope is None or c["id"] in scope],
        admin=account.role is Role.ADMIN,
    )


async def _my_campaigns(account: Identity) -> list[campaign_views.CampaignSummary]:
    """The campaigns running in at least one of the caller's cities (all, for admins)."""
    return [
        c
        for c in await campaign_views.campaign_list()
        if await accounts.can_see_campaign(account, c.id, partner_id=c.partner_id)
    ]


async def _campaign_action(campaign_id: int, data: dict[str, Any], key: SiteKey) -> None:
    data = yuan_fields(data, "daily_cap", "cap")
    action = data.get("action")
    if action == "rule":
        rule = form_model(forms.Rule, data, effective_from=await _local_moment(campaign_id, data))
        await campaigns.set_rule(
            campaign_id=campaign_id,
            sport=str(data.get("sport")),
            fen=rule.fen,
            per=rule.per,
            basis=Basis(rule.basis),
            daily_cap_fen=rule.daily_cap_fen,
            effective_from=rule.effective_from,
        )
    elif action == "points":
        await campaigns.set_points_rule(
            campaign_id=campaign_id, **form_model(forms.PointsRuleForm, data).model_dump()
        )
    elif action == "pledge":
        await campaigns.add_pledge(
            campaign_id=campaign_id, **form_model(forms.Pledge, data).model_dump()
        )
    elif action in ("active", "closed", "settle_campaign"):
        # Each step cannot be undone: the form's confirmation box says the organizer knows.
        if data.get("confirm") != "yes":
            raise ConfirmationNeeded()
        if action == "settle_campaign":
            await settlement.settle(campaign_id=campaign_id, key=key)
        else:
            await campaigns.advance(campaign_id=campaign_id, to=CampaignState(action), key=key)
    else:
        raise InvalidInput("action", "unknown", "未知操作")


async def setup_campaign(p: Page, data: dict[str, Any]) -> Response:
    """A campaign's page: its owners (admins, organizers of all its cities) run the whole of
    it; an organizer of some of its cities manages their cities' goals and places."""
    summary = await campaign_views.campaign_summary(code=p.request.path_params["code"])
    whole = await accounts.runs_whole_campaign(p.me(), summary.id)
    mine = await _my_cities(p, summary.code)
    if not whole and not mine:
        raise Forbidden()
    collected = await p.attempt(_campaign_form(p, summary, data, whole)) if p.posted else None
    if p.posted and p.error is None and data.get("action") == "settle_campaign":
        return p.redirect(f"/reports/{summary.code}")
    s = await campaign_views.campaign_setup(code=summary.code)
    done = p.posted and p.error is None
    payments_on = p.request.app.state.stripe is not None
    waiting = await _waiting_for_review(s)
    return p.render("setup_campaign.html", done=done, s=s, collected=collected or None,
                    payments_on=payments_on, whole=whole, mine=mine, waiting=waiting)  # fmt: skip


async def _waiting_for_review(s: campaign_views.CampaignSetup) -> int:
    """Runs in the campaign's cities still waiting for a review (closing leaves them out)."""
    _, total = await views.review_queue(city_ids={c["id"] for c in s.cities}, offset=0, limit=1)
    return total


async def _my_cities(p: Page, code: str) -> set[int]:
    """The campaign's cities the caller organizes."""
    s = await campaign_views.campaign_setup(code=code)
    return {c["id"] for c in s.cities if await accounts.covers_city(p.me(), c["id"])}


async def _campaign_form(
    p: Page, summary: campaign_views.CampaignSummary, data: dict[str, Any], whole: bool
) -> dict[str, Any]:
    """A set-up form of the campaign page; for a pledge's prepayment or settlement, the
    checkout to send the sponsor or what was refunded (otherwise an empty dict)."""
    if data.get("action") == "goal":
        goal = form_model(forms.CityGoal, yuan_fields(data, "goal"))
        await accounts.check_city(p.me(), goal.city_id)
        await campaigns.set_city_goal(campaign_id=summary.id, **goal.model_dump())
        return {}
    if not whole:
        raise Forbidden()
    if data.get("action") not in ("prepay", "settle"):
        await _campaign_action(summary.id, data, ledger_key(p.request))
        return {}
    payment, refunded = await collect_pledge(
        p.request,
        lang=p.lang,
        code=summary.code,
        campaign_id=summary.id,
        pledge_id=form_int(data, "pledge_id") or 0,
        kind=str(data["action"]),
    )
    return {
        "url": payment.checkout_url if payment is not None else "",
        "amount_fen": payment.amount_fen if payment is not None else 0,
        "refunded_fen": refunded,
    }
