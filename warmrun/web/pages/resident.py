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
    booking_views,
    campaign_views,
    clock,
    erasure,
    families,
    maps,
    notices,
    privacy_zones,
    rewards,
    run_places,
    run_results,
    transparency,
    views,
)
from warmrun.platform.accounts import Identity
from warmrun.platform.coordinates import parse_choice
from warmrun.platform.errors import (
    InvalidInput,
    NotFound,
)
from warmrun.platform.privacy import MAX_ZONES, Zone
from warmrun.web import forms, ratelimit
from warmrun.web.codes import member_code
from warmrun.web.pages.base import Page, form_int, form_model
from warmrun.web.presenters import outcome_dict, qr_svg, track_svg
from warmrun.web.routes.runs import coords_of, import_files, runner_of, uploads_of


async def me_page(p: Page, _: dict[str, Any]) -> Response:
    """Impact, points and the upload form; the form posts here when the page runs no script
    (the script sends each file to the API instead) and the page shows each file's outcome."""
    rid = p.resident_id()
    results = await p.attempt(_upload(p, rid)) if p.posted else None
    chosen = (await p.request.form()).get("coords") if p.posted else None
    coords = chosen if isinstance(chosen, str) and parse_choice(chosen) else "auto"
    return p.render("me.html", results=results or [], coords=coords, **await _me(p, rid))


async def _upload(p: Page, rid: int) -> list[dict[str, Any]]:
    """The upload form's files, imported as the API imports them (same bounds and limits)."""
    await ratelimit.check(p.request.app.state.redis, ratelimit.UPLOAD, str(rid))
    form = await p.request.form()  # the form page() already read
    uploads = await uploads_of(form)
    whose = await runner_of(rid, form)
    return await import_files(p.parser, whose, uploads, p.lang, coords_of(form))


async def _me(p: Page, rid: int) -> dict[str, Any]:
    recent, total = await views.runs_of(resident_id=rid, offset=0, limit=5)
    impact = await views.impact(resident_id=rid)
    points = await views.points_of(resident_id=rid, offset=0, limit=0)
    return {
        "runs": recent,
        "told": await _told(p, recent),
        "total": total,
        "impact": impact,
        "ranks": await _ranks(p, rid, impact),
        "balance": points.balance,
        "member_code": member_code(str(p.settings.secret_key), rid),
        "children": await families.children(guardian_id=rid),
        "resident_name": await views.resident_name(resident_id=rid),
        **await _game(p.lang, rid, impact),
    }


async def _told(p: Page, runs: list[views.RunView]) -> dict[int, dict[str, Any]]:
    """Each run's outcome (what happened to it and why), by run id, in the page's language."""
    found = await run_results.outcomes_of(runs)
    return {i: outcome_dict(o, p.lang) for i, o in found.items()}


async def _game(lang: str, rid: int, impact: list[views.ImpactView]) -> dict[str, Any]:
    """The badges the resident holds, their latest notices, and the campaigns whose public
    log has a checkpoint to prove their contributions against."""
    return {
        "badges": [b for b in await badges.of_resident(resident_id=rid) if b["held"]],
        "notices": (await notices.of_resident(resident_id=rid, lang=lang, limit=5))[0],
        "proofs": await transparency.checkpointed([i.campaign_code for i in impact]),
    }


async def _ranks(p: Page, rid: int, impact: list[views.ImpactView]) -> dict[str, int | None]:
    """The resident's rank on each of their campaigns' boards (none without Redis)."""
    redis = p.request.app.state.redis
    if redis is None:
        return {}
    ranks: dict[str, int | None] = {}
    all_clocks = await clocks()
    for i in impact:
        c = await campaign_views.campaign_summary(code=i.campaign_code)
        window = all_clocks[c.id].current(clock.now(), "campaign")
        mine = await Boards(redis).rank(c.id, rid, window)
        ranks[i.campaign_code] = mine[0] if mine else None
    return ranks


async def runs_page(p: Page, _: dict[str, Any]) -> Response:
    offset = max(0, int(p.request.query_params.get("offset", "0") or 0))
    items, total = await views.runs_of(resident_id=p.resident_id(), offset=offset, limit=20)
    told = await _told(p, items)
    return p.render("runs.html", runs=items, told=told, total=total, offset=offset)


async def run_page(p: Page, _: dict[str, Any]) -> Response:
    """The run's figures (counted kcal and points, as "My impact" adds them up), its outcome
    and why, its map, the city it started in and its file's coordinate system."""
    run = await views.run(run_id=p.request.path_params["run_id"])
    if run.resident_id != p.resident_id():
        # A child's run, for their guardian (anyone else: not found).
        await families.child_of(guardian_id=p.resident_id(), child_id=run.resident_id)
    told = outcome_dict(await run_results.outcome_of(run), p.lang)
    place = await run_places.place_of(run_id=run.id)
    shown = await maps.shown_segments(parser=p.parser, run_id=run.id, owner_id=run.resident_id)
    svg = track_svg(shown, title=run.file_name)
    return p.render("run.html", run=run, told=told, map=svg, place=place, city=place.city(p.lang))


