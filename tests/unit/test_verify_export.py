"""The offline verifier over logs built by the server's own pure code (no database), and its
integer rules against the site's."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warmrun import verify
from warmrun.platform import conversion
from warmrun.platform.public_log import (
    Contribution,
    Head,
    Pending,
    Rule,
    closed_entry,
    line,
    plan,
    pseudonym,
)
from warmrun.platform.signing import SiteKey

KEY = SiteKey.generate()
SECRET = "ab" * 32
AT = datetime(2025, 11, 2, tzinfo=UTC)
CAMPAIGN = {
    "code": "c1",
    "name": "Warm run",
    "partner": "One Foundation",
    "starts_on": "2025-11-01",
    "ends_on": "2025-12-31",
    "timezone": "Asia/Shanghai",
    "settlement_mode": "first_come",
    "goods": {
        "code": "warm-pack",
        "name_zh": "温暖包",
        "name_en": "Warm pack",
        "unit_price_fen": 36_500,
        "bundle": True,
        "items": [{"code": "coat", "name_zh": "棉服", "name_en": "Coat", "quantity": 1}],
    },
}
RULE = Rule(1, "conversion", "run", {"basis": "metres", "fen": 50, "per": 1000}, AT)


def run(seq: int, who: str, metres: int, *, undo: int | None = None) -> Contribution:
    sign = -1 if metres < 0 else 1
    value = sign * (abs(metres) * 50 // 1000)
    return Contribution(
        seq=seq,
        kind="reversal" if undo else "run",
        resident_ref=who,
        city_id=1,
        compound_id=2,
        local_day=date(2025, 11, 2),
        sport="run",
        metres=metres,
        kcal=sign * (abs(metres) // 16),
        value_fen=value,
        funded_fen=value,
        reverses=undo,
        allocations=((7, value),),
    )


LEDGER = [
    run(1, "resident:1", 5000),
    run(2, "resident:2", 3000),
    run(3, "resident:1", -5000, undo=1),
    run(4, "resident:1", 7000),
]


def export(*, closed: bool = False, contributions: list[Contribution] = LEDGER) -> bytes:
    pending = Pending(
        campaign=CAMPAIGN,
        pledges=[{"id": 7, "sponsor": "Sponsor A", "cap_fen": 1_000_000, "priority": 0}],
        rules=[RULE],
        contributions=contributions,
        cities={1: {"code": "SZ", "name_zh": "苏州", "name_en": "Suzhou"}},
        compounds={2: {"city": 1, "name": "天骄花园"}},
    )
    batch = plan(Head(), pending, SECRET, (closed_entry(AT),) if closed else ())
    leaves = [verify.leaf_hash(line(e)) for e in batch.entries]
    body = verify.checkpoint_body(
        "c1", len(leaves), verify.root(leaves).hex(), "2025-11-03T00:00:00Z", "daily"
    )
    note = verify.checkpoint_note(body, KEY.key_id, KEY.sign(body.encode()))
    header = {"format": verify.FORMAT, "campaign": "c1", "public_key": KEY.public_base64()}
    out = [line(header), *(line(e) for e in batch.entries)]
    out.append(line({"kind": "checkpoint", "note": note}))
    return b"\n".join(out) + b"\n"


def test_a_log_planned_by_the_server_verifies() -> None:
    result = verify.verify_export(export(closed=True), public_key=KEY.public)
    t = result.totals["totals"]
    assert t == {"metres": 10_000, "kcal": 624, "value_fen": 500, "funded_fen": 500}
    assert result.totals["cities"][0]["participants"] == 2
    assert result.contributions == 4 and not result.notes


def test_pseudonyms_are_stable_in_a_campaign_and_differ_across_campaigns() -> None:
    assert pseudonym(SECRET, "resident:1") == pseudonym(SECRET, "resident:1")
    assert pseudonym(SECRET, "resident:1") != pseudonym(SECRET, "resident:2")
    assert pseudonym(SECRET, "resident:1") != pseudonym("cd" * 32, "resident:1")
    assert "resident:" not in export().decode()


def test_a_second_reversal_of_one_run_is_caught() -> None:
    twice = [
        run(1, "resident:1", 5000),
        run(2, "resident:1", -5000, undo=1),
        run(3, "resident:1", -5000, undo=1),
    ]
    with pytest.raises(verify.Failure, match="reversal 3 names no run entry it could undo"):
        verify.verify_export(export(contributions=twice), public_key=KEY.public)


def _run(data: bytes, tmp: Path) -> tuple[int, str]:
    (tmp / "ledger.jsonl").write_bytes(data)
    (tmp / "key.pem").write_text(KEY.public_pem())
    out = io.StringIO()
    code = verify.run([str(tmp / "ledger.jsonl"), "--public-key", str(tmp / "key.pem")], out=out)
    return code, out.getvalue()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_any_changed_byte_fails_and_never_crashes(tmp_path: Path, data: st.DataObject) -> None:
    original = export(closed=True)
    header_end = original.index(b"\n") + 1
    # Bytes after the header (the header is a hint: nothing in it is trusted).
    where = data.draw(st.integers(min_value=header_end, max_value=len(original) - 2))
    new = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != original[where]))
    mutated = original[:where] + bytes([new]) + original[where + 1 :]
    code, out = _run(mutated, tmp_path)
    assert code == 1, out
    assert out.startswith("FAIL: ")


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_dropping_or_duplicating_a_line_fails(tmp_path: Path, data: st.DataObject) -> None:
    lines = export().split(b"\n")[:-1]
    n = data.draw(st.integers(min_value=1, max_value=len(lines) - 2))  # entries, not the checkpoint
    if data.draw(st.booleans()):
        changed = lines[:n] + lines[n + 1 :]
    else:
        changed = [*lines[:n], lines[n], *lines[n:]]
    code, out = _run(b"\n".join(changed) + b"\n", tmp_path)
    assert code == 1, out


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=8),
)
def test_the_checkers_integer_rules_are_the_sites(total: int, weights: list[int]) -> None:
    assert verify.split_largest_remainder(total, weights) == conversion.split_largest_remainder(
        total, weights
    )
    caps = [w + 1 for w in weights]
    for pro_rata in (False, True):
        assert verify.pledges_owed(total, caps, weights, pro_rata) == conversion.pledges_owed(
            total_value_fen=total, caps=caps, allocated=weights, pro_rata=pro_rata
        )
    progress = conversion.goods_progress(total, caps[0])
    assert verify.goods_progress(total, caps[0]) == (progress.bundles, progress.next_permille)
    assert verify.value_fen(total, weights[0], caps[0]) == conversion.value_fen(
        total, fen=weights[0], per=caps[0]
    )


def _entries(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(x) for x in data.splitlines()[1:] if b'"i":' in x]


def test_entries_are_numbered_from_zero_with_the_campaign_first() -> None:
    entries = _entries(export())
    assert [e["i"] for e in entries] == list(range(len(entries)))
    assert entries[0]["kind"] == "campaign"
    kinds = [e["kind"] for e in entries]
    assert kinds.index("rule") < kinds.index("contribution")
