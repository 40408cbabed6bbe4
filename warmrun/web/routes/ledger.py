"""The public log of each campaign: the site's key, checkpoints, proofs and the export."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from warmrun.platform import campaign_views, transparency
from warmrun.platform.signing import SiteKey
from warmrun.web import forms, ratelimit
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.routes import api
from warmrun.web.routes.campaigns import partner_campaign

KEY_PATH = "/.well-known/warmrun-ledger-key"


def ledger_key(request: Request) -> SiteKey:
    """The site's signing key, loaded (or made) when the app started."""
    key: SiteKey = request.app.state.ledger_key
    return key


def _note(cp: transparency.CheckpointView) -> Response:
    return PlainTextResponse(
        cp.note,
        headers={
            "Content-Disposition": (
                f'attachment; filename="{cp.campaign}-checkpoint-{cp.number}.txt"'
            )
        },
    )


def checkpoint_dict(cp: transparency.CheckpointView) -> dict[str, Any]:
    return {
        "number": cp.number,
        "size": cp.size,
        "root": cp.root,
        "time": cp.made_at,
        "reason": cp.reason,
        "key_id": cp.key_id,
        "url": f"/api/v1/campaigns/{cp.campaign}/checkpoints/{cp.number}",
    }


@api.route(
    "GET",
    KEY_PATH,
    access=Access.PUBLIC,
    tag="ledger",
    produces="text/plain",
    summary="The site's Ed25519 public key (PEM) that signs ledger checkpoints",
)
async def public_key_pem(ctx: Ctx) -> Response:
    return PlainTextResponse(ledger_key(ctx.request).public_pem())


@api.route(
    "GET",
    "/api/v1/ledger/public-key",
    access=Access.PUBLIC,
    tag="ledger",
    summary="The site's checkpoint signing key: algorithm, key id, PEM and raw base64",
)
async def public_key(ctx: Ctx) -> dict[str, Any]:
    key = ledger_key(ctx.request)
    return {
        "algorithm": "Ed25519",
        "key_id": key.key_id,
        "public_key": key.public_base64(),
        "pem": key.public_pem(),
        "pem_url": KEY_PATH,
    }


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/checkpoints",
    access=Access.PUBLIC,
    tag="ledger",
    summary="A campaign's signed checkpoints, oldest first",
)
async def checkpoint_list(ctx: Ctx) -> dict[str, Any]:
    c = await campaign_views.campaign_summary(code=ctx.path["code"])
    return {
        "items": [checkpoint_dict(cp) for cp in await transparency.checkpoints(campaign_id=c.id)]
    }


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/checkpoints/latest",
    access=Access.PUBLIC,
    tag="ledger",
    produces="text/plain",
    summary="The campaign's latest checkpoint as a file",
)
async def latest_checkpoint(ctx: Ctx) -> Response:
    c = await campaign_views.campaign_summary(code=ctx.path["code"])
    return _note(await transparency.checkpoint(campaign_id=c.id))


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/checkpoints/{number:int}",
    access=Access.PUBLIC,
    tag="ledger",
    produces="text/plain",
    summary="One checkpoint as a file",
)
async def checkpoint_file(ctx: Ctx) -> Response:
    c = await campaign_views.campaign_summary(code=ctx.path["code"])
    return _note(await transparency.checkpoint(campaign_id=c.id, number=ctx.path["number"]))


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/ledger/consistency",
    access=Access.PUBLIC,
    tag="ledger",
    query=forms.ConsistencyQuery,
    summary="Proof that a checkpoint (the latest by default) extends the log's first entries",
)
async def consistency(ctx: Ctx) -> Response:
    # Anyone may ask, and each answer is computed: counted per address.
    await ratelimit.check(ctx.redis, ratelimit.PROOFS, ctx.client_ip())
    c = await campaign_views.campaign_summary(code=ctx.path["code"])
    q: forms.ConsistencyQuery = ctx.query
    proof = await transparency.consistency(campaign_id=c.id, old_size=q.from_, number=q.to)
    return _download(proof, f"{c.code}-consistency-{q.from_}-{proof['new_size']}.json")


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/ledger/export",
    access=Access.SIGNED_IN,
    tag="partner",
    produces="application/x-ndjson",
    summary="The campaign's public log as JSON Lines, for warmrun/verify.py",
)
async def export(ctx: Ctx) -> Response:
    c = await partner_campaign(ctx, ctx.path["code"])
    await ratelimit.check(ctx.redis, ratelimit.LEDGER_EXPORT, str(ctx.me().id))
    lines = transparency.export(campaign_id=c.id, key=ledger_key(ctx.request))
    first = await anext(lines)  # the log is brought up to date before the answer starts

    async def body() -> Any:
        yield first
        async for chunk in lines:
            yield chunk

    return StreamingResponse(
        body(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{c.code}-ledger.jsonl"'},
    )


@api.route(
    "GET",
    "/api/v1/me/ledger-proofs",
    access=Access.RESIDENT,
    tag="ledger",
    query=forms.ProofQuery,
    summary="Proofs that each of my contributions is in the campaign's latest checkpoint",
)
async def my_proofs(ctx: Ctx) -> Response:
    await ratelimit.check(ctx.redis, ratelimit.PROOFS, f"resident:{ctx.resident_id()}")
    q: forms.ProofQuery = ctx.query
    c = await campaign_views.campaign_summary(code=q.campaign)
    bundle = await transparency.inclusion(campaign_id=c.id, resident_id=ctx.resident_id())
    return _download(bundle, f"{c.code}-my-proofs.json")


def _download(doc: dict[str, Any], name: str) -> Response:
    return Response(
        json.dumps(doc, ensure_ascii=False, indent=1).encode(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# Checkpoints shown on a page; all of them are in the list above.
SHOWN = 10


async def page_context(request: Request, campaign_id: int) -> dict[str, Any]:
    """What ``_checkpoints.html`` shows: the latest checkpoints, how many, the key's id."""
    found = await transparency.checkpoints(campaign_id=campaign_id)
    return {
        "checkpoints": list(reversed(found))[:SHOWN],
        "checkpoints_total": len(found),
        "ledger_key_id": ledger_key(request).key_id,
        "ledger_public": ledger_key(request).public_base64(),
    }
