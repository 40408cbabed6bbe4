"""The desk's pages: handing over by pickup code, the day's bookings by slot, handed-out
counts; a reward's pickup slots and options."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from warmrun.platform import accounts, booking_rules, booking_views, clock
from warmrun.platform.errors import InvalidInput
from warmrun.web import booking_forms, scoped
from warmrun.web.endpoints import Access
from warmrun.web.pages.base import Page, form_int, form_model, page
from warmrun.web.pages.staff import stock_page

# Answers typed in one field: separated by commas (either width), 、, slashes or lines.
_SEPARATORS = re.compile(r"[,，、/\n]")


async def desk_page(p: Page, data: dict[str, Any]) -> Response:
    """Hand over by pickup code (typed, or scanned from the QR into the field), the day's
    bookings by slot, and the week's handed-out counts."""
    result = await p.attempt(_hand_over(p, data), status=400) if p.posted else None
    scope = await accounts.compound_ids(p.me())
    day = form_model(booking_forms.DayQuery, dict(p.request.query_params)).day
    return p.render(
        "desk.html",
        result=result,
        day=day,
        slots=await booking_views.desk_day(compound_ids=scope, day=day),
        handed=await booking_views.handed_out(compound_ids=scope),
    )


async def _hand_over(p: Page, data: dict[str, Any]) -> dict[str, Any]:
    """The code's redemption handed over, and what it booked (the flavour to make)."""
    r = await scoped.fulfil(p.me(), str(data.get("code", "")))
    return {"r": r, "booking": await booking_views.booking_of(code=r.code)}


async def reward_page(p: Page, data: dict[str, Any]) -> Response:
    """A reward's pickup slots and options: open one slot or daily ones for days ahead, add
    a question residents answer when they book, or stop asking one."""
    reward_id = p.request.path_params["reward_id"]
    done = p.posted and await p.attempt(_setup_action(p, reward_id, data)) is not None
    s = await scoped.reward_setup(p.me(), reward_id)
    today = booking_rules.local_day(clock.now(), s.timezone)
    return p.render("reward_slots.html", s=s, done=done, today=today)


async def _setup_action(p: Page, reward_id: int, data: dict[str, Any]) -> bool:
    action = data.get("action")
    if action == "slots":
        await scoped.create_slots(p.me(), reward_id, form_model(booking_forms.NewSlots, data))
    elif action == "group":
        await scoped.add_option_group(p.me(), reward_id, _option_group(data))
    elif action == "ungroup":
        await scoped.remove_option_group(p.me(), reward_id, form_int(data, "group_id") or 0)
    else:
        raise InvalidInput("action", "unknown", "未知操作")
    return True


def _option_group(data: dict[str, Any]) -> booking_forms.NewOptionGroup:
    """The page's question: its answers typed in one field per language, in the same order."""
    zh = [x.strip() for x in _SEPARATORS.split(str(data.get("choices_zh", ""))) if x.strip()]
    en = [x.strip() for x in _SEPARATORS.split(str(data.get("choices_en", ""))) if x.strip()]
    if len(zh) != len(en):
        raise InvalidInput("choices", "as many English answers as Chinese", "中英文选项数量须一致")
    choices = [{"name_zh": a, "name_en": b} for a, b in zip(zh, en, strict=True)]
    return form_model(booking_forms.NewOptionGroup, data, choices=choices)


def desk_routes() -> list[Route]:
    """The desk's pages and the rewards' stock, slots and options pages."""
    both = ["GET", "POST"]
    return [
        Route("/desk", page(Access.DESK, desk_page, form=True), methods=both),
        Route("/stock", page(Access.DESK, stock_page, form=True), methods=both),
        Route("/stock/{reward_id:int}", page(Access.DESK, reward_page, form=True), methods=both),
    ]
