"""Check a warmrun campaign ledger on your own computer, trusting nothing but this file.

    python3 -m warmrun.verify LEDGER.jsonl [--checkpoint FILE ...] [--public-key FILE]
    python3 verify.py LEDGER.jsonl ...          (this file, copied alone anywhere)

LEDGER.jsonl is a campaign's export (``warmrun ledger export``, or the partner's download);
a proof file downloaded from the site (a resident's inclusion proofs, or a consistency proof
between two checkpoints) can be given instead. A checkpoint file (``warmrun ledger
checkpoint``, or a download from the campaign page) is the site's signed statement "the first
N entries of this campaign's log have this Merkle root, at this time". Keep the ones you are
given: a history rewritten after a checkpoint was handed out no longer matches it.

What is checked, in order; the first failure is named and the exit status is 1:
- every line is one entry in canonical JSON, numbered 0, 1, 2 ... (nothing deleted, added
  or reordered);
- the hash chain over the contributions (each entry's hash covers its fields and the previous
  hash, so an altered field breaks it);
- reversals undo exactly the entry they name; pledge allocations add up to what each entry
  says was funded and stay within each pledge's cap; no rule changed after the campaign closed;
- each run's money is no more than its distance (or kcal) is worth under the most generous
  version of its sport's conversion rule logged before it;
- the Merkle tree (RFC 9162: SHA-256, leaves prefixed 0x00, nodes 0x01) over the entries:
  every checkpoint's root equals the root of the entries it covers, its Ed25519 signature is
  the site's, and checkpoints never shrink;
- the settlement entry's figures equal the ledger's.
Then it prints the totals per city and compound, the money funded and the goods it buys.

Only the Python 3 standard library is needed. Signatures are checked with the
``cryptography`` package when it is installed and with the pure-Python check of RFC 8032
below otherwise. warmrun's server imports the Merkle functions from this file too.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FORMAT = "warmrun-ledger/1"
CHECKPOINT_FORMAT = "warmrun-checkpoint/1"
INCLUSION_FORMAT = "warmrun-inclusion/1"
CONSISTENCY_FORMAT = "warmrun-consistency/1"
GENESIS = "0" * 64


class Failure(Exception):
    """What does not hold, in words for the person running the check."""


def canonical(obj: Any) -> bytes:
    """The one byte form of an entry: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def utc(moment: datetime) -> str:
    """A time as the log writes it: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Merkle tree (RFC 9162, section 2.1) -------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def roots(leaves: Sequence[bytes], sizes: Sequence[int]) -> dict[int, bytes]:
    """The root of the first ``size`` leaves, for each of ``sizes``, in one pass.

    The tree of n leaves is its perfect subtrees (the binary digits of n, largest first)
    folded from the right, which is what the RFC's recursive definition comes to."""
    wanted = set(sizes)
    out: dict[int, bytes] = {}
    if 0 in wanted:
        out[0] = EMPTY_ROOT
    peaks: list[tuple[int, bytes]] = []  # (height, hash), left to right
    for n, leaf in enumerate(leaves, start=1):
        height, h = 0, leaf
        while peaks and peaks[-1][0] == height:
            h = node_hash(peaks.pop()[1], h)
            height += 1
        peaks.append((height, h))
        if n in wanted:
            root = peaks[-1][1]
            for _, left in reversed(peaks[:-1]):
                root = node_hash(left, root)
            out[n] = root
    return out


def root(leaves: Sequence[bytes]) -> bytes:
    return roots(leaves, [len(leaves)])[len(leaves)]


# The hash of leaves[lo:hi] (RFC 9162's MTH of a range). Proofs are written against this, so
# the server can answer it from stored subtree hashes and the tests from a plain list.
RangeHash = Callable[[int, int], bytes]


def list_range_hash(leaves: Sequence[bytes]) -> RangeHash:
    memo: dict[tuple[int, int], bytes] = {}

    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        if (lo, hi) not in memo:
            k = split(hi - lo)
            memo[lo, hi] = node_hash(mth(lo, lo + k), mth(lo + k, hi))
        return memo[lo, hi]

    return mth


def inclusion_proof(index: int, size: int, mth: RangeHash) -> list[bytes]:
    """RFC 9162 PATH(index, D[0:size]), nearest sibling first."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = split(hi - lo)
        if m < k:
            path.append(mth(lo + k, hi))
            hi = lo + k
        else:
            path.append(mth(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(old: int, size: int, mth: RangeHash) -> list[bytes]:
    """RFC 9162 PROOF(old, D[0:size]): SUBPROOF(old, D[0:size], true)."""
    if not 0 <= old <= size:
        raise ValueError("sizes out of order")
    if old in (0, size):
        return []
    path: list[bytes] = []
    lo, hi, m, whole = 0, size, old, True
    while hi - lo != m:
        k = split(hi - lo)
        if m <= k:
            path.append(mth(lo + k, hi))
            hi = lo + k
        else:
            path.append(mth(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        path.append(mth(lo, hi))
    path.reverse()
    return path


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], top: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == top


def verify_consistency(
    old: int, size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2 (an empty old tree is consistent with every tree)."""
    if old < 0 or old > size:
        return False
    if old == size:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    if not proof:
        return False
    path = [old_root, *proof] if old & (old - 1) == 0 else list(proof)
    fn, sn = old - 1, size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


