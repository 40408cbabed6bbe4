"""The public ledger: export, checkpoints, proofs, and the offline verifier catching tampering."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from tests.integration.factory import run_file, upload, world
from warmrun import verify
from warmrun.platform import (
    campaigns,
    clock,
    crediting,
    log_sequencer,
    log_tree,
    settlement,
    signing,
    transparency,
)
from warmrun.platform.errors import CampaignStateError, LedgerTampered
from warmrun.platform.models import (
    Campaign,
    CampaignState,
    Contribution,
    LedgerBlock,
    LedgerLeaf,
    RuleVersion,
    Run,
    SettlementMode,
)
from warmrun.platform.signing import SiteKey

pytestmark = pytest.mark.usefixtures("database")
VERIFY_PY = Path(verify.__file__)
KEY = SiteKey.generate()


async def exported(campaign_id: int, key: SiteKey = KEY) -> bytes:
    return b"".join([c async for c in transparency.export(campaign_id=campaign_id, key=key)])


def check(data: bytes, tmp: Path, *kept: str, key: SiteKey = KEY) -> tuple[int, str]:
    """The verifier's exit status and output for ``data`` with these kept checkpoints."""
    (tmp / "ledger.jsonl").write_bytes(data)
    (tmp / "key.pem").write_text(key.public_pem())
    args = [str(tmp / "ledger.jsonl"), "--public-key", str(tmp / "key.pem")]
    for n, note in enumerate(kept):
        path = tmp / f"kept-{n}.txt"
        path.write_text(note)
        args += ["--checkpoint", str(path)]
    out = io.StringIO()
    return verify.run(args, out=out), out.getvalue()


async def three_runs(w: Any) -> None:
    await upload(w.alice.id, run_file(seed=1))
    await upload(w.bob.id, run_file(seed=2, minutes_after=7))
    await upload(w.alice.id, run_file(seed=3, minutes_after=120))


def lines_of(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(x) for x in data.decode().splitlines()]


