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
from warmrun.platform import accounts, campaign_views, clock, payments
from warmrun.platform.accounts import Identity
from warmrun.platform.errors import (
    InvalidInput,
    NotFound,
)
from warmrun.platform.kinds import Role
from warmrun.web import forms, ratelimit
from warmrun.web.pages.base import Page, form_int, form_model
from warmrun.web.routes.ledger import page_context
from warmrun.web.routes.payments import start_donation

log = logging.getLogger("warmrun.web")


async def home(p: Page, _: dict[str, Any]) -> Response:
    if p.account is not None and p.account.role is Role.RESIDENT:
        return p.redirect("/me")
    return p.render("home.html", campaigns=await campaign_views.campaign_list())


async def campaign_page(p: Page, _: dict[str, Any]) -> Response:
    window, metric = _board_choice(p)
    d = await campaign_views.dashboard(code=p.request.path_params["code"], compounds_limit=0)
    boards, boards_down = await _shown_boards(p, d.campaign.id, window, metric)
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


def _board_choice(p: Page) -> tuple[str, str]:
    """The boards' time window and measure asked for in the address."""
    window = p.request.query_params.get("window", "campaign")
    metric = p.request.query_params.get("metric", "m")
    if window not in ("campaign", "week", "month") or metric not in ("m", "pc", "pr"):
        raise InvalidInput("board", "unknown window or measure", "未知的时间段或指标")
    return window, metric


async def _shown_boards(
    p: Page, campaign_id: int, window: str, metric: str
) -> tuple[dict[str, list[dict[str, Any]]], bool]:
    """The boards, and whether they are missing because Redis is away."""
    redis = p.request.app.state.redis
    if redis is None:
        return {}, False
    try:
        return await _boards(redis, campaign_id, window, metric), False
    except ratelimit.AWAY as exc:
        # The boards live in Redis only; the rest of the page does not need it.
        log.warning("campaign page without its boards (Redis: %s)", exc)
        return {}, True


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
    places = await campaign_views.places()
    if not p.posted:
        return p.render("signup.html", places=places, form={})
    account = await p.attempt(_sign_up(p, data))
    if account is None:
        return p.render("signup.html", places=places, form=data)
    return await _signed_in(p, account, "/me")


async def _sign_up(p: Page, data: dict[str, Any]) -> Identity:
    # The password as typed: the API's request models strip whitespace around every text.
    await ratelimit.check(p.request.app.state.redis, ratelimit.SIGNUP, _address(p))
    return await accounts.sign_up_resident(
        email=str(data.get("email", "")),
        password=str(data.get("password", "")),
        display_name=str(data.get("display_name", "")),
        compound_id=form_int(data, "compound_id") or 0,
        birth_year=form_int(data, "birth_year", required=False),
        public_board=data.get("public_board") == "on",
        locale=p.lang,
    )


async def _signed_in(p: Page, account: Identity, target: str) -> Response:
    response = p.redirect(target)
    await p.sign_in(response, account)
    return response


def _address(p: Page) -> str:
    return p.request.client.host if p.request.client else "?"


def _local(target: str) -> str:
    """``target`` if it is a path on this site, else the home page."""
    return "/" if not target.startswith("/") or target.startswith("//") else target


async def login_page(p: Page, data: dict[str, Any]) -> Response:
    target = _local(str(p.request.query_params.get("next", "/")))
    if not p.posted:
        return p.render("login.html", next=target)
    email = str(data.get("email", ""))
    account = await p.attempt(
        ratelimit.guarded_sign_in(
            p.request.app.state.redis,
            email=email,
            password=str(data.get("password", "")),  # as typed, like the sign-up form's
            address=_address(p),
        )
    )
    if account is None:
        return p.render("login.html", next=target, email=email)
    return await _signed_in(p, account, target if target != "/" else _landing(account))


def _landing(account: Identity) -> str:
    return {
        Role.RESIDENT: "/me",
        Role.PARTNER: "/partner",
        Role.ORGANIZER: "/review",
        Role.DESK: "/desk",
        Role.ADMIN: "/review",
    }[account.role]


async def logout_page(p: Page, _: dict[str, Any]) -> Response:
    response = p.redirect("/")
    await p.sign_out(response)
    return response


async def language(p: Page, data: dict[str, Any]) -> Response:
    lang = form_model(forms.Language, data).lang
    response = p.redirect(_local(str(data.get("next", "/"))))
    p.cookies.language(response, lang)
    return response


_AMOUNTS = {"50": 5_000, "100": 10_000, "200": 20_000}


async def donate_page(p: Page, data: dict[str, Any]) -> Response:
    """The campaign page's donation form: off to checkout, or the page again with the error."""
    code = p.request.path_params["code"]
    resident_id = p.account.resident_id if p.account is not None else None
    payment = await start_donation(
        p.request, lang=p.lang, code=code, body=_donation(data), resident_id=resident_id
    )
    return p.redirect(payment.checkout_url or f"/c/{code}")


def _donation(data: dict[str, Any]) -> forms.Donation:
    """The form's choice: a warm pack, one of the set amounts, or yuan typed in."""
    choice = str(data.get("choice", ""))
    try:
        if choice == "pack":
            amount, packs = None, 1
        elif choice in _AMOUNTS:
            amount, packs = _AMOUNTS[choice], None
        else:
            amount, packs = (form_int(data, "yuan") or 0) * 100, None
        return forms.Donation(
            amount_fen=amount,
            warm_packs=packs,
            name=str(data.get("name", ""))[:64],
            key=str(data.get("key", "")) or None,
        )
    except ValidationError:
        raise InvalidInput("amount", "not a valid amount", "金额无效") from None


async def thanks_page(p: Page, _: dict[str, Any]) -> Response:
    """Where checkout sends the payer back. It only shows what our record says: money counts
    once the payment provider's signed notification arrives, never because of this visit."""
    code = p.request.path_params["code"]
    c = await campaign_views.campaign_summary(code=code)
    session_id = p.request.query_params.get("session_id", "")[:255]
    if not session_id:
        raise InvalidInput("session_id", "missing", "缺少付款编号")
    payment = await payments.by_session(session_id)
    if payment.campaign_id != c.id:
        raise NotFound("payment", "付款")
    return p.render("thanks.html", campaign=c, payment=payment)