# --- the contribution chain --------------------------------------------------------------------

# Fields of a contribution entry that its chain hash does not cover: its place in the log and
# the chain's own two hashes.
_UNCHAINED = ("i", "prev", "hash")


def chain_hash(prev: str, entry: dict[str, Any]) -> str:
    """SHA-256 of the previous contribution's hash, ``|`` and the entry's canonical fields."""
    fields = {k: v for k, v in entry.items() if k not in _UNCHAINED}
    return hashlib.sha256(prev.encode() + b"|" + canonical(fields)).hexdigest()


# --- Ed25519 signatures (RFC 8032) -------------------------------------------------------------

_SPKI_ED25519 = bytes.fromhex("302a300506032b6570032100")
_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493  # the group order
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T)


def _add(a: _Point, b: _Point) -> _Point:
    pa = (a[1] - a[0]) * (b[1] - b[0]) % _P
    pb = (a[1] + a[0]) * (b[1] + b[0]) % _P
    pc = 2 * a[3] * b[3] * _D % _P
    pd = 2 * a[2] * b[2] % _P
    e, f, g, h = pb - pa, pd - pc, pd + pc, pb + pa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _times(s: int, point: _Point) -> _Point:
    out: _Point = (0, 1, 1, 0)
    while s:
        if s & 1:
            out = _add(out, point)
        point = _add(point, point)
        s >>= 1
    return out


