"""A guardian's family page: the children in their care, added with consent and removed
(their data erased) with the guardian's password."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import erasure, families
from warmrun.platform.errors import InvalidInput
from warmrun.web import forms, ratelimit
from warmrun.web.pages.base import Page, form_int, form_model


async def family_page(p: Page, data: dict[str, Any]) -> Response:
    if p.posted and await p.attempt(_family_action(p, data)) is not None:
        return p.redirect("/me/family?saved=1")
    kids = await families.children(guardian_id=p.resident_id())
    saved = p.request.query_params.get("saved") == "1"
    return p.render("family.html", children=kids, done=saved and not p.posted)


async def _family_action(p: Page, data: dict[str, Any]) -> bool:
    guardian = p.resident_id()
    action = data.get("action")
    if action == "add":
        b = form_model(forms.NewChild, data, consent=data.get("consent") == "yes")
        await families.add_child(
            guardian_id=guardian,
            display_name=b.display_name,
            birth_year=b.birth_year,
            consent=b.consent,
        )
    elif action == "remove":
        await ratelimit.guarded_sign_in(
            p.request.app.state.redis,
            email=p.me().email,
            password=str(data.get("password", "")),
            address=p.request.client.host if p.request.client else "?",
        )
        child = form_int(data, "child_id") or 0
        await erasure.erase_child(guardian_id=guardian, child_id=child)
    else:
        raise InvalidInput("action", "unknown", "未知操作")
    return True
