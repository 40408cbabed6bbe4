"""The resident's Strava connection: connect (OAuth), see what was synced, disconnect."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from warmrun.integrations import strava_sync
from warmrun.integrations.strava_api import StravaFailure, StravaRateLimited, StravaUnauthorized
from warmrun.platform import views
from warmrun.platform.errors import InvalidInput
from warmrun.web.endpoints import site_url
from warmrun.web.pages.base import Page
from warmrun.web.routes.strava import strava

STATE_MAX_AGE_S = 15 * 60


def _states(p: Page) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(p.settings.secret_key), salt="warmrun.strava.oauth")


def _callback_url(p: Page) -> str:
    return f"{site_url(p.request)}/strava/callback"


async def _render(p: Page) -> Response:
    link = await views.strava_link(resident_id=p.resident_id(), limit=20)
    return p.render("strava.html", account=link, activities=link.activities if link else [])


async def strava_page(p: Page, data: dict[str, Any]) -> Response:
    s = strava(p.request)
    if p.request.method == "POST":
        if data.get("action") != "disconnect":
            raise InvalidInput("action", "unknown", "未知操作")
        await strava_sync.disconnect(s, resident_id=p.resident_id())
        return p.redirect("/me/strava")
    return await _render(p)


async def strava_connect(p: Page, _: dict[str, Any]) -> Response:
    s = strava(p.request)
    account = p.me()
    state = _states(p).dumps([account.id, account.session_epoch])
    return p.redirect(s.api.authorize_url(redirect_uri=_callback_url(p), state=state))


async def strava_callback(p: Page, _: dict[str, Any]) -> Response:
    """Where Strava sends the resident back, with a code and the scopes they granted."""
    s = strava(p.request)
    await p.attempt(_connect(p, s), status=400)
    if p.error is not None:
        return await _render(p)
    return p.redirect("/me/strava")


async def _connect(p: Page, s: strava_sync.Strava) -> None:
    """The connection Strava's answer grants, if it answers this resident's own request."""
    account = p.me()
    q = p.request.query_params
    if q.get("error"):
        raise InvalidInput("strava", "access was not granted", "未获得授权")
    try:
        who = _states(p).loads(q.get("state", ""), max_age=STATE_MAX_AGE_S)
    except BadSignature:
        raise InvalidInput("state", "expired or not ours", "已过期或无效") from None
    if who != [account.id, account.session_epoch]:
        raise InvalidInput("state", "expired or not ours", "已过期或无效")
    code = q.get("code", "")
    if not code or len(code) > 255:
        raise InvalidInput("code", "missing", "缺少授权码")
    try:
        await strava_sync.connect(s, resident_id=p.resident_id(), code=code, scope=q.get("scope"))
    except (StravaUnauthorized, StravaFailure, StravaRateLimited):
        raise InvalidInput(
            "strava", "Strava did not accept the connection", "Strava 未接受此次绑定"
        ) from None
