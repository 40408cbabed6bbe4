"""What a campaign's public log holds, entry by entry (pure).

Each entry is one canonical JSON line and a leaf of the log's Merkle tree; ``plan`` turns what
happened since the log's last entry into the next entries. Residents appear under a pseudonym
of their own in each campaign, never by account or name. The contributions carry a hash chain
of their own over these public fields: the ledger's own chain also covers the account
reference, so publishing its hashes would let anyone try every account id against them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from warmrun.verify import GENESIS, canonical, chain_hash, utc

# 80 bits: two of a campaign's residents sharing one stays unlikely at millions of residents.
PSEUDONYM_HEX = 20

# The contribution fields the ledger's own chain covers (platform/ledger.py).
LEDGER_FIELDS = (
    "campaign_id",
    "seq",
    "kind",
    "run_id",
    "resident_ref",
    "city_id",
    "compound_id",
    "local_day",
    "sport",
    "metres",
    "kcal",
    "value_fen",
    "funded_fen",
    "idempotency_key",
)


def pseudonym(secret: str, resident_ref: str) -> str:
    """A resident's name in one campaign's log: HMAC-SHA256 of their reference under the
    campaign's secret. The same in every entry of the campaign, unrelated across campaigns."""
    digest = hmac.new(bytes.fromhex(secret), resident_ref.encode(), hashlib.sha256).hexdigest()
    return "r-" + digest[:PSEUDONYM_HEX]


def line(entry: dict[str, Any]) -> bytes:
    return canonical(entry)


def conversion_terms(basis: str, fen: int, per: int, daily_cap_fen: int | None) -> dict[str, Any]:
    """A conversion rule version's terms: ``fen`` per ``per`` metres (or kcal), capped daily."""
    return {"basis": basis, "fen": fen, "per": per, "daily_cap_fen": daily_cap_fen}


def points_terms(per_km: int, per_run: int, daily_cap: int | None) -> dict[str, Any]:
    return {"points_per_km": per_km, "points_per_run": per_run, "daily_cap": daily_cap}


@dataclass(frozen=True)
class Head:
    """Where a log stands: entries, the last contribution (and the ledger's hash there), the
    public chain's head, the last rule version and pledge logged."""

    size: int = 0
    seq: int = 0
    chain_hash: str = GENESIS
    source_hash: str = GENESIS
    rule_version: int = 0
    pledge_id: int = 0


@dataclass(frozen=True)
class Contribution:
    """A ledger entry not yet in the log. ``reverses``: the sequence number of the entry a
    reversal undoes; ``allocations``: (pledge id, fen) in the order they were written."""

    seq: int
    kind: str
    resident_ref: str
    city_id: int
    compound_id: int
    local_day: date
    sport: str
    metres: int
    kcal: int
    value_fen: int
    funded_fen: int
    reverses: int | None = None
    allocations: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Rule:
    version: int
    rule: str  # conversion | points
    sport: str
    terms: dict[str, Any]
    effective_from: datetime
    after_seq: int = 0  # the ledger's last entry when it was made
    backfilled: bool = False


@dataclass
class Pending:
    """Everything since the log's last entry. ``campaign``: the first entry's fields, when
    the log is new; ``cities``/``compounds``: those not yet in the log, by id."""

    campaign: dict[str, Any] | None = None
    pledges: list[dict[str, Any]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    contributions: list[Contribution] = field(default_factory=list)
    cities: dict[int, dict[str, Any]] = field(default_factory=dict)
    compounds: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    entries: list[dict[str, Any]]  # each with its index "i"
    head: Head


def plan(head: Head, pending: Pending, secret: str, then: tuple[dict[str, Any], ...] = ()) -> Batch:
    """The next entries, in order: the campaign (first time), new pledges, then contributions
    in sequence, each after the rule versions made before it was appended and the city and
    compound it first names, and followed by its pledge allocations; the rule versions made
    after the last of them; ``then`` (a closing or the settlement).

    A rule version goes after the entries the ledger held when it was made, never by clock:
    an entry appended later may still have been priced by the version before (credits read
    the rules first), and that version is earlier in the log too."""
    entries: list[dict[str, Any]] = []

    def add(entry: dict[str, Any]) -> None:
        entries.append({"i": head.size + len(entries), **entry})

    if pending.campaign is not None:
        add({"kind": "campaign", **pending.campaign})
    pledge_id = head.pledge_id
    for p in pending.pledges:
        add(pledge_entry(p))
        pledge_id = p["id"]
    rules = sorted(pending.rules, key=lambda r: r.version)
    cities, compounds = dict(pending.cities), dict(pending.compounds)
    chain, seq, version = head.chain_hash, head.seq, head.rule_version
    for c in pending.contributions:
        while rules and rules[0].after_seq < c.seq:
            r = rules.pop(0)
            add(rule_entry(r))
            version = r.version
        if c.city_id in cities:
            add({"kind": "city", "id": c.city_id, **cities.pop(c.city_id)})
        if c.compound_id in compounds:
            add({"kind": "compound", "id": c.compound_id, **compounds.pop(c.compound_id)})
        entry = contribution_entry(c, pseudonym(secret, c.resident_ref), chain)
        add(entry)
        chain, seq = entry["hash"], c.seq
        for pledge, fen in c.allocations:
            add({"kind": "allocation", "seq": c.seq, "pledge": pledge, "fen": fen})
    for r in rules:
        if r.after_seq > seq:
            break  # made after entries not logged yet: it waits for them
        add(rule_entry(r))
        version = r.version
    for entry in then:
        add(entry)
    return Batch(
        entries=entries,
        head=Head(
            size=head.size + len(entries),
            seq=seq,
            chain_hash=chain,
            source_hash=head.source_hash,
            rule_version=version,
            pledge_id=pledge_id,
        ),
    )


def pledge_entry(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "pledge",
        "id": p["id"],
        "sponsor": p["sponsor"],
        "cap_fen": p["cap_fen"],
        "priority": p["priority"],
    }


def rule_entry(r: Rule) -> dict[str, Any]:
    return {
        "kind": "rule",
        "version": r.version,
        "rule": r.rule,
        "sport": r.sport,
        "terms": r.terms,
        "effective_from": utc(r.effective_from),
        "backfilled": r.backfilled,
    }


def contribution_entry(c: Contribution, resident: str, prev: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": "contribution",
        "seq": c.seq,
        "entry": c.kind,
        "resident": resident,
        "city": c.city_id,
        "compound": c.compound_id,
        "day": c.local_day.isoformat(),
        "sport": c.sport,
        "metres": c.metres,
        "kcal": c.kcal,
        "value_fen": c.value_fen,
        "funded_fen": c.funded_fen,
        "reverses": c.reverses,
        "prev": prev,
    }
    entry["hash"] = chain_hash(prev, entry)
    return entry


def closed_entry(at: datetime) -> dict[str, Any]:
    return {"kind": "state", "state": "closed", "at": utc(at)}


def settlement_entry(report: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The settlement's figures as the report states them: anyone can recompute them from
    the entries before it."""
    return {
        "kind": "settlement",
        "at": utc(at),
        "totals": report["totals"],
        "bundles": report["goods"]["bundles"],
        "next_bundle_permille": report["goods"]["next_bundle_permille"],
        "pledges": [{"pledge": p["id"], "owed_fen": p["owed_fen"]} for p in report["pledges"]],
    }
