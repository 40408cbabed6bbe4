"""The organizers' points page of a campaign: grant points for volunteering and winter-care
visits, one by one or from a CSV file, and adjust a balance with the reason."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response

from warmrun.platform import campaign_views, grants
from warmrun.platform.errors import InvalidInput
from warmrun.web import forms
from warmrun.web.pages.base import Page, form_model
from warmrun.web.routes.grants import campaign_of, grant_file, grant_one, resident_for


async def grants_page(p: Page, data: dict[str, Any]) -> Response:
    code = p.request.path_params["code"]
    campaign_id = await campaign_of(p.me(), code)
    done = await p.attempt(_action(p, campaign_id, data)) if p.posted else None
    return p.render(
        "grants.html",
        c=await campaign_views.campaign_summary(code=code),
        done=done,
        reasons=grants.REASONS,
        fresh_ref=secrets.token_hex(6),
    )


async def _action(p: Page, campaign_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """What the form did: one grant, a file's rows, or an adjustment."""
    secret = str(p.settings.secret_key)
    action = data.get("action")
    if action == "grant":
        g = form_model(forms.Grant, data)
        return {"granted": await grant_one(p.me(), secret, campaign_id, g)}
    if action == "file":
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("file", "choose a CSV file", "请选择 CSV 文件")
        raw = await upload.read(1_000_001)
        return {"rows": await grant_file(p.me(), secret, campaign_id, raw, p.lang)}
    if action == "adjust":
        a = form_model(forms.Adjustment, data)
        rid = await resident_for(p.me(), secret, a.member)
        await grants.adjust(resident_id=rid, delta=a.delta, note=a.note, ref=a.ref)
        return {"adjusted": a.delta}
    raise InvalidInput("action", "unknown", "未知操作")
