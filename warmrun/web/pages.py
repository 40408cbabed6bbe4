"""Server-rendered pages for residents, partners, organizers and the public.

Pages call the same services as the API. Forms post with a CSRF token; successful posts
redirect (303) so a reload never repeats them; a failed post shows the page again with the
error in the visitor's language.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from warmrun.integrations.importer import map_line
from warmrun.leaderboard.boards import Boards
from warmrun.leaderboard.present import rows as board_rows
from warmrun.leaderboard.relay import clocks
from warmrun.platform import accounts, clock, rewards, runs, settlement, views
from warmrun.platform.errors import (
    Forbidden,
    InvalidInput,
    LedgerTampered,
    NotAuthenticated,
    NotFound,
    WarmrunError,
)
from warmrun.platform.models import Account, Role
from warmrun.web import i18n, ratelimit
from warmrun.web.endpoints import (
    Access,
    authorise,
    check_csrf,
    check_path_ids,
    csrf_binding,
    resolve_account,
)
from warmrun.web.errors import status_of
from warmrun.web.presenters import bar_chart_svg, line_chart_svg, track_svg
from warmrun.web.security import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    Session,
    new_presession,
)

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    enable_async=False,
)


class Page:
    """One request's page context: who, which language, the CSRF token, rendering."""

    def __init__(self, request: Request, account: Account | None, lang: str) -> None:
        self.request = request
        self.account = account
        self.lang = lang
        self.new_presession: str | None = None
        binding = csrf_binding(request, account)
        if binding is None:
            self.new_presession = new_presession()
            binding = f"p:{self.new_presession}"
        self.csrf = request.app.state.codec.csrf_token(binding)

    @property
    def settings(self) -> Any:
        return self.request.app.state.settings

    def me(self) -> Account:
        if self.account is None:
            raise NotAuthenticated()
        return self.account

    def resident_id(self) -> int:
        if self.account is None or self.account.resident_id is None:
            raise Forbidden()
        return self.account.resident_id

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = self.lang
        # Rendering is synchronous, so no other request can switch the catalogue mid-way.
        env.install_gettext_translations(  # type: ignore[attr-defined]
            i18n.translations(lang), newstyle=True
        )
        html = env.get_template(name).render(
            lang=lang,
            me=self.account,
            csrf=self.csrf,
            path=self.request.url.path,
            money=lambda fen: i18n.money(fen, lang),
            km=lambda m: i18n.km(m, lang),
            num=lambda n: i18n.number(n, lang),
            when=lambda d: i18n.when(d, lang),
            duration=i18n.duration,
            svg=Markup,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        self._presession(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        self._presession(response)
        return response

    def _presession(self, response: Response) -> None:
        if self.new_presession is not None:
            response.set_cookie(
                PRESESSION_COOKIE,
                self.new_presession,
                httponly=True,
                secure=self.settings.secure_cookies,
                samesite="lax",
            )

    def sign_in(self, response: Response, account: Account) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.request.app.state.codec.dumps(Session(account.id, account.session_epoch)),
            max_age=SESSION_MAX_AGE,
            httponly=True,
            secure=self.settings.secure_cookies,
            samesite="lax",
        )


PageHandler = Callable[[Page, dict[str, Any]], Awaitable[Response]]


async def _context(request: Request) -> tuple[Account | None, str]:
    lang = i18n.negotiate(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )
    try:
        account, _ = await resolve_account(request)
    except NotAuthenticated:
        account = None
    if account is not None and request.cookies.get(i18n.LANG_COOKIE) is None:
        lang = account.locale
    request.state.lang = lang
    return account, lang


def page(
    access: Access, handler: PageHandler, *, form: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        account, lang = await _context(request)
        p = Page(request, account, lang)
        try:
            data: dict[str, Any] = {}
            if request.method == "POST":
                if form:
                    data = {k: v for k, v in (await request.form()).multi_items()}
                await check_csrf(request, account, str(data.get("csrf_token", "")) or None)
            authorise(access, account)
            check_path_ids(request)
            return await handler(p, data)
        except NotAuthenticated:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        except WarmrunError as exc:
            return p.render("error.html", status=status_of(exc), error=exc.message(lang))

    return run


async def error_page(request: Request, exc: WarmrunError) -> Response:
    account, lang = await _context(request)
    return Page(request, account, lang).render(
        "error.html", status=status_of(exc), error=exc.message(lang)
    )


def _int(data: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    raw = str(data.get(name, "")).strip()
    if not raw and not required:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(name, "a whole number", "须为整数") from None
    if not 0 <= value < 2**31:
        raise InvalidInput(name, "out of range", "超出范围")
    return value


# --- public -----------------------------------------------------------------------------------


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
                {
                    **row,
                    "value": row.get(
                        "metres",
                        row.get("mm_per_household", row.get("active_per_million_households")),
                    ),
                }
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
            compound_id=_int(data, "compound_id") or 0,
            birth_year=_int(data, "birth_year", required=False),
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
    response.delete_cookie(
        SESSION_COOKIE, secure=p.settings.secure_cookies, httponly=True, samesite="lax"
    )
    return response


async def language(p: Page, data: dict[str, Any]) -> Response:
    lang = str(data.get("lang", ""))
    target = str(data.get("next", "/"))
    if lang not in i18n.SUPPORTED:
        raise InvalidInput("lang", "zh-CN or en", "zh-CN 或 en")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = p.redirect(target)
    response.set_cookie(
        i18n.LANG_COOKIE,
        lang,
        max_age=365 * 86400,
        samesite="lax",
        secure=p.settings.secure_cookies,
    )
    return response


# --- residents ----------------------------------------------------------------------------------


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
    )


async def runs_page(p: Page, _: dict[str, Any]) -> Response:
    offset = max(0, int(p.request.query_params.get("offset", "0") or 0))
    items, total = await views.runs_of(resident_id=p.resident_id(), offset=offset, limit=20)
    return p.render("runs.html", runs=items, total=total, offset=offset)


async def run_page(p: Page, _: dict[str, Any]) -> Response:
    run = await views.run(run_id=p.request.path_params["run_id"])
    if run.resident_id != p.resident_id():
        raise NotFound("run", "跑步记录")
    line = await map_line(run_id=run.id, limits=p.settings.limits)
    return p.render("run.html", run=run, map=track_svg(line, title=run.file_name))


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
                reward_id=_int(data, "reward_id") or 0,
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
    from warmrun.web.routes.rewards import qr_svg

    return p.render("redemption.html", r=found[0], qr=qr_svg(found[0].code).decode())


async def account_page(p: Page, data: dict[str, Any]) -> Response:
    account = p.me()
    error = None
    if p.request.method == "POST":
        action = data.get("action")
        try:
            if action == "logout_everywhere":
                await accounts.end_all_sessions(account_id=account.id)
                return p.redirect("/login")
            if action == "erase":
                await accounts.authenticate(
                    email=account.email, password=str(data.get("password", ""))
                )
                await accounts.erase_resident(account_id=account.id)
                response = p.redirect("/")
                response.delete_cookie(
                    SESSION_COOKIE, secure=p.settings.secure_cookies, httponly=True, samesite="lax"
                )
                return response
            raise InvalidInput("action", "unknown", "未知操作")
        except WarmrunError as exc:
            error = exc.message(p.lang)
    return p.render("account.html", status=400 if error else 200, error=error)


# --- partners and organizers ----------------------------------------------------------------------


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
    )


async def review_page(p: Page, data: dict[str, Any]) -> Response:
    account = p.me()
    scope = await accounts.organizer_city_ids(account)
    message = None
    if p.request.method == "POST":
        accept = data.get("decision") == "accept"
        note = str(data.get("note", ""))[:500]
        ids = [int(v) for k, v in data.items() if k.startswith("run_") and str(v).isdigit()]
        done = 0
        for run_id in ids:
            if scope is not None and await views.run_city(run_id=run_id) not in scope:
                continue
            try:
                await runs.review(run_id=run_id, accept=accept, note=note)
                done += 1
            except WarmrunError:
                continue
        message = done
    items, total = await views.review_queue(city_ids=scope, offset=0, limit=50)
    return p.render("review.html", items=items, total=total, done=message)


async def desk_page(p: Page, data: dict[str, Any]) -> Response:
    account = p.me()
    result, error = None, None
    if p.request.method == "POST":
        code = str(data.get("code", "")).strip().upper()
        try:
            found = await views.redemptions(code=code) if code.isalnum() else []
            if not found:
                raise NotFound("pickup code", "取货码")
            scope = await accounts.organizer_city_ids(account)
            city = await views.compound_city(compound_id=found[0].compound_id)
            if scope is not None and city not in scope:
                raise NotFound("pickup code", "取货码")
            await rewards.fulfil(code=code)
            (result,) = await views.redemptions(code=code)
        except WarmrunError as exc:
            error = exc.message(p.lang)
    return p.render("desk.html", status=400 if error else 200, result=result, error=error)


async def stock_page(p: Page, data: dict[str, Any]) -> Response:
    """Rewards and stock of the organizer's compounds: offer a reward, restock one."""
    scope = await accounts.organizer_city_ids(p.me())
    error, done, status = None, False, 200
    if p.request.method == "POST":
        try:
            if data.get("action") == "restock":
                reward = await views.reward(reward_id=_int(data, "reward_id") or 0)
                city = await views.compound_city(compound_id=reward.compound_id)
                if scope is not None and city not in scope:
                    raise NotFound("reward", "奖品")
                await rewards.restock(reward_id=reward.id, add=_int(data, "add") or 0)
            else:
                compound_id = _int(data, "compound_id") or 0
                city = await views.compound_city(compound_id=compound_id)
                if scope is not None and city not in scope:
                    raise Forbidden()
                await rewards.create_reward(
                    compound_id=compound_id,
                    name_zh=str(data.get("name_zh", "")).strip()[:128],
                    name_en=str(data.get("name_en", "")).strip()[:128],
                    points_price=_int(data, "points_price") or 0,
                    stock=_int(data, "stock") or 0,
                    needs_slot=data.get("needs_slot") == "on",
                )
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


def routes() -> list[Route]:
    get, both = ["GET"], ["GET", "POST"]
    return [
        Route("/", page(Access.PUBLIC, home), methods=get),
        Route("/c/{code}", page(Access.PUBLIC, campaign_page), methods=get),
        Route("/signup", page(Access.PUBLIC, signup_page, form=True), methods=both),
        Route("/login", page(Access.PUBLIC, login_page, form=True), methods=both),
        Route("/logout", page(Access.SIGNED_IN, logout_page, form=True), methods=["POST"]),
        Route("/lang", page(Access.PUBLIC, language, form=True), methods=["POST"]),
        Route("/me", page(Access.RESIDENT, me_page), methods=get),
        Route("/me/runs", page(Access.RESIDENT, runs_page), methods=get),
        Route("/me/runs/{run_id:int}", page(Access.RESIDENT, run_page), methods=get),
        Route("/me/points", page(Access.RESIDENT, points_page), methods=get),
        Route("/me/shop", page(Access.RESIDENT, shop_page, form=True), methods=both),
        Route(
            "/me/redemptions/{code}",
            page(Access.RESIDENT, redemption_page, form=True),
            methods=both,
        ),
        Route("/me/account", page(Access.SIGNED_IN, account_page, form=True), methods=both),
        Route("/partner", page(Access.PARTNER, partner_home), methods=get),
        Route("/partner/{code}", page(Access.PARTNER, partner_dashboard), methods=get),
        Route("/review", page(Access.ORGANIZER, review_page, form=True), methods=both),
        Route("/desk", page(Access.ORGANIZER, desk_page, form=True), methods=both),
        Route("/stock", page(Access.ORGANIZER, stock_page, form=True), methods=both),
    ]
