"""The Merkle tree, its proofs and the signature check of warmrun/verify.py.

The fixed vectors are Certificate Transparency's RFC 6962 test data (as published in
transparency-dev/merkle, proof/verify_test.go, Apache-2.0) and RFC 8032 section 7.1.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from warmrun import verify as v
from warmrun.platform.log_tree import BLOCK, BlockedTree, MissingLeaves

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path)
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
HASHED = [v.leaf_hash(x) for x in LEAVES]


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert v.EMPTY_ROOT.hex() == hashlib.sha256(b"").hexdigest()
    assert v.roots([], [0]) == {0: v.EMPTY_ROOT}


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_rfc_6962_vectors(size: int) -> None:
    assert v.root(HASHED[:size]).hex() == ROOTS[size - 1]
    assert v.list_range_hash(HASHED)(0, size).hex() == ROOTS[size - 1]


def test_all_prefix_roots_come_from_one_pass() -> None:
    got = v.roots(HASHED, range(1, 9))
    assert [got[n].hex() for n in range(1, 9)] == ROOTS


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_vectors(index: int, size: int, path: list[str]) -> None:
    proof = v.inclusion_proof(index, size, v.list_range_hash(HASHED))
    assert [p.hex() for p in proof] == path
    top = bytes.fromhex(ROOTS[size - 1])
    assert v.verify_inclusion(index, size, HASHED[index], proof, top)
    # The probes of the reference test suite: each must fail.
    assert not v.verify_inclusion(index + 1, size, HASHED[index], proof, top)
    assert not v.verify_inclusion(index ^ 2, size, HASHED[index], proof, top)
    assert not v.verify_inclusion(index, size * 2, HASHED[index], proof, top)
    assert not v.verify_inclusion(index, size, v.leaf_hash(b"WrongLeaf"), proof, top)
    assert not v.verify_inclusion(index, size, HASHED[index], proof, v.EMPTY_ROOT)
    assert not v.verify_inclusion(index, size, HASHED[index], [*proof, top], top)
    assert not v.verify_inclusion(index, size, HASHED[index], [top, *proof], top)
    assert not v.verify_inclusion(index, size, HASHED[index], proof[:-1], top)
    for i in range(len(proof)):
        flipped = [bytes([p[0] ^ 8]) + p[1:] if j == i else p for j, p in enumerate(proof)]
        assert not v.verify_inclusion(index, size, HASHED[index], flipped, top)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors(old: int, new: int, path: list[str]) -> None:
    proof = v.consistency_proof(old, new, v.list_range_hash(HASHED))
    assert [p.hex() for p in proof] == path
    r1, r2 = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    assert v.verify_consistency(old, new, r1, r2, proof)
    if not proof:
        return
    assert not v.verify_consistency(old - 1, new, r1, r2, proof)
    assert not v.verify_consistency(old + 1, new, r1, r2, proof)
    assert not v.verify_consistency(old, new * 2, r1, r2, proof)
    assert not v.verify_consistency(old, new, r2, r1, proof)
    assert not v.verify_consistency(old, new, r1, r2, [])
    assert not v.verify_consistency(old, new, r1, r2, [*proof, r1])
    assert not v.verify_consistency(old, new, r1, r2, [r2, *proof])
    assert not v.verify_consistency(old, new, r1, r2, proof[:-1])
    for i in range(len(proof)):
        flipped = [bytes([p[0] ^ 16]) + p[1:] if j == i else p for j, p in enumerate(proof)]
        assert not v.verify_consistency(old, new, r1, r2, flipped)


def test_trivial_consistency() -> None:
    r = bytes.fromhex(ROOTS[0])
    assert v.verify_consistency(0, 5, v.EMPTY_ROOT, r, [])
    assert v.verify_consistency(3, 3, r, r, [])
    assert not v.verify_consistency(3, 3, r, v.EMPTY_ROOT, [])
    assert not v.verify_consistency(4, 3, r, r, [])


def _leaves(n: int) -> list[bytes]:
    return [v.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_every_inclusion_proof_verifies_and_no_other_leaf_does(
    size: int, data: st.DataObject
) -> None:
    leaves = _leaves(size)
    top = v.root(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = v.inclusion_proof(index, size, v.list_range_hash(leaves))
    assert v.verify_inclusion(index, size, leaves[index], proof, top)
    other = data.draw(st.integers(min_value=0, max_value=size - 1))
    if other != index:
        assert not v.verify_inclusion(other, size, leaves[index], proof, top)
        assert not v.verify_inclusion(index, size, leaves[other], proof, top)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_consistency_proofs_verify_for_every_older_size(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    old = data.draw(st.integers(min_value=1, max_value=size))
    proof = v.consistency_proof(old, size, v.list_range_hash(leaves))
    assert v.verify_consistency(old, size, v.root(leaves[:old]), v.root(leaves), proof)
    # A rewritten history (one earlier leaf changed) is no longer consistent with the old root.
    changed = data.draw(st.integers(min_value=0, max_value=old - 1))
    rewritten = list(leaves)
    rewritten[changed] = v.leaf_hash(b"rewritten")
    forged = v.consistency_proof(old, size, v.list_range_hash(rewritten))
    assert not v.verify_consistency(old, size, v.root(leaves[:old]), v.root(rewritten), forged)


def test_consistency_holds_for_every_pair_up_to_forty() -> None:
    leaves = _leaves(40)
    tops = v.roots(leaves, range(1, 41))
    mth = v.list_range_hash(leaves)
    for new in range(1, 41):
        for old in range(1, new + 1):
            proof = v.consistency_proof(old, new, mth)
            assert v.verify_consistency(old, new, tops[old], tops[new], proof)
            if old < new:
                assert not v.verify_consistency(old, new, tops[new], tops[new], proof)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=3 * BLOCK + 40), st.data())
def test_the_servers_blocked_tree_gives_the_same_hashes(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    blocks = {b: v.root(leaves[b * BLOCK : (b + 1) * BLOCK]) for b in range(size // BLOCK)}
    tree = BlockedTree(size, blocks)

    def answer(compute):  # type: ignore[no-untyped-def]
        while True:
            try:
                return compute(tree.mth)
            except MissingLeaves as missing:
                b = missing.block
                tree.add_leaves(b, leaves[b * BLOCK : min(size, (b + 1) * BLOCK)])

    plain = v.list_range_hash(leaves)
    assert answer(lambda mth: mth(0, size)) == v.root(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert answer(lambda mth: v.inclusion_proof(index, size, mth)) == v.inclusion_proof(
        index, size, plain
    )
    old = data.draw(st.integers(min_value=1, max_value=size))
    assert answer(lambda mth: v.consistency_proof(old, size, mth)) == v.consistency_proof(
        old, size, plain
    )
    # Only the blocks a proof touches were read.
    assert len(tree.loaded) <= 4


# RFC 8032 section 7.1, tests 1 to 3: (secret key, public key, message, signature).
ED25519 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
        "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
        "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290"
        "ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), ED25519)
def test_ed25519_vectors(secret: str, public: str, message: str, signature: str) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert key.sign(bytes.fromhex(message)).hex() == signature
    pub, msg, sig = bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
    for check in (v.ed25519_verify, v.ed25519_verify_pure):
        assert check(pub, msg, sig)
        assert not check(pub, msg + b"x", sig)
        assert not check(pub, msg, bytes([sig[0] ^ 1]) + sig[1:])
        assert not check(pub, msg, sig[:32] + bytes([sig[32] ^ 1]) + sig[33:])


@settings(max_examples=10, deadline=None)
@given(st.binary(max_size=200))
def test_the_pure_python_check_agrees_with_the_library(message: bytes) -> None:
    key = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    signature = key.sign(message)
    assert v.ed25519_verify_pure(public, message, signature)
    other = Ed25519PrivateKey.generate().sign(message)
    assert not v.ed25519_verify_pure(public, message, other)
    # s at or above the group order is refused (signature malleability).
    s = int.from_bytes(signature[32:], "little") + v._Q
    if s < 2**256:
        assert not v.ed25519_verify_pure(public, message, signature[:32] + s.to_bytes(32, "little"))


def test_public_keys_load_from_pem_base64_and_hex() -> None:
    from cryptography.hazmat.primitives import serialization

    key = Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    import base64

    assert v.load_public_key(pem) == raw
    assert v.load_public_key(base64.b64encode(raw).decode()) == raw
    assert v.load_public_key(raw.hex()) == raw
    with pytest.raises(v.Failure):
        v.load_public_key("not a key")


def test_checkpoint_notes_round_trip_and_signatures_bind_every_line() -> None:
    from cryptography.hazmat.primitives import serialization

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    body = v.checkpoint_body("c1", 12, "ab" * 32, "2025-11-20T16:00:00Z", "daily")
    note = v.checkpoint_note(body, v.key_id(public), key.sign(body.encode()))
    cp = v.parse_checkpoint(note)
    assert (cp.campaign, cp.size, cp.root, cp.reason) == ("c1", 12, "ab" * 32, "daily")
    assert cp.signed_by(public)
    for before, after in (("size 12", "size 13"), ("c1", "c2"), ("daily", "close")):
        assert not v.parse_checkpoint(note.replace(before, after, 1)).signed_by(public)
    with pytest.raises(ValueError, match="single words"):
        v.checkpoint_body("a b", 1, "ab" * 32, "t", "daily")
