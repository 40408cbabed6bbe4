"""The first-run page: the install's first administrator, with the link `warmrun serve`
printed (web/first_run.py)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts
from warmrun.platform.errors import NotFound, WarmrunError
from warmrun.web import first_run
from warmrun.web.errors import status_of
from warmrun.web.pages.base import Page


async def first_run_page(p: Page, data: dict[str, Any]) -> Response:
    home = p.request.app.state.settings.home
    token = str(data.get("token") or p.request.query_params.get("token", ""))
    if await accounts.has_admin():
        return p.redirect("/login")
    if not first_run.valid(home, token):
        raise NotFound("first-run link", "首次设置链接")
    if p.request.method == "GET":
        return p.render("first_run.html", token=token)
    return await _create(p, token, data)


async def _create(p: Page, token: str, data: dict[str, Any]) -> Response:
    """The first admin from the form; the form again, as typed, with what was wrong."""
    email = str(data.get("email", ""))
    try:
        account = await accounts.create_first_admin(
            email=email, password=str(data.get("password", ""))
        )
    except WarmrunError as exc:
        return p.render(
            "first_run.html", status=status_of(exc), token=token, email=email,
            error=exc.message(p.lang),
        )  # fmt: skip
    first_run.clear(p.request.app.state.settings.home)
    response = p.redirect("/setup")
    await p.sign_in(response, account)
    return response
