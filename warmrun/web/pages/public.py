"""Public pages: home, campaign, sign-up, sign-in, language."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.leaderboard.boards import Boards
from warmrun.leaderboard.present import UNITS
from warmrun.leaderboard.present import rows as board_rows
from warmrun.leaderboard.relay import clocks
from warmrun.platform import accounts, clock, views
from warmrun.platform.errors import (
    InvalidInput,
    WarmrunError,
)
from warmrun.platform.models import Account, Role
from warmrun.web import i18n, ratelimit
from warmrun.web.errors import status_of
from warmrun.web.pages.base import Page, form_int


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
    d = await views.dashboard(code=code)
    boards: dict[str, list[dict[str, Any]]] = {}
    redis = p.request.app.state.redis
    if redis is not None:
        key = (await clocks())[d.campaign.id].current(clock.now(), window)
        # Residents always by metres; compounds and cities also per household and by
        # participation, so that the largest compound does not win by size alone.
        for scope, name in (("R", "residents"), ("P", "compounds"), ("C", "cities")):
            m = "m" if scope == "R" else metric
            entries, _total = await Boards(redis).top(d.campaign.id, scope, key, m, limit=10)
            boards[name] = [
                {**row, "value": row[UNITS[m]]}
                for row in await board_rows(entries, scope=scope, metric=m, now=clock.now())
            ]
    return p.render("campaign.html", d=d, boards=boards, window=window, metric=metric)


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
    p.sign_in(response, account)
    return response


async def login_page(p: Page, data: dict[str, Any]) -> Response:
    target = str(p.request.query_params.get("next", "/"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    if p.request.method == "GET":
        return p.render("login.html", next=target)
    email = str(data.get("email", ""))
    try:
        host = p.request.client.host if p.request.client else "?"
        await ratelimit.check(p.request.app.state.redis, ratelimit.LOGIN, f"{host}:{email.lower()}")
        account = await accounts.authenticate(email=email, password=str(data.get("password", "")))
    except WarmrunError as exc:
        return p.render(
            "login.html", status=status_of(exc), next=target, error=exc.message(p.lang), email=email
        )
    response = p.redirect(target if target != "/" else _landing(account))
    p.sign_in(response, account)
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
    p.cookies.end_session(response)
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
