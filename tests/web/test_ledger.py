"""The public ledger over HTTP: the key, checkpoints, the partner's export, proofs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.web.conftest import Web
from tests.web.test_rewards_and_review import earn
from warmrun import verify
from warmrun.platform import campaign_views, signing, transparency
from warmrun.web import ratelimit


async def _checkpoint(web: Web) -> transparency.CheckpointView:
    c = await campaign_views.campaign_summary(code=web.site.campaign)
    return await transparency.checkpoint_now(campaign_id=c.id, key=web.app.state.ledger_key)


async def test_the_site_key_is_made_on_first_start_and_published(web: Web, tmp_path: Path) -> None:
    path = tmp_path / signing.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    async with web.client() as client:
        pem = await client.get("/.well-known/warmrun-ledger-key")
        info = (await client.get("/api/v1/ledger/public-key")).json()
    assert pem.status_code == 200 and pem.text.startswith("-----BEGIN PUBLIC KEY-----")
    key = verify.load_public_key(pem.text)
    assert info["algorithm"] == "Ed25519" and info["pem"] == pem.text
    assert info["key_id"] == verify.key_id(key) == web.app.state.ledger_key.key_id


async def test_a_partner_downloads_the_ledger_and_it_verifies(web: Web) -> None:
    await earn(web)
    kept = await _checkpoint(web)
    code = web.site.campaign
    async with web.signed_in("partner") as client:
        r = await client.get(f"/api/v1/campaigns/{code}/ledger/export")
        page = await client.get(f"/partner/{code}")
        key = verify.load_public_key((await client.get("/.well-known/warmrun-ledger-key")).text)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    result = verify.verify_export(
        r.content, kept=[("kept", verify.parse_checkpoint(kept.note))], public_key=key
    )
    assert result.contributions == 2
    assert result.totals["totals"]["metres"] > 0
    assert 'id="export-ledger"' in page.text and 'id="checkpoint-list"' in page.text
    async with web.signed_in("resident") as client:
        r = await client.get(f"/api/v1/campaigns/{code}/ledger/export")
    assert r.status_code == 404


async def test_the_campaign_page_lists_checkpoints_as_files(web: Web) -> None:
    await earn(web)
    made = await _checkpoint(web)
    code = web.site.campaign
    async with web.client() as client:
        page = await client.get(f"/c/{code}")
        listed = (await client.get(f"/api/v1/campaigns/{code}/checkpoints")).json()["items"]
        one = await client.get(f"/api/v1/campaigns/{code}/checkpoints/{made.number}")
        latest = await client.get(f"/api/v1/campaigns/{code}/checkpoints/latest")
        missing = await client.get(f"/api/v1/campaigns/{code}/checkpoints/999")
    assert 'id="checkpoint-list"' in page.text
    assert made.root[:16] in page.text and made.key_id in page.text
    assert listed[-1]["number"] == made.number and listed[-1]["size"] == made.size
    assert one.text == latest.text == made.note
    assert "attachment" in one.headers["content-disposition"]
    assert missing.status_code == 404
    cp = verify.parse_checkpoint(one.text)
    assert cp.signed_by(web.app.state.ledger_key.public)


async def test_anyone_gets_a_consistency_proof_from_a_kept_checkpoint(web: Web) -> None:
    code = web.site.campaign
    kept = await _checkpoint(web)
    await earn(web)
    await _checkpoint(web)
    async with web.client() as client:
        r = await client.get(f"/api/v1/campaigns/{code}/ledger/consistency?from={kept.size}")
        too_far = await client.get(f"/api/v1/campaigns/{code}/ledger/consistency?from=999999")
    assert r.status_code == 200
    lines = verify.verify_consistency_file(
        r.json(),
        [("kept", verify.parse_checkpoint(kept.note))],
        web.app.state.ledger_key.public,
    )
    assert lines[-1].endswith("the newer log extends it")
    assert too_far.status_code == 422


async def test_a_resident_downloads_proofs_of_their_runs(web: Web) -> None:
    await earn(web)
    await _checkpoint(web)
    code = web.site.campaign
    async with web.signed_in("resident") as client:
        page = await client.get("/me")
        r = await client.get(f"/api/v1/me/ledger-proofs?campaign={code}")
    assert f"/api/v1/me/ledger-proofs?campaign={code}" in page.text
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = r.json()
    lines = verify.verify_inclusion_file(doc, web.app.state.ledger_key.public)
    assert sum("in the log at entry" in line for line in lines) == 2
    async with web.signed_in("other_resident") as client:
        theirs = (await client.get(f"/api/v1/me/ledger-proofs?campaign={code}")).json()
    assert theirs["entries"] == [] and theirs["resident"] != doc["resident"]


async def test_closing_and_settling_over_the_api_sign_checkpoints(web: Web) -> None:
    await earn(web)
    code = web.site.campaign
    async with web.signed_in("admin") as client:
        assert (
            await client.post(f"/api/v1/campaigns/{code}/close", json={"confirm": True})
        ).status_code == 200
        r = await client.post(f"/api/v1/campaigns/{code}/settle", json={"confirm": True})
        rule = await client.put(f"/api/v1/campaigns/{code}/rules/run", json={"fen": 1, "per": 1})
        listed = (await client.get(f"/api/v1/campaigns/{code}/checkpoints")).json()["items"]
        export = await client.get(f"/api/v1/campaigns/{code}/ledger/export")
    report = r.json()["report"]
    assert report["checkpoint"]["reason"] == "settle"
    assert [c["reason"] for c in listed][-2:] == ["close", "settle"]
    assert rule.status_code == 409  # a closed campaign's rules are final
    result = verify.verify_export(export.content, public_key=web.app.state.ledger_key.public)
    assert result.settled and result.totals["totals"] == report["totals"]
    assert json.loads(export.content.splitlines()[-1])["kind"] == "checkpoint"


async def test_consistency_proofs_are_rate_limited_per_address(web: Web) -> None:
    code = web.site.campaign
    kept = await _checkpoint(web)
    url = f"/api/v1/campaigns/{code}/ledger/consistency?from={kept.size}"
    async with web.client() as client:
        answers = [(await client.get(url)).status_code for _ in range(ratelimit.PROOFS.count + 1)]
        refused = await client.get(url)
    assert set(answers[: ratelimit.PROOFS.count]) == {200}
    assert answers[-1] == 429 and refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited" and "retry-after" in refused.headers


async def test_ledger_exports_are_rate_limited_per_account(web: Web) -> None:
    code = web.site.campaign
    async with web.signed_in("partner") as partner:
        url = f"/api/v1/campaigns/{code}/ledger/export"
        for _ in range(ratelimit.LEDGER_EXPORT.count):
            assert (await partner.get(url)).status_code == 200
        refused = await partner.get(url)
    assert refused.status_code == 429