def joined(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(verify.canonical(x) + b"\n" for x in lines)


def reseal(lines: list[dict[str, Any]], key: SiteKey = KEY) -> list[dict[str, Any]]:
    """What a site rewriting its own history would publish: the contribution chain and every
    checkpoint recomputed over the edited entries and signed again with the site's key."""
    prev = verify.GENESIS
    for x in lines:
        if x.get("kind") == "contribution" and "i" in x:
            x["prev"] = prev
            x["hash"] = prev = verify.chain_hash(prev, x)
    leaves = [verify.leaf_hash(verify.canonical(x)) for x in lines if "i" in x]
    for x in lines:
        if x.get("kind") == "checkpoint":
            old = verify.parse_checkpoint(x["note"])
            body = verify.checkpoint_body(
                old.campaign, old.size, verify.root(leaves[: old.size]).hex(), old.time, old.reason
            )
            x["note"] = verify.checkpoint_note(body, key.key_id, key.sign(body.encode()))
    return lines


def altered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if value is None:
        return 0
    if isinstance(value, dict):
        first = sorted(value)[0]
        return {**value, first: altered(value[first])}
    if isinstance(value, list):
        return [*value, 0] if not value else [altered(value[0]), *value[1:]]
    raise TypeError(type(value))


async def test_an_export_verifies_offline_against_its_checkpoints(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    cp = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    data = await exported(w.campaign.id)
    code, out = check(data, tmp_path, cp.note)
    assert code == 0, out
    assert "OK: everything holds" in out
    assert f"({cp.size} entries, manual): signature and root OK" in out
    # A checkpoint of an unchanged log is the latest one again.
    again = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    assert again.number == cp.number


async def test_residents_appear_under_a_pseudonym_only(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    text = (await exported(w.campaign.id)).decode()
    assert "resident:" not in text and "Alice" not in text and "Bob" not in text
    assert "run:" not in text  # idempotency keys name runs and residents: never exported
    names = {x["resident"] for x in lines_of(text.encode()) if x.get("kind") == "contribution"}
    assert len(names) == 2 and all(n.startswith("r-") and len(n) == 22 for n in names)


async def test_altering_any_field_of_any_entry_is_caught(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    lines = lines_of(await exported(w.campaign.id))
    entries = [n for n, x in enumerate(lines) if "i" in x]
    assert len(entries) > 10
    tried = 0
    for n in entries:
        for field in lines[n]:
            edited = [dict(x) for x in lines]
            edited[n][field] = altered(edited[n][field])
            code, out = check(joined(edited), tmp_path)
            assert code == 1, f"entry {n}, field {field} changed and not caught"
            assert out.startswith("FAIL: ")
            tried += 1
    assert tried > 100


async def test_a_middle_contribution_edited_names_the_failure(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    lines = lines_of(await exported(w.campaign.id))
    middle = next(x for x in lines if x.get("kind") == "contribution" and x["seq"] == 2)
    middle["metres"] += 1000
    code, out = check(joined(lines), tmp_path)
    assert code == 1
    assert "contribution 2's hash does not match its fields (it was altered)" in out
    # Recomputing the chain does not help: the signed root no longer matches.
    code, out = check(joined(reseal_chain_only(lines)), tmp_path)
    assert code == 1 and "its root does not match" in out


def reseal_chain_only(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    prev = verify.GENESIS
    for x in lines:
        if x.get("kind") == "contribution" and "i" in x:
            x["prev"] = prev
            x["hash"] = prev = verify.chain_hash(prev, x)
    return lines


async def test_deleted_or_reordered_entries_are_caught(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    lines = lines_of(await exported(w.campaign.id))
    entries = [n for n, x in enumerate(lines) if "i" in x]
    for n in entries[1:]:
        deleted = [x for m, x in enumerate(lines) if m != n]
        code, out = check(joined(deleted), tmp_path)
        assert code == 1, n
        if n != entries[-1]:  # the last one gone shows as a signed entry missing at the end
            assert "deleted, added or reordered" in out, n
        # Numbered again to hide the gap: the chain or the signed root still tells.
        renumbered = [dict(x) for x in deleted]
        for i, x in enumerate(y for y in renumbered if "i" in y):
            x["i"] = i
        code, out = check(joined(reseal_chain_only(renumbered)), tmp_path)
        assert code == 1, n
    for a, b in itertools.pairwise(entries[1:]):
        swapped = list(lines)
        swapped[a], swapped[b] = swapped[b], swapped[a]
        code, out = check(joined(swapped), tmp_path)
        assert code == 1 and "deleted, added or reordered" in out
        renumbered = [dict(x) for x in swapped]
        renumbered[a]["i"], renumbered[b]["i"] = renumbered[b]["i"], renumbered[a]["i"]
        code, out = check(joined(reseal_chain_only(renumbered)), tmp_path)
        assert code == 1, (a, b)


async def test_history_rewritten_consistently_is_caught_by_a_kept_checkpoint(
    tmp_path: Path,
) -> None:
    w = await world()
    await three_runs(w)
    kept = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    await upload(w.bob.id, run_file(seed=4, minutes_after=300))
    await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    lines = lines_of(await exported(w.campaign.id))
    first = next(x for x in lines if x.get("kind") == "contribution" and x["seq"] == 1)
    # Alice's first run shrinks, the money with it; allocation and pledge stay consistent.
    first["metres"] -= 1000
    first["value_fen"] -= 50
    first["funded_fen"] -= 50
    alloc = next(x for x in lines if x.get("kind") == "allocation" and x["seq"] == 1)
    alloc["fen"] -= 50
    rewritten = joined(reseal(lines))
    code, out = check(rewritten, tmp_path)
    assert code == 0, out  # consistent in itself, re-signed with the site's own key
    code, out = check(rewritten, tmp_path, kept.note)
    assert code == 1
    assert "the history was rewritten after this checkpoint was signed" in out


async def test_a_kept_checkpoint_larger_than_the_export_is_caught(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    lines = lines_of(await exported(w.campaign.id))
    await upload(w.bob.id, run_file(seed=4, minutes_after=300))
    later = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    code, out = check(joined(lines), tmp_path, later.note)
    assert code == 1 and "entries were removed from the history" in out


async def test_a_checkpoint_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    other = SiteKey.generate()
    cp = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=other)
    data = await exported(w.campaign.id, key=other)
    code, out = check(data, tmp_path)  # against KEY, the site's published key
    assert code == 1 and "the signature is not the site key's" in out
    assert check(data, tmp_path, key=other)[0] == 0
    forged = cp.note.replace(f"size {cp.size}", f"size {cp.size - 1}")
    code, out = check(data, tmp_path, forged, key=other)
    assert code == 1 and "signature" in out


async def test_an_export_without_any_checkpoint_is_not_enough(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    data = await exported(w.campaign.id)
    code, out = check(data, tmp_path)
    assert code == 1 and "no signed checkpoint" in out


@pytest.mark.parametrize("mode", [SettlementMode.FIRST_COME, SettlementMode.PRO_RATA])
async def test_the_verifier_prints_the_settlement_reports_totals(
    tmp_path: Path, mode: SettlementMode
) -> None:
    w = await world(mode=mode, cap_fen=400)
    await three_runs(w)
    await campaigns.advance(campaign_id=w.campaign.id, to=CampaignState.CLOSED, key=KEY)
    report = await settlement.settle(campaign_id=w.campaign.id, key=KEY)
    assert report["checkpoint"]["reason"] == "settle"
    data = await exported(w.campaign.id)
    result = verify.verify_export(data, public_key=KEY.public)
    assert result.settled
    t = result.totals
    assert t["totals"] == report["totals"]
    assert t["cities"] == report["cities"]
    assert t["compounds"] == report["compounds"]
    assert t["offline"] == report["offline"]
    assert (t["goods"]["bundles"], t["goods"]["next_bundle_permille"]) == (
        report["goods"]["bundles"],
        report["goods"]["next_bundle_permille"],
    )
    assert [(p["id"], p["owed_fen"]) for p in t["pledges"]] == [
        (p["id"], p["owed_fen"]) for p in report["pledges"]
    ]
    # The settlement report carries the checkpoint it was signed in, as a checkable file.
    code, out = check(data, tmp_path, report["checkpoint"]["note"])
    assert code == 0, out
    assert "settlement entry: its figures equal the ledger's" in out
    # The report regenerated later is the same, checkpoint included.
    assert settlement.render_json(await settlement.settle(campaign_id=w.campaign.id)) == (
        settlement.render_json(report)
    )


async def test_a_settlement_entry_that_differs_from_the_ledger_is_caught(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    await campaigns.advance(campaign_id=w.campaign.id, to=CampaignState.CLOSED, key=KEY)
    await settlement.settle(campaign_id=w.campaign.id, key=KEY)
    lines = lines_of(await exported(w.campaign.id))
    entry = next(x for x in lines if x.get("kind") == "settlement")
    entry["pledges"][0]["owed_fen"] += 100
    code, out = check(joined(reseal(lines)), tmp_path)
    assert code == 1 and "the settlement entry's figures differ from the ledger's" in out


async def test_closing_and_settling_sign_checkpoints_in_their_transaction() -> None:
    w = await world()
    await three_runs(w)
    await campaigns.advance(campaign_id=w.campaign.id, to=CampaignState.CLOSED, key=KEY)
    await settlement.settle(campaign_id=w.campaign.id, key=KEY)
    made = await transparency.checkpoints(campaign_id=w.campaign.id)
    assert [cp.reason for cp in made] == ["close", "settle"]
    kinds = (
        await LedgerLeaf.filter(campaign_id=w.campaign.id)
        .order_by("idx")
        .values_list("kind", flat=True)
    )
    assert kinds[-2:] == ["state", "settlement"]
    assert made[0].size == len(kinds) - 1 and made[1].size == len(kinds)


async def test_closed_campaigns_refuse_rule_changes() -> None:
    w = await world()
    await campaigns.advance(campaign_id=w.campaign.id, to=CampaignState.CLOSED, key=KEY)
    with pytest.raises(CampaignStateError):
        await campaigns.set_rule(campaign_id=w.campaign.id, sport="run", fen=999, per=1000)
    with pytest.raises(CampaignStateError):
        await campaigns.set_points_rule(campaign_id=w.campaign.id, points_per_km=99)
    rule = await campaigns.get_campaign(campaign_id=w.campaign.id)
    assert rule.state == CampaignState.CLOSED


async def test_rule_versions_are_entries_after_what_they_did_not_price(tmp_path: Path) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    await campaigns.set_rule(campaign_id=w.campaign.id, sport="run", fen=100, per=1000)
    await upload(w.bob.id, run_file(seed=2, minutes_after=7))
    await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    data = await exported(w.campaign.id)
    entries = [x for x in lines_of(data) if "i" in x]
    order = [
        (x["kind"], x.get("seq") or x.get("version"))
        for x in entries
        if x["kind"] in ("rule", "contribution")
    ]
    assert order == [
        ("rule", 1),
        ("rule", 2),
        ("contribution", 1),
        ("rule", 3),
        ("contribution", 2),
    ]
    rules = [x for x in entries if x["kind"] == "rule"]
    assert rules[2]["terms"] == {"basis": "metres", "daily_cap_fen": None, "fen": 100, "per": 1000}
    assert check(data, tmp_path)[0] == 0
    # A run priced above every rule logged before it is caught even when all else is redone.
    lines = lines_of(data)
    run = next(x for x in lines if x.get("kind") == "contribution" and x["seq"] == 1)
    run["value_fen"] = run["funded_fen"] = run["metres"]  # 1 fen a metre: ten times any rule
    alloc = next(x for x in lines if x.get("kind") == "allocation" and x["seq"] == 1)
    alloc["fen"] = run["metres"]
    code, out = check(joined(reseal(lines)), tmp_path)
    assert code == 1 and "more than its distance is worth under any run rule" in out


async def test_a_campaign_older_than_its_log_is_logged_whole(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    # As a campaign credited and closed before rules were versioned and the log existed.
    await RuleVersion.filter(campaign_id=w.campaign.id).delete()
    await Campaign.filter(id=w.campaign.id).update(state=CampaignState.CLOSED)
    report = await settlement.settle(campaign_id=w.campaign.id, key=KEY)
    data = await exported(w.campaign.id)
    kinds = [x["kind"] for x in lines_of(data) if "i" in x]
    assert kinds.count("rule") == 2 and kinds[-2:] == ["state", "settlement"]
    assert all(x["backfilled"] for x in lines_of(data) if x.get("kind") == "rule")
    code, out = check(data, tmp_path, report["checkpoint"]["note"])
    assert code == 0, out
    assert "runs of run were not checked against their rule" in out


async def test_a_ledger_row_edited_before_it_is_logged_stops_the_log() -> None:
    w = await world()
    await three_runs(w)
    await Contribution.filter(campaign_id=w.campaign.id, seq=2).update(metres=99_999)
    with pytest.raises(LedgerTampered) as info:
        await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    assert info.value.params["seq"] == 2
    assert not await transparency.checkpoints(campaign_id=w.campaign.id)


async def test_consistency_proofs_verify_from_every_earlier_size(tmp_path: Path) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    first = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    await upload(w.bob.id, run_file(seed=2, minutes_after=7))
    await upload(w.alice.id, run_file(seed=3, minutes_after=120))
    latest = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    kept = [("kept.txt", verify.parse_checkpoint(first.note))]
    doc = await transparency.consistency(campaign_id=w.campaign.id, old_size=first.size)
    lines = verify.verify_consistency_file(doc, kept, KEY.public)
    assert lines[-1].endswith("the newer log extends it")
    assert doc["new_size"] == latest.size
    for size in range(1, latest.size + 1):
        doc = await transparency.consistency(campaign_id=w.campaign.id, old_size=size)
        old_root = verify.root([bytes.fromhex(h) for h in await leaf_hashes(w.campaign.id, size)])
        assert verify.verify_consistency(
            size,
            latest.size,
            old_root,
            bytes.fromhex(latest.root),
            [bytes.fromhex(h) for h in doc["proof"]],
        )
    # Through the command, as a partner would run it.
    (tmp_path / "proof.json").write_text(json.dumps(doc))
    (tmp_path / "kept.txt").write_text(first.note)
    (tmp_path / "key.pem").write_text(KEY.public_pem())
    doc = await transparency.consistency(campaign_id=w.campaign.id, old_size=first.size)
    (tmp_path / "proof.json").write_text(json.dumps(doc))
    args = [str(tmp_path / "proof.json"), "--checkpoint", str(tmp_path / "kept.txt")]
    args += ["--public-key", str(tmp_path / "key.pem")]
    assert verify.run(args, out=io.StringIO()) == 0


async def leaf_hashes(campaign_id: int, size: int) -> list[str]:
    return list(
        await LedgerLeaf.filter(campaign_id=campaign_id, idx__lt=size)
        .order_by("idx")
        .values_list("hash", flat=True)
    )


async def test_a_log_rewritten_in_the_database_fails_its_consistency_proof() -> None:
    w = await world()
    await three_runs(w)
    kept = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    # The database's copy of an early entry is rewritten (its leaf hash recomputed), more
    # is credited, and the site signs the new state.
    leaf = await LedgerLeaf.get(campaign_id=w.campaign.id, idx=1)
    body = json.loads(leaf.body)
    body["cap_fen"] += 1
    raw = verify.canonical(body)
    await LedgerLeaf.filter(id=leaf.id).update(body=raw.decode(), hash=verify.leaf_hash(raw).hex())
    await upload(w.bob.id, run_file(seed=4, minutes_after=300))
    await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    doc = await transparency.consistency(campaign_id=w.campaign.id, old_size=kept.size)
    with pytest.raises(verify.Failure, match="the history was rewritten"):
        verify.verify_consistency_file(
            doc, [("kept.txt", verify.parse_checkpoint(kept.note))], KEY.public
        )


async def test_a_resident_proves_each_of_their_contributions_is_in_the_latest_checkpoint(
    tmp_path: Path,
) -> None:
    w = await world()
    await three_runs(w)
    await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    await upload(w.alice.id, run_file(seed=5, minutes_after=400))  # after the checkpoint
    doc = await transparency.inclusion(campaign_id=w.campaign.id, resident_id=w.alice.id)
    assert len(doc["entries"]) == 2 and doc["pending"] == 1
    lines = verify.verify_inclusion_file(doc, KEY.public)
    assert sum("in the log at entry" in line for line in lines) == 2
    bob = await transparency.inclusion(campaign_id=w.campaign.id, resident_id=w.bob.id)
    assert len(bob["entries"]) == 1 and bob["resident"] != doc["resident"]
    # An edited entry, or someone else's entry passed off as one's own, does not verify.
    entry = json.loads(doc["entries"][0]["line"])
    entry["metres"] += 1
    forged = {**doc, "entries": [{**doc["entries"][0], "line": verify.canonical(entry).decode()}]}
    with pytest.raises(verify.Failure):
        verify.verify_inclusion_file(forged, KEY.public)
    with pytest.raises(verify.Failure, match="someone else's entry"):
        verify.verify_inclusion_file({**doc, "entries": bob["entries"]}, KEY.public)


async def test_daily_checkpoints_while_active_and_after_late_entries(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    first = await transparency.checkpoint_due(key=KEY)
    assert first.signed == [w.campaign.id]
    assert (await transparency.checkpoint_due(key=KEY)).signed == []
    start = clock.now()
    clock.set_clock(lambda: start + timedelta(days=1, minutes=1))
    assert (await transparency.checkpoint_due(key=KEY)).signed == [w.campaign.id]
    made = await transparency.checkpoints(campaign_id=w.campaign.id)
    assert [cp.reason for cp in made] == ["daily", "daily"]
    # Closed: no more daily ones, but a reversal after the closing is signed in the next round.
    await campaigns.advance(campaign_id=w.campaign.id, to=CampaignState.CLOSED, key=KEY)
    clock.set_clock(lambda: start + timedelta(days=3))
    assert (await transparency.checkpoint_due(key=KEY)).signed == []
    run = await Run.filter(resident_id=w.bob.id).first()
    assert run is not None
    async with in_transaction() as conn:
        await crediting.reverse(conn, run, reason="test")
    assert (await transparency.checkpoint_due(key=KEY)).signed == [w.campaign.id]
    data = await exported(w.campaign.id)
    code, out = check(data, tmp_path)
    assert code == 0, out
    assert "1 contributions were made after the campaign closed" in out
    reversal = next(x for x in lines_of(data) if x.get("entry") == "reversal")
    assert reversal["reverses"] == 2 and reversal["metres"] < 0


async def test_a_broken_ledger_stops_only_its_own_checkpoints() -> None:
    w = await world()
    await three_runs(w)
    await Contribution.filter(campaign_id=w.campaign.id, seq=1).update(kcal=1)
    done = await transparency.checkpoint_due(key=KEY)
    assert done.signed == [] and list(done.refused) == [w.campaign.id]


def test_the_signing_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: signing.load_or_create(tmp_path), range(8)))
    assert len({k.public for k in keys}) == 1
    path = tmp_path / signing.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [signing.KEY_FILE]
    assert signing.load_or_create(tmp_path).public == keys[0].public
    path.write_text("not a key")
    with pytest.raises(signing.SigningKeyUnreadable):
        signing.load_or_create(tmp_path)


async def test_the_verifier_runs_as_one_copied_file_without_any_package(tmp_path: Path) -> None:
    w = await world()
    await three_runs(w)
    cp = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    data = await exported(w.campaign.id)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(VERIFY_PY, alone / "verify.py")
    (alone / "ledger.jsonl").write_bytes(data)
    (alone / "checkpoint.txt").write_text(cp.note)
    (alone / "key.pem").write_text(KEY.public_pem())
    # No site packages, and `cryptography` unimportable: the pure-Python signature check.
    runner = (
        "import runpy, sys; sys.modules['cryptography'] = None; "
        "sys.argv = ['verify.py', *sys.argv[1:]]; runpy.run_path('verify.py', run_name='__main__')"
    )
    cmd = [sys.executable, "-I", "-S", "-c", runner, "ledger.jsonl"]
    cmd += ["--checkpoint", "checkpoint.txt", "--public-key", "key.pem"]
    env = {"PATH": os.environ.get("PATH", "")}
    ok = subprocess.run(cmd, cwd=alone, capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: everything holds" in ok.stdout
    lines = lines_of(data)
    next(x for x in lines if x.get("kind") == "contribution")["kcal"] += 1
    (alone / "ledger.jsonl").write_bytes(joined(lines))
    bad = subprocess.run(cmd, cwd=alone, capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 1
    assert bad.stdout.startswith("FAIL: ")


@pytest.mark.slow
def test_the_demo_ledger_exports_and_verifies_offline(tmp_path: Path, database_url: str) -> None:
    from tests.integration.test_cli import warmrun

    if database_url.startswith("postgres"):
        pytest.skip("the demo owns its SQLite file; the PostgreSQL run covers the services")
    code = "four-city-warm-run-2025"
    home = tmp_path / "home"
    assert warmrun("demo", home=home).returncode == 0
    for args in (
        ("ledger", "export", code, "-o", str(tmp_path / "ledger.jsonl")),
        ("ledger", "checkpoint", code, "-o", str(tmp_path / "checkpoint.txt")),
        ("ledger", "key", "-o", str(tmp_path / "key.pem")),
    ):
        done = warmrun(*args, home=home)
        assert done.returncode == 0, done.stderr

    def offline(*extra: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "warmrun.verify", str(tmp_path / "ledger.jsonl")]
        cmd += ["--public-key", str(tmp_path / "key.pem"), *extra]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)

    ok = offline("--checkpoint", str(tmp_path / "checkpoint.txt"))
    assert ok.returncode == 0, ok.stdout
    assert "OK: everything holds" in ok.stdout and "Warm pack" in ok.stdout
    # Closing and settling: the report comes with its checkpoint, and the totals agree.
    assert warmrun("campaign", "close", code, home=home).returncode == 0
    settled = warmrun("campaign", "settle", code, "--out", str(tmp_path / "report"), home=home)
    assert settled.returncode == 0, settled.stderr
    report = json.loads((tmp_path / "report" / f"{code}-settlement.json").read_text())
    again = warmrun("ledger", "export", code, "-o", str(tmp_path / "ledger.jsonl"), home=home)
    assert again.returncode == 0, again.stderr
    kept = tmp_path / "report" / f"{code}-checkpoint.txt"
    done = offline("--checkpoint", str(kept), "--checkpoint", str(tmp_path / "checkpoint.txt"))
    assert done.returncode == 0, done.stdout
    summary = json.loads(offline("--checkpoint", str(kept), "--json").stdout)
    assert summary["ok"] and summary["settled"]
    assert summary["totals"]["totals"] == report["totals"]
    assert summary["totals"]["cities"] == report["cities"]
    assert summary["totals"]["compounds"] == report["compounds"]
    # One altered figure in the export: exit 1, naming the failure.
    lines = (tmp_path / "ledger.jsonl").read_text().splitlines()
    n = next(i for i, x in enumerate(lines) if '"kind":"contribution"' in x and '"seq":5,' in x)
    entry = json.loads(lines[n])
    entry["metres"] += 10
    lines[n] = verify.canonical(entry).decode()
    (tmp_path / "ledger.jsonl").write_text("\n".join(lines) + "\n")
    bad = offline("--checkpoint", str(kept))
    assert bad.returncode == 1
    assert bad.stdout.startswith("FAIL: line") and "contribution 5's hash" in bad.stdout


async def test_stored_block_hashes_give_the_same_roots_and_proofs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Blocks of 4 leaves, so that a small log crosses many block boundaries, copied one
    # ledger entry per transaction.
    monkeypatch.setattr(log_tree, "BLOCK", 4)
    monkeypatch.setattr(transparency, "BLOCK", 4)
    monkeypatch.setattr(log_sequencer, "BLOCK", 4)
    w = await world()
    sizes = []
    for n in range(5):
        await upload((w.alice if n % 2 else w.bob).id, run_file(seed=n, minutes_after=150 * n))
        await transparency.catch_up(campaign_id=w.campaign.id, chunk=1)
        sizes.append((await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)).size)
    hashes = [bytes.fromhex(h) for h in await leaf_hashes(w.campaign.id, 10**6)]
    assert len(hashes) == sizes[-1] > 12
    blocks = await LedgerBlock.filter(campaign_id=w.campaign.id).order_by("block")
    assert [b.block for b in blocks] == list(range(len(hashes) // 4))
    for b in blocks:
        assert b.hash == verify.root(hashes[4 * b.block : 4 * b.block + 4]).hex()
    for cp in await transparency.checkpoints(campaign_id=w.campaign.id):
        assert cp.root == verify.root(hashes[: cp.size]).hex()
    latest = bytes.fromhex(verify.root(hashes).hex())
    for old in range(1, len(hashes) + 1):
        doc = await transparency.consistency(campaign_id=w.campaign.id, old_size=old)
        proof = [bytes.fromhex(h) for h in doc["proof"]]
        assert verify.verify_consistency(old, len(hashes), verify.root(hashes[:old]), latest, proof)
    doc = await transparency.inclusion(campaign_id=w.campaign.id, resident_id=w.alice.id)
    assert len(doc["entries"]) == 2
    verify.verify_inclusion_file(doc, KEY.public)


async def test_the_apps_loop_signs_the_daily_checkpoints() -> None:
    from warmrun.web import checkpoints

    w = await world()
    await three_runs(w)
    stop = asyncio.Event()
    loop = asyncio.create_task(checkpoints.run_forever(KEY, stop=stop, interval=0.05, delay=0))
    for _ in range(200):
        if await transparency.checkpoints(campaign_id=w.campaign.id):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await loop
    made = await transparency.checkpoints(campaign_id=w.campaign.id)
    assert [cp.reason for cp in made] == ["daily"]  # once: the next is due a day later
