"""Public pages: home, campaign, sign-up, sign-in, language."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from starlette.responses import Response

from warmrun.leaderboard.boards import Boards
from warmrun.leaderboard.campaigns import clocks
from warmrun.leaderboard.present import UNITS
from warmrun.leaderboard.present import rows as board_rows
from warmrun.platform import accounts, clock, payments, views
from warmrun.platform.errors import (
    InvalidInput,
    NotFound,
    WarmrunError,
)
from warmrun.platform.models import Account, Role
from warmrun.web import forms, i18n, ratelimit
from warmrun.web.errors import status_of
from warmrun.web.pages.base import Page, form_int
from warmrun.web.routes.ledger import page_context
from warmrun.web.routes.payments import start_donation

log = logging.getLogger("warmrun.web")


async def home(p: Page, _: dict[str, Any]) -> Response:
    if p.account is not None and p.account.role is Role.RESIDENT:
        return p.redirect("/me")
    return p.render("home.html", campaigns=await views.campaign_list())


async def campaign_page(p: Page, _: dict[str, Any]) -> Response:
    code = p.request.path_params["code"]
    window = p.request.query_params.get("window", "campaign")
    metric = p.request.query_params.get("metric", "m")
    if window not in ("campaign", "week", "month") or metric not in ("m", "pc", "pr"):
        raise InvalidInput("board", "unknown window or measure", "未知的时间段或指标")
    d = await views.dashboard(code=code, compounds_limit=0)
    boards: dict[str, list[dict[str, Any]]] = {}
    boards_down = False
    redis = p.request.app.state.redis
    if redis is not None:
        try:
            boards = await _boards(redis, d.campaign.id, window, metric)
        except ratelimit.AWAY as exc:
            # The boards live in Redis only; the rest of the page does not need it.
            log.warning("campaign page without its boards (Redis: %s)", exc)
            boards_down = True
    return p.render(
        "campaign.html",
        d=d,
        boards=boards,
        boards_down=boards_down,
        window=window,
        metric=metric,
        donations_open=p.request.app.state.stripe is not None and d.campaign.state == "active",
        donation_key=secrets.token_urlsafe(12),
        **await page_context(p.request, d.campaign.id),
    )


async def _boards(
    redis: Redis, campaign_id: int, window: str, metric: str
) -> dict[str, list[dict[str, Any]]]:
    key = (await clocks())[campaign_id].current(clock.now(), window)
    boards: dict[str, list[dict[str, Any]]] = {}
    # Residents always by metres; compounds and cities also per household and by
    # participation, so that the largest compound does not win by size alone.
    for scope, name in (("R", "residents"), ("P", "compounds"), ("C", "cities")):
        m = "m" if scope == "R" else metric
        entries, _total = await Boards(redis).top(campaign_id, scope, key, m, limit=10)
        boards[name] = [
            {**row, "value": row[UNITS[m]]}
            for row in await board_rows(entries, scope=scope, metric=m, now=clock.now())
        ]
    return boards


async def signup_page(p: Page, data: dict[str, Any]) -> Response:
    places = await views.places()
    if p.request.method == "GET":
        return p.render("signup.html", places=places, form={})
    try:
        await ratelimit.check(
            p.request.app.state.redis,
            ratelimit.SIGNUP,
            p.request.client.host if p.request.client else "?",
        )
        account = await accounts.sign_up_resident(
            email=str(data.get("email", "")),
            password=str(data.get("password", "")),
            display_name=str(data.get("display_name", "")),
            compound_id=form_int(data, "compound_id") or 0,
            birth_year=form_int(data, "birth_year", required=False),
            public_board=data.get("public_board") == "on",
            locale=p.lang,
        )
    except WarmrunError as exc:
        return p.render(
            "signup.html",
            status=status_of(exc),
            places=places,
            error=exc.message(p.lang),
            form=data,
        )
    response = p.redirect("/me")
    await p.sign_in(response, account)
    return response


async def login_page(p: Page, data: dict[str, Any]) -> Response:
    target = str(p.request.query_params.get("next", "/"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    if p.request.method == "GET":
        return p.render("login.html", next=target)
    email = str(data.get("email", ""))
    try:
        account = await ratelimit.guarded_sign_in(
            p.request.app.state.redis,
            email=email,
            password=str(data.get("password", "")),
            address=p.request.client.host if p.request.client else "?",
        )
    except WarmrunError as exc:
        return p.render(
            "login.html", status=status_of(exc), next=target, error=exc.message(p.lang), email=email
        )
    response = p.redirect(target if target != "/" else _landing(account))
    await p.sign_in(response, account)
    return response


def _landing(account: Account) -> str:
    return {
        Role.RESIDENT: "/me",
        Role.PARTNER: "/partner",
        Role.ORGANIZER: "/review",
        Role.ADMIN: "/review",
    }[account.role]


async def logout_page(p: Page, _: dict[str, Any]) -> Response:
    response = p.redirect("/")
    await p.sign_out(response)
    return response


async def language(p: Page, data: dict[str, Any]) -> Response:
    lang = str(data.get("lang", ""))
    target = str(data.get("next", "/"))
    if lang not in i18n.SUPPORTED:
        raise InvalidInput("lang", "zh-CN or en", "zh-CN 或 en")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = p.redirect(target)
    p.cookies.language(response, lang)
    return response


_AMOUNTS = {"50": 5_000, "100": 10_000, "200": 20_000}


async def donate_page(p: Page, data: dict[str, Any]) -> Response:
    """The campaign page's donation form: off to checkout, or the page again with the error."""
    code = p.request.path_params["code"]
    choice = str(data.get("choice", ""))
    try:
        if choice == "pack":
            amount, packs = None, 1
        elif choice in _AMOUNTS:
            amount, packs = _AMOUNTS[choice], None
        else:
            yuan = form_int(data, "yuan") or 0
            amount, packs = yuan * 100, None
        body = forms.Donation(
            amount_fen=amount,
            warm_packs=packs,
            name=str(data.get("name", ""))[:64],
            key=str(data.get("key", "")) or None,
        )
    except ValidationError:
        raise InvalidInput("amount", "not a valid amount", "金额无效") from None
    resident_id = p.account.resident_id if p.account is not None else None
    payment = await start_donation(
        p.request, lang=p.lang, code=code, body=body, resident_id=resident_id
    )
    if not payment.checkout_url:
        return p.redirect(f"/c/{code}")
    return p.redirect(payment.checkout_url)


async def thanks_page(p: Page, _: dict[str, Any]) -> Response:
    """Where checkout sends the payer back. It only shows what our record says: money counts
    once the payment provider's signed notification arrives, never because of this visit."""
    code = p.request.path_params["code"]
    c = await views.campaign_summary(code=code)
    session_id = p.request.query_params.get("session_id", "")[:255]
    if not session_id:
        raise InvalidInput("session_id", "missing", "缺少付款编号")
    payment = await payments.by_session(session_id)
    if payment.campaign_id != c.id:
        raise NotFound("payment", "付款")
    return p.render("thanks.html", campaign=c, payment=payment)
