"""Families: the children in a guardian's care, registered with consent, removed (and
their data erased) with the guardian's password."""

from __future__ import annotations

from typing import Any

from warmrun.platform import erasure, families
from warmrun.web import forms, ratelimit
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.routes import api


@api.route(
    "GET",
    "/api/v1/me/children",
    access=Access.RESIDENT,
    tag="families",
    summary="The children in my care",
)
async def children(ctx: Ctx) -> dict[str, Any]:
    return {"items": await families.children(guardian_id=ctx.resident_id())}


@api.route(
    "POST",
    "/api/v1/me/children",
    access=Access.RESIDENT,
    tag="families",
    body=forms.NewChild,
    summary='Add a child in my care (needs {"consent": true})',
)
async def add_child(ctx: Ctx) -> dict[str, Any]:
    b: forms.NewChild = ctx.body
    child = await families.add_child(
        guardian_id=ctx.resident_id(),
        display_name=b.display_name,
        birth_year=b.birth_year,
        consent=b.consent,
    )
    return {"child": child}


@api.route(
    "DELETE",
    "/api/v1/me/children/{child_id:int}",
    access=Access.RESIDENT,
    tag="families",
    body=forms.Erase,
    summary="Remove a child: their runs and personal data are erased (my password)",
)
async def remove_child(ctx: Ctx) -> dict[str, Any]:
    account = ctx.me()
    await ratelimit.guarded_sign_in(
        ctx.redis, email=account.email, password=ctx.body.password, address=ctx.client_ip()
    )
    await erasure.erase_child(guardian_id=ctx.resident_id(), child_id=ctx.path["child_id"])
    return {"ok": True}
