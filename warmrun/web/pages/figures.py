"""The organizers' participation page of a campaign, and residents' ratings page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from warmrun.platform import accounts, campaign_views, participation, ratings
from warmrun.web import forms
from warmrun.web.pages.base import Page, form_int, form_model
from warmrun.web.presenters import bar_chart_svg
from warmrun.web.routes.participation import scope_for


async def figures_page(p: Page, _: dict[str, Any]) -> Response:
    code = p.request.path_params["code"]
    q = form_model(forms.FiguresQuery, dict(p.request.query_params))
    scope = await scope_for(p.me(), code, q)
    f = await participation.campaign_participation(scope)
    weeks = [(w.monday.strftime("%m-%d"), w.active) for w in f.figures.weeks]
    keep = {k: v for k, v in p.request.query_params.items() if v and k != "lang"}
    return p.render(
        "figures.html",
        c=await campaign_views.campaign_summary(code=code),
        f=f,
        scope=scope,
        weekly=bar_chart_svg(weeks, title="active residents / week"),
        places=await campaign_views.places(city_ids=await accounts.organizer_city_ids(p.me())),
        csv_query=urlencode({**keep, "lang": "en" if p.lang == "en" else "zh"}),
    )


async def ratings_page(p: Page, data: dict[str, Any]) -> Response:
    if p.posted:
        done = await p.attempt(_rate(p, data))
        if done is not None:
            return p.redirect("/me/ratings?saved=1")
    saved = p.request.query_params.get("saved") == "1" and not p.posted
    items = await ratings.rateable(resident_id=p.resident_id())
    return p.render("ratings.html", items=items, done=saved)


async def _rate(p: Page, data: dict[str, Any]) -> bool:
    b = form_model(forms.NewRating, data, subject_id=form_int(data, "subject_id"))
    await ratings.rate(resident_id=p.resident_id(), subject=b.subject,
                       subject_id=b.subject_id, score=b.score, comment=b.comment)  # fmt: skip
    return True