async def points_page(p: Page, _: dict[str, Any]) -> Response:
    pts = await views.points_of(resident_id=p.resident_id(), offset=0, limit=100)
    return p.render("points.html", points=pts)


async def shop_page(p: Page, data: dict[str, Any]) -> Response:
    rid = p.resident_id()
    if p.posted:
        code = await p.attempt(_redeem(p, rid, data), status=400)
        if code is not None:
            return p.redirect(f"/me/redemptions/{code}")
    items = await booking_views.shop(resident_id=rid)
    pts = await views.points_of(resident_id=rid, offset=0, limit=0)
    return p.render(
        "shop.html",
        items=items,
        balance=pts.balance,
        redemptions=await views.redemptions(resident_id=rid),
        key=uuid.uuid4().hex,
    )


async def _redeem(p: Page, rid: int, data: dict[str, Any]) -> str:
    """The shop's form, read by the API's own request model (its answers to the reward's
    questions are the ``choice_<group>`` fields); returns the pickup code."""
    await ratelimit.check(p.request.app.state.redis, ratelimit.REDEEM, str(rid))
    choices = [v for k, v in data.items() if k.startswith("choice_") and str(v).strip()]
    form = form_model(forms.Redeem, data, idempotency_key=_key(data), choices=choices)
    r = await rewards.redeem(
        resident_id=rid,
        reward_id=form.reward_id,
        idempotency_key=f"{rid}:{form.idempotency_key}",
        slot=form.slot,
        slot_id=form.slot_id,
        choices=form.choices,
    )
    return r.code


def _key(data: dict[str, Any]) -> str:
    """The form's idempotency key (one is made up if the form has none)."""
    return str(data.get("idempotency_key", "")).strip() or uuid.uuid4().hex


async def redemption_page(p: Page, data: dict[str, Any]) -> Response:
    rid = p.resident_id()
    found = await views.redemptions(resident_id=rid, code=p.request.path_params["code"])
    if not found:
        raise NotFound("pickup code", "取货码")
    code = found[0].code
    if p.posted and await p.attempt(rewards.cancel(code=code, resident_id=rid)) is not None:
        return p.redirect(f"/me/redemptions/{code}")
    booking = await booking_views.booking_of(code=code)
    return p.render("redemption.html", r=found[0], booking=booking, qr=qr_svg(code).decode())


async def account_page(p: Page, data: dict[str, Any]) -> Response:
    account = p.me()
    new_token = await p.attempt(_account_action(p, data), status=400) if p.posted else None
    if isinstance(new_token, Response):
        return new_token
    rid = account.resident_id
    return p.render(
        "account.html",
        new_token=new_token,
        tokens=await accounts.tokens_of(account_id=account.id),
        privacy=await privacy_zones.policy_of(resident_id=rid) if rid is not None else None,
        zone_rows=range(MAX_ZONES),
    )


async def _account_action(p: Page, data: dict[str, Any]) -> Response | str | None:
    """The account page's forms: where to go next, or a new token to show once (None: no
    form was sent)."""
    account = p.me()
    action = data.get("action")
    if action == "logout_everywhere":
        await accounts.end_all_sessions(account_id=account.id)
        return await _signed_out(p, "/login")
    if action == "new_token":
        name = form_model(forms.NewToken, data).name
        lifetime = p.settings.token_lifetime
        issued = await accounts.issue_token(account_id=account.id, name=name, lifetime=lifetime)
        return issued.token
    if action == "privacy":
        await _save_privacy(p.resident_id(), data)
        return p.redirect("/me/account#privacy")
    if action == "revoke_token":
        token_id = form_int(data, "token_id") or 0
        await accounts.revoke_token(account_id=account.id, token_id=token_id)
        return p.redirect("/me/account#tokens")
    if action == "erase":
        await _erase(p, account, data)
        return await _signed_out(p, "/")
    if action is not None:
        raise InvalidInput("action", "unknown", "未知操作")
    return None


async def _erase(p: Page, account: Identity, data: dict[str, Any]) -> None:
    """Erasure asks for the password again (as typed: the API's models strip whitespace)."""
    await ratelimit.guarded_sign_in(
        p.request.app.state.redis,
        email=account.email,
        password=str(data.get("password", "")),
        address=p.request.client.host if p.request.client else "?",
    )
    await erasure.erase_resident(account_id=account.id)


async def _signed_out(p: Page, target: str) -> Response:
    response = p.redirect(target)
    await p.sign_out(response)
    return response


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