def _same(a: _Point, b: _Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _x_of(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if (x & 1) != sign else x


def _point(encoded: bytes) -> _Point | None:
    y = int.from_bytes(encoded, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _x_of(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_BY = 4 * pow(5, _P - 2, _P) % _P
_BX = _x_of(_BY, 0) or 0
_BASE: _Point = (_BX, _BY, 1, _BX * _BY % _P)


def ed25519_verify_pure(public: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 section 5.1.7, in plain Python (slow, and fine for a few checkpoints)."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _point(public), _point(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _Q
    return _same(_times(s, _BASE), _add(r, _times(h, a)))


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return ed25519_verify_pure(public, message, signature)
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def key_id(public: bytes) -> str:
    """Names a public key in checkpoints: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public).hexdigest()[:16]


def load_public_key(text: str) -> bytes:
    """The 32-byte Ed25519 key from a PEM file (``BEGIN PUBLIC KEY``), base64 or hex."""
    t = text.strip()
    try:
        if t.startswith("-----BEGIN PUBLIC KEY-----"):
            body = "".join(line for line in t.splitlines() if not line.startswith("-----"))
            der = base64.b64decode(body, validate=True)
            if len(der) == 44 and der.startswith(_SPKI_ED25519):
                return der[len(_SPKI_ED25519) :]
            raise Failure("the public key file holds no Ed25519 key")
        raw = bytes.fromhex(t) if len(t) == 64 else base64.b64decode(t, validate=True)
    except ValueError as exc:
        raise Failure("the public key file is neither PEM, base64 nor hex") from exc
    if len(raw) != 32:
        raise Failure("an Ed25519 public key has 32 bytes")
    return raw


# --- checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The site's signed statement about a campaign's log: its first ``size`` entries have
    Merkle root ``root`` at ``time``. ``body`` is the exact signed text."""

    campaign: str
    size: int
    root: str
    time: str
    reason: str
    body: str
    signatures: tuple[tuple[str, bytes], ...]

    def label(self) -> str:
        return f"checkpoint of {self.time} ({self.size} entries, {self.reason})"

    def signed_by(self, public: bytes) -> bool:
        kid = key_id(public)
        return any(
            k == kid and ed25519_verify(public, self.body.encode(), sig)
            for k, sig in self.signatures
        )


_CHECKPOINT_KEYS = ("campaign", "size", "root", "time", "reason")


def checkpoint_body(campaign: str, size: int, root_hex: str, time: str, reason: str) -> str:
    values = (campaign, str(size), root_hex, time, reason)
    if any(not v or any(c.isspace() for c in v) for v in values):
        raise ValueError("checkpoint values are single words")
    lines = [
        CHECKPOINT_FORMAT,
        *(f"{k} {v}" for k, v in zip(_CHECKPOINT_KEYS, values, strict=True)),
    ]
    return "\n".join(lines) + "\n"


def checkpoint_note(body: str, kid: str, signature: bytes) -> str:
    """The checkpoint as a file: the signed body, a blank line, ``— KEY_ID SIGNATURE``."""
    return f"{body}\n— {kid} {base64.b64encode(signature).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    body, sep, tail = text.partition("\n\n")
    if not sep:
        raise Failure("a checkpoint has its text, a blank line and a signature")
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) != 6 or lines[0] != CHECKPOINT_FORMAT:
        raise Failure(f"not a {CHECKPOINT_FORMAT} checkpoint")
    values: dict[str, str] = {}
    for line, key in zip(lines[1:], _CHECKPOINT_KEYS, strict=True):
        name, _, value = line.partition(" ")
        if name != key or not value:
            raise Failure(f"the checkpoint's line {key!r} is missing")
        values[key] = value
    signatures = []
    for line in tail.strip("\n").split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "—":
            raise Failure("a checkpoint signature line reads '— KEY_ID SIGNATURE'")
        try:
            signatures.append((parts[1], base64.b64decode(parts[2], validate=True)))
        except ValueError as exc:
            raise Failure("a checkpoint signature is not base64") from exc
    if not values["size"].isdigit() or len(values["root"]) != 64:
        raise Failure("the checkpoint's size or root is malformed")
    try:
        bytes.fromhex(values["root"])
    except ValueError as exc:
        raise Failure("the checkpoint's root is not hex") from exc
    return Checkpoint(
        campaign=values["campaign"],
        size=int(values["size"]),
        root=values["root"],
        time=values["time"],
        reason=values["reason"],
        body=body,
        signatures=tuple(signatures),
    )


def _check_signature(cp: Checkpoint, public: bytes, where: str) -> None:
    if not cp.signed_by(public):
        raise Failure(
            f"{where}: the signature is not the site key's ({key_id(public)}): "
            "the checkpoint was altered or made by someone else"
        )


# --- conversion and goods (the same integer rules as the site's) -------------------------------


def value_fen(amount: int, fen: int, per: int) -> int:
    return amount * fen // per if amount > 0 and fen > 0 else 0


def split_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    wsum = sum(weights)
    if total <= 0 or wsum <= 0:
        return [0] * len(weights)
    base = [total * w // wsum for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % wsum), i))
    for i in order[: total - sum(base)]:
        base[i] += 1
    return base


def pledges_owed(
    total_value: int, caps: Sequence[int], allocated: Sequence[int], pro_rata: bool
) -> list[int]:
    if not pro_rata:
        return list(allocated)
    return split_largest_remainder(min(total_value, sum(caps)), caps)


def goods_progress(fen: int, price: int) -> tuple[int, int]:
    """(whole bundles, per-mille of the next) that ``fen`` buys."""
    whole, rest = divmod(max(fen, 0), price)
    return whole, rest * 1000 // price


# --- reading an export -------------------------------------------------------------------------

_KINDS = (
    "campaign",
    "city",
    "compound",
    "pledge",
    "rule",
    "contribution",
    "allocation",
    "state",
    "settlement",
)
_ENTRY_TYPES = ("run", "reversal", "offline")
_FIGURES = ("metres", "kcal", "value_fen", "funded_fen")


def _int(entry: dict[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if type(value) is not int:
        raise Failure(f"{where}: {key!r} is not a whole number")
    return value


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise Failure(f"{where}: {key!r} is missing")
    return value


@dataclass
class _Area:
    figures: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    residents: dict[str, int] = field(default_factory=dict)


@dataclass
class Ledger:
    """A campaign's log read entry by entry, checked as it goes, with the sums the report
    needs."""

    campaign: dict[str, Any] = field(default_factory=dict)
    leaves: list[bytes] = field(default_factory=list)
    cities: dict[int, dict[str, Any]] = field(default_factory=dict)
    compounds: dict[int, dict[str, Any]] = field(default_factory=dict)
    pledges: dict[int, dict[str, Any]] = field(default_factory=dict)
    allocated: dict[int, int] = field(default_factory=dict)
    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    points_rules: list[dict[str, Any]] = field(default_factory=list)
    rule_version: int = 0
    seq: int = 0
    head: str = GENESIS
    contributions: dict[int, dict[str, Any]] = field(default_factory=dict)
    reversed_seqs: set[int] = field(default_factory=set)
    open_allocations: tuple[int, int, int] | None = None  # (seq, funded_fen, allocated so far)
    by_city: dict[int, _Area] = field(default_factory=dict)
    by_compound: dict[int, _Area] = field(default_factory=dict)
    offline: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    offline_residents: set[str] = field(default_factory=set)
    closed: bool = False
    after_close: int = 0
    settlement: dict[str, Any] | None = None
    unchecked_sports: set[str] = field(default_factory=set)

    def add(self, entry: dict[str, Any], raw: bytes, where: str) -> None:
        index = len(self.leaves)
        if type(entry.get("i")) is not int or entry["i"] != index:
            raise Failure(
                f"{where}: entry number {entry.get('i')!r} where {index} was due: "
                "entries were deleted, added or reordered"
            )
        kind = entry.get("kind")
        if kind not in _KINDS:
            raise Failure(f"{where}: unknown kind of entry {kind!r}")
        if (index == 0) != (kind == "campaign"):
            raise Failure(f"{where}: the log starts with the campaign, and only there")
        if kind != "allocation":
            self._close_allocations(where)
        getattr(self, f"_{kind}")(entry, where)
        self.leaves.append(leaf_hash(raw))

    def finish(self) -> None:
        self._close_allocations("the end of the export")

    def _campaign(self, e: dict[str, Any], where: str) -> None:
        goods = e.get("goods")
        if not isinstance(goods, dict) or _int(goods, "unit_price_fen", where) <= 0:
            raise Failure(f"{where}: the campaign's goods have no price")
        if e.get("settlement_mode") not in ("first_come", "pro_rata"):
            raise Failure(f"{where}: unknown settlement mode")
        _text(e, "code", where)
        self.campaign = e

    def _city(self, e: dict[str, Any], where: str) -> None:
        cid = _int(e, "id", where)
        if cid in self.cities:
            raise Failure(f"{where}: city {cid} listed twice")
        _text(e, "code", where)
        self.cities[cid] = e

    def _compound(self, e: dict[str, Any], where: str) -> None:
        cid = _int(e, "id", where)
        if cid in self.compounds or _int(e, "city", where) not in self.cities:
            raise Failure(f"{where}: compound {cid} listed twice or before its city")
        _text(e, "name", where)
        self.compounds[cid] = e

    def _pledge(self, e: dict[str, Any], where: str) -> None:
        pid = _int(e, "id", where)
        _text(e, "sponsor", where)
        if pid in self.pledges or _int(e, "cap_fen", where) <= 0:
            raise Failure(f"{where}: pledge {pid} listed twice or without a cap")
        _int(e, "priority", where)
        self.pledges[pid] = e
        self.allocated[pid] = 0

    def _rule(self, e: dict[str, Any], where: str) -> None:
        version = _int(e, "version", where)
        if version != self.rule_version + 1:
            raise Failure(f"{where}: rule version {version} where {self.rule_version + 1} was due")
        if self.closed:
            raise Failure(f"{where}: a rule changed after the campaign closed")
        self.rule_version = version
        terms = e.get("terms")
        if not isinstance(terms, dict):
            raise Failure(f"{where}: the rule has no terms")
        if e.get("rule") == "conversion":
            sport = _text(e, "sport", where)
            if terms.get("basis") not in ("metres", "kcal") or _int(terms, "per", where) <= 0:
                raise Failure(f"{where}: the conversion rule's basis or rate is malformed")
            _int(terms, "fen", where)
            self.rules.setdefault(sport, []).append(e)
            if e.get("backfilled"):
                self.unchecked_sports.add(sport)
        elif e.get("rule") == "points":
            self.points_rules.append(e)
        else:
            raise Failure(f"{where}: unknown rule {e.get('rule')!r}")

    def _contribution(self, e: dict[str, Any], where: str) -> None:
        seq = _int(e, "seq", where)
        if seq != self.seq + 1:
            raise Failure(f"{where}: contribution {seq} where {self.seq + 1} was due")
        if e.get("prev") != self.head:
            raise Failure(
                f"{where}: contribution {seq} does not follow the previous one's hash "
                "(an entry before it was removed or altered)"
            )
        if chain_hash(self.head, e) != e.get("hash"):
            raise Failure(
                f"{where}: contribution {seq}'s hash does not match its fields (it was altered)"
            )
        kind = e.get("entry")
        if kind not in _ENTRY_TYPES:
            raise Failure(f"{where}: unknown contribution type {kind!r}")
        city, compound = _int(e, "city", where), _int(e, "compound", where)
        if self.compounds.get(compound, {}).get("city") != city:
            raise Failure(f"{where}: contribution {seq} names an unknown city or compound")
        figures = [_int(e, k, where) for k in _FIGURES]
        resident, day, sport = (_text(e, k, where) for k in ("resident", "day", "sport"))
        if kind == "reversal":
            self._reversal(e, seq, figures, where)
        elif e.get("reverses") is not None:
            raise Failure(f"{where}: only a reversal reverses an entry")
        if kind == "run":
            self._within_rules(seq, sport, figures, where)
        if kind == "offline":
            self.offline = [a + b for a, b in zip(self.offline, figures, strict=True)]
            self.offline_residents.add(resident)
        for key, table in ((city, self.by_city), (compound, self.by_compound)):
            area = table.setdefault(key, _Area())
            area.figures = [a + b for a, b in zip(area.figures, figures, strict=True)]
            area.residents[resident] = area.residents.get(resident, 0) + figures[0]
        if self.closed:
            self.after_close += 1
        self.contributions[seq] = {
            "entry": kind,
            "figures": figures,
            "who": (resident, city, compound, day, sport),
        }
        self.seq, self.head = seq, e["hash"]
        self.open_allocations = (seq, figures[3], 0)

    def _reversal(self, e: dict[str, Any], seq: int, figures: list[int], where: str) -> None:
        target = e.get("reverses")
        if type(target) is not int:
            raise Failure(f"{where}: reversal {seq} names no entry")
        original = self.contributions.get(target)
        if original is None or original["entry"] != "run" or target in self.reversed_seqs:
            raise Failure(f"{where}: reversal {seq} names no run entry it could undo")
        who = (e["resident"], e["city"], e["compound"], e["day"], e["sport"])
        if [-x for x in original["figures"]] != figures or original["who"] != who:
            raise Failure(f"{where}: reversal {seq} does not undo entry {target} exactly")
        self.reversed_seqs.add(target)

    def _within_rules(self, seq: int, sport: str, figures: list[int], where: str) -> None:
        metres, kcal, value, funded = figures
        if metres < 0 or value < 0 or not 0 <= funded <= value:
            raise Failure(f"{where}: run entry {seq} has negative or overfunded figures")
        if sport in self.unchecked_sports:
            return
        most = max(
            (
                value_fen(
                    metres if r["terms"]["basis"] == "metres" else kcal,
                    r["terms"]["fen"],
                    r["terms"]["per"],
                )
                for r in self.rules.get(sport, [])
            ),
            default=0,
        )
        if value > most:
            raise Failure(
                f"{where}: run entry {seq} is credited {value} fen, more than its distance is "
                f"worth under any {sport} rule logged before it ({most} fen)"
            )

    def _allocation(self, e: dict[str, Any], where: str) -> None:
        if self.open_allocations is None or e.get("seq") != self.open_allocations[0]:
            raise Failure(f"{where}: an allocation that does not follow its contribution")
        pledge, fen = _int(e, "pledge", where), _int(e, "fen", where)
        if pledge not in self.pledges:
            raise Failure(f"{where}: an allocation to an unknown pledge")
        self.allocated[pledge] += fen
        if not 0 <= self.allocated[pledge] <= self.pledges[pledge]["cap_fen"]:
            raise Failure(f"{where}: pledge {pledge} allocated beyond its cap (or below zero)")
        seq, funded, so_far = self.open_allocations
        self.open_allocations = (seq, funded, so_far + fen)

    def _close_allocations(self, where: str) -> None:
        if self.open_allocations is not None:
            seq, funded, allocated = self.open_allocations
            if self.campaign.get("settlement_mode") == "first_come" and funded != allocated:
                raise Failure(
                    f"before {where}: contribution {seq} says {funded} fen funded but its "
                    f"allocations add up to {allocated}"
                )
            self.open_allocations = None

    def _state(self, e: dict[str, Any], where: str) -> None:
        if e.get("state") != "closed" or self.closed:
            raise Failure(f"{where}: the campaign can close once")
        self.closed = True

    def _settlement(self, e: dict[str, Any], where: str) -> None:
        if not self.closed or self.settlement is not None:
            raise Failure(f"{where}: settled before it closed, or twice")
        now = self.totals()
        stated = {
            "totals": e.get("totals"),
            "bundles": e.get("bundles"),
            "next_bundle_permille": e.get("next_bundle_permille"),
            "pledges": e.get("pledges"),
        }
        computed = {
            "totals": now["totals"],
            "bundles": now["goods"]["bundles"],
            "next_bundle_permille": now["goods"]["next_bundle_permille"],
            "pledges": [{"pledge": p["id"], "owed_fen": p["owed_fen"]} for p in now["pledges"]],
        }
        if stated != computed:
            raise Failure(
                f"{where}: the settlement entry's figures differ from the ledger's: "
                f"{json.dumps(stated, sort_keys=True)} "
                f"against {json.dumps(computed, sort_keys=True)}"
            )
        self.settlement = e

    def totals(self) -> dict[str, Any]:
        """The figures of the site's settlement report, from the entries so far."""
        price = int(self.campaign["goods"]["unit_price_fen"])
        pro_rata = self.campaign["settlement_mode"] == "pro_rata"
        pledges = sorted(self.pledges.values(), key=lambda p: (p["priority"], p["id"]))
        total = [sum(a.figures[i] for a in self.by_city.values()) for i in range(4)]
        owed = pledges_owed(
            total[2],
            [p["cap_fen"] for p in pledges],
            [self.allocated[p["id"]] for p in pledges],
            pro_rata,
        )
        funded = self._funded(sum(owed), pro_rata)
        return {
            "totals": {
                "metres": total[0],
                "kcal": total[1],
                "value_fen": total[2],
                "funded_fen": sum(owed),
            },
            "goods": self._goods(sum(owed), price),
            "cities": [
                {
                    "city": self.cities[k]["code"],
                    "name_zh": self.cities[k].get("name_zh"),
                    "name_en": self.cities[k].get("name_en"),
                    **self._block(a, funded["city"][k], price),
                }
                for k, a in sorted(self.by_city.items(), key=lambda kv: self.cities[kv[0]]["code"])
            ],
            "compounds": [
                {
                    "city": self.cities[self.compounds[k]["city"]]["code"],
                    "city_zh": self.cities[self.compounds[k]["city"]].get("name_zh"),
                    "city_en": self.cities[self.compounds[k]["city"]].get("name_en"),
                    "compound": self.compounds[k]["name"],
                    **self._block(a, funded["compound"][k], price),
                }
                for k, a in sorted(
                    self.by_compound.items(),
                    key=lambda kv: (self.compounds[kv[0]]["city"], self.compounds[kv[0]]["name"]),
                )
            ],
            "pledges": [
                {"id": p["id"], "sponsor": p["sponsor"], "cap_fen": p["cap_fen"], "owed_fen": o}
                for p, o in zip(pledges, owed, strict=True)
            ],
            "offline": {
                "entries": sum(1 for c in self.contributions.values() if c["entry"] == "offline"),
                "participants": len(self.offline_residents),
                "metres": self.offline[0],
                "value_fen": self.offline[2],
                "funded_fen": self.offline[3],
            },
        }

    def _funded(self, owed: int, pro_rata: bool) -> dict[str, dict[int, int]]:
        """The fen funded per city and per compound: what their entries were allocated, or
        (pro rata) their share of what the pledges owe by value."""
        funded = {"city": {k: a.figures[3] for k, a in self.by_city.items()}}
        funded["compound"] = {k: a.figures[3] for k, a in self.by_compound.items()}
        if pro_rata:
            for level, table in (("city", self.by_city), ("compound", self.by_compound)):
                keys = sorted(table)
                shares = split_largest_remainder(owed, [max(table[k].figures[2], 0) for k in keys])
                funded[level] = dict(zip(keys, shares, strict=True))
        return funded

    def _block(self, area: _Area, fen: int, price: int) -> dict[str, Any]:
        """One city's or compound's figures."""
        bundles, permille = goods_progress(fen, price)
        m, k, v, _ = area.figures
        return {
            "metres": m,
            "kcal": k,
            "value_fen": v,
            "funded_fen": fen,
            "participants": sum(1 for x in area.residents.values() if x > 0),
            "bundles": bundles,
            "next_bundle_permille": permille,
            "items": {
                str(i["code"]): bundles * int(i.get("quantity", 1))
                for i in self.campaign["goods"].get("items", [])
            },
        }

    def _goods(self, owed: int, price: int) -> dict[str, Any]:
        """The goods that what the pledges owe buys, and the items they hold."""
        bundles, permille = goods_progress(owed, price)
        goods = self.campaign["goods"]
        return {
            "code": goods.get("code"),
            "name_zh": goods.get("name_zh"),
            "name_en": goods.get("name_en"),
            "unit_price_fen": price,
            "bundles": bundles,
            "next_bundle_permille": permille,
            "items": [
                {**item, "funded": bundles * int(item.get("quantity", 1))}
                for item in goods.get("items", [])
            ],
        }


def _json_line(raw: bytes, where: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise Failure(f"{where}: not a JSON line") from exc
    if not isinstance(obj, dict):
        raise Failure(f"{where}: not a JSON object")
    if canonical(obj) != raw:
        raise Failure(f"{where}: not in canonical form (it was edited)")
    return obj


@dataclass
class Result:
    """What a successful check established, for printing."""

    campaign: dict[str, Any]
    entries: int
    contributions: int
    head: str
    root: str
    checkpoints: list[str]
    notes: list[str]
    totals: dict[str, Any]
    rules: list[dict[str, Any]]
    settled: bool


def verify_export(
    data: bytes, *, kept: Sequence[tuple[str, Checkpoint]] = (), public_key: bytes | None = None
) -> Result:
    """Check an export against itself, its embedded checkpoints and the ``kept`` ones (name,
    checkpoint); raise :class:`Failure` at the first thing that does not hold."""
    header, ledger, embedded = _read_export(data)
    notes: list[str] = []
    if public_key is None:
        try:
            public_key = base64.b64decode(str(header.get("public_key", "")), validate=True)
        except ValueError as exc:
            raise Failure("line 1: the export's public key is not base64") from exc
        notes.append(
            "signatures were checked against the key the export names; give --public-key "
            "with the key the site publishes to check it is the site's"
        )
    checks = [*embedded, *((f"the {cp.label()} in {name}", cp) for name, cp in kept)]
    if not checks:
        raise Failure(
            "no signed checkpoint: nothing ties these entries to the site "
            "(give the checkpoint files you were handed with --checkpoint)"
        )
    size = len(ledger.leaves)
    tops, checked = _check_checkpoints(ledger, checks, public_key)
    latest = max(cp.size for _, cp in checks)
    if latest < size:
        notes.append(f"{size - latest} entries after the latest checkpoint are not signed yet")
    if ledger.after_close:
        notes.append(f"{ledger.after_close} contributions were made after the campaign closed")
    if ledger.unchecked_sports:
        notes.append(
            "runs of " + ", ".join(sorted(ledger.unchecked_sports)) + " were not checked against "
            "their rule: the rule was recorded after the fact"
        )
    return Result(
        campaign=ledger.campaign,
        entries=size,
        contributions=ledger.seq,
        head=ledger.head,
        root=tops[size].hex(),
        checkpoints=checked,
        notes=notes,
        totals=ledger.totals(),
        rules=sorted(
            [*(r for rules in ledger.rules.values() for r in rules), *ledger.points_rules],
            key=lambda r: int(r["version"]),
        ),
        settled=ledger.settlement is not None,
    )


def _read_export(data: bytes) -> tuple[dict[str, Any], Ledger, list[tuple[str, Checkpoint]]]:
    """The export's header, its entries read into a :class:`Ledger`, and the checkpoints
    after them (where, checkpoint)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise Failure("the export is empty")
    header = _json_line(lines[0], "line 1")
    if header.get("format") != FORMAT:
        raise Failure(f"line 1: not a {FORMAT} export")
    ledger = Ledger()
    embedded: list[tuple[str, Checkpoint]] = []
    for n, raw in enumerate(lines[1:], start=2):
        where = f"line {n}"
        entry = _json_line(raw, where)
        if "i" not in entry:
            if entry.get("kind") != "checkpoint" or not isinstance(entry.get("note"), str):
                raise Failure(f"{where}: neither an entry nor a checkpoint")
            cp = parse_checkpoint(entry["note"])
            embedded.append((f"{where}: the {cp.label()}", cp))
            continue
        if embedded:
            raise Failure(f"{where}: an entry after the checkpoints")
        ledger.add(entry, raw, where)
    ledger.finish()
    if not ledger.leaves:
        raise Failure("the export holds no entries")
    return header, ledger, embedded


def _check_checkpoints(
    ledger: Ledger, checks: list[tuple[str, Checkpoint]], public_key: bytes
) -> tuple[dict[int, bytes], list[str]]:
    """Each checkpoint's campaign, signature and root against the entries, and their order;
    returns the roots of the export's prefixes and a line per checkpoint that holds."""
    code = ledger.campaign["code"]
    size = len(ledger.leaves)
    tops = roots(ledger.leaves, [size, *(cp.size for _, cp in checks if cp.size <= size)])
    checked: list[str] = []
    for where, cp in checks:
        if cp.campaign != code:
            raise Failure(f"{where}: it is about campaign {cp.campaign}, not {code}")
        _check_signature(cp, public_key, where)
        if cp.size > size:
            raise Failure(
                f"{where}: it covers {cp.size} entries but the export holds only {size}: "
                "entries were removed from the history"
            )
        if tops[cp.size].hex() != cp.root:
            raise Failure(
                f"{where}: its root does not match the export's first {cp.size} entries: "
                "the history was rewritten after this checkpoint was signed"
            )
        line = f"{cp.label()}: signature and root OK"
        if line not in checked:
            checked.append(line)
    ordered = sorted((cp for _, cp in checks), key=lambda cp: (cp.time, cp.size))
    for before, after in itertools.pairwise(ordered):
        if after.size < before.size:
            raise Failure(f"the {after.label()} is smaller than the earlier {before.label()}")
    return tops, checked


# --- proof files -------------------------------------------------------------------------------


def _hashes(values: Any, where: str) -> list[bytes]:
    if not isinstance(values, list):
        raise Failure(f"{where}: the proof is not a list of hashes")
    try:
        out = [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise Failure(f"{where}: the proof holds something other than hex hashes") from exc
    if any(len(h) != 32 for h in out):
        raise Failure(f"{where}: a proof hash is not 32 bytes")
    return out


def verify_inclusion_file(doc: dict[str, Any], public_key: bytes) -> list[str]:
    """A resident's proofs that their contributions are in a signed checkpoint."""
    cp = parse_checkpoint(str(doc.get("checkpoint", "")))
    _check_signature(cp, public_key, "the proof's checkpoint")
    if cp.campaign != doc.get("campaign"):
        raise Failure("the proofs and their checkpoint are about different campaigns")
    out = [f"{cp.label()}: signature OK"]
    entries = doc.get("entries")
    if not isinstance(entries, list):
        raise Failure("the file lists no entries")
    top = bytes.fromhex(cp.root)
    for n, item in enumerate(entries, start=1):
        where = f"entry {n} of the file"
        line = str(item.get("line", "")) if isinstance(item, dict) else ""
        raw = line.encode()
        entry = _json_line(raw, where)
        index = entry.get("i")
        if type(index) is not int or entry.get("kind") != "contribution":
            raise Failure(f"{where}: not a contribution entry")
        if entry.get("resident") != doc.get("resident"):
            raise Failure(f"{where}: someone else's entry")
        if chain_hash(str(entry.get("prev")), entry) != entry.get("hash"):
            raise Failure(f"{where}: its hash does not match its fields (it was altered)")
        proof = _hashes(item.get("proof"), where)
        if not verify_inclusion(index, cp.size, leaf_hash(raw), proof, top):
            raise Failure(f"{where}: the proof does not lead to the checkpoint's root")
        out.append(
            f"contribution {entry['seq']} ({entry['day']}, {entry['metres'] / 1000:.2f} km, "
            f"{entry['value_fen']} fen): in the log at entry {index}"
        )
    pending = doc.get("pending", 0)
    if pending:
        out.append(f"{pending} newer contributions will be in the next checkpoint")
    return out


def verify_consistency_file(
    doc: dict[str, Any], kept: Sequence[tuple[str, Checkpoint]], public_key: bytes
) -> list[str]:
    """The site's proof that the log only grew from a checkpoint someone kept to a newer one."""
    new = parse_checkpoint(str(doc.get("checkpoint", "")))
    _check_signature(new, public_key, "the newer checkpoint")
    old_size = doc.get("old_size")
    matching = [(name, cp) for name, cp in kept if cp.size == old_size]
    if not matching:
        raise Failure(
            f"give the checkpoint of {old_size} entries you kept with --checkpoint: the proof "
            "starts from it"
        )
    out = [f"the newer {new.label()}: signature OK"]
    proof = _hashes(doc.get("proof"), "the consistency proof")
    for name, old in matching:
        _check_signature(old, public_key, name)
        if old.campaign != new.campaign:
            raise Failure(f"{name}: another campaign's checkpoint")
        if not verify_consistency(
            old.size, new.size, bytes.fromhex(old.root), bytes.fromhex(new.root), proof
        ):
            raise Failure(
                f"the {old.label()} in {name} is not a beginning of the newer log: "
                "the history was rewritten after it was signed"
            )
        out.append(f"the {old.label()} in {name}: the newer log extends it")
    return out


# --- the command -------------------------------------------------------------------------------


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _print_result(r: Result, out: Any) -> None:
    c = r.campaign
    t = r.totals
    print(f"campaign: {c['code']} · {c.get('name', '')}", file=out)
    print(
        f"entries: {r.entries} ({r.contributions} contributions); chain OK, head {r.head}", file=out
    )
    print(f"Merkle root of all {r.entries} entries: {r.root}", file=out)
    for line in r.checkpoints:
        print(line, file=out)
    for rule in r.rules:
        terms = ", ".join(f"{k} {v}" for k, v in sorted(rule["terms"].items()))
        sport = f" {rule['sport']}" if rule.get("sport") else ""
        print(
            f"rule v{rule['version']} {rule['rule']}{sport} from {rule['effective_from']}: {terms}",
            file=out,
        )
    _print_totals(t, out)
    g = t["goods"]
    print(
        f"funded: {_yuan(t['totals']['funded_fen'])} CNY = {g['bundles']} × {g['name_en']} "
        f"({_yuan(g['unit_price_fen'])} CNY each) and {g['next_bundle_permille'] // 10}% "
        "of the next",
        file=out,
    )
    for item in g["items"]:
        print(f"  {item.get('name_en', item.get('code'))}: {item['funded']}", file=out)
    for p in t["pledges"]:
        print(
            f"pledge {p['sponsor']}: owes {_yuan(p['owed_fen'])} CNY of {_yuan(p['cap_fen'])}",
            file=out,
        )
    if r.settled:
        print("settlement entry: its figures equal the ledger's", file=out)
    for note in r.notes:
        print(f"note: {note}", file=out)


def _print_totals(t: dict[str, Any], out: Any) -> None:
    """The table of the totals, each city and each compound."""
    print(
        f"{'':28} {'km':>10} {'kcal':>10} {'CNY value':>12} {'CNY funded':>12} "
        f"{'people':>7} {'goods':>10}",
        file=out,
    )
    rows = [
        (
            "total",
            {
                **t["totals"],
                "participants": "",
                "bundles": t["goods"]["bundles"],
                "next_bundle_permille": t["goods"]["next_bundle_permille"],
            },
        )
    ]
    rows += [(f"city {x['city']}", x) for x in t["cities"]]
    rows += [(f"  {x['city']} {x['compound']}", x) for x in t["compounds"]]
    for label, x in rows:
        goods = f"{x['bundles']}+{x['next_bundle_permille'] // 10}%"
        print(
            f"{label[:28]:28} {x['metres'] / 1000:>10.1f} {x['kcal']:>10} "
            f"{_yuan(x['value_fen']):>12} {_yuan(x['funded_fen']):>12} "
            f"{x['participants']!s:>7} {goods:>10}",
            file=out,
        )


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise Failure(f"{path}: {exc.strerror}") from exc


def run(argv: Sequence[str] | None = None, out: Any = None) -> int:
    """The command; returns the exit status (0: everything holds)."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python3 -m warmrun.verify",
        description="Check a warmrun ledger export or proof file offline.",
    )
    parser.add_argument("file", help="a ledger export (.jsonl) or a proof file (.json)")
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="FILE",
        help="a checkpoint file you kept (repeat for several)",
    )
    parser.add_argument(
        "--public-key", metavar="FILE", help="the site's published key (PEM, base64 or hex)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    try:
        try:
            lines, result = _check(args.file, args.checkpoint, args.public_key)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            # Whatever the file holds, the answer is a failure named, never a crash.
            raise Failure(f"the file is malformed ({type(exc).__name__}: {exc})") from exc
    except Failure as exc:
        if args.json:
            print(json.dumps({"ok": False, "failure": str(exc)}, ensure_ascii=False), file=out)
        else:
            print(f"FAIL: {exc}", file=out)
        return 1
    if args.json:
        body = {"ok": True, "lines": lines, **(result.__dict__ if result else {})}
        print(json.dumps(body, ensure_ascii=False, indent=2), file=out)
        return 0
    for line in lines:
        print(line, file=out)
    if result is not None:
        _print_result(result, out)
    print("OK: everything holds", file=out)
    return 0


def _text_file(path: str) -> str:
    try:
        return _read(path).decode()
    except UnicodeDecodeError as exc:
        raise Failure(f"{path}: not a text file") from exc


def _check(
    path: str, checkpoints: Sequence[str], key_path: str | None
) -> tuple[list[str], Result | None]:
    kept = [(p, parse_checkpoint(_text_file(p))) for p in checkpoints]
    public = load_public_key(_text_file(key_path)) if key_path else None
    data = _read(path)
    try:
        head = json.loads(data.split(b"\n", 1)[0])
    except ValueError:
        head = None
    if isinstance(head, dict) and head.get("format") == FORMAT:
        return [], verify_export(data, kept=kept, public_key=public)
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise Failure(f"{path}: neither a ledger export nor a proof file") from exc
    if not isinstance(doc, dict) or doc.get("format") not in (INCLUSION_FORMAT, CONSISTENCY_FORMAT):
        raise Failure(f"{path}: neither a ledger export nor a proof file")
    if public is None:
        raise Failure("give the site's public key with --public-key to check a proof file")
    if doc["format"] == INCLUSION_FORMAT:
        return verify_inclusion_file(doc, public), None
    return verify_consistency_file(doc, kept, public), None


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
