"""A campaign log's Merkle tree as the server holds it (pure): the hash of every complete block
of ``BLOCK`` leaves is stored, so a root or a proof reads a few hundred block hashes and the
leaves of at most a few blocks, never the whole log.

Every range the proofs of RFC 9162 ask for is either a perfect subtree aligned on its size or
a range that ends at the tree's size; a perfect one of ``BLOCK`` leaves or more is made of
whole blocks, so leaves are needed only around the proven index, the old size and the end.
"""

from __future__ import annotations

from collections.abc import Sequence

from warmrun.verify import node_hash, split

BLOCK = 256


class MissingLeaves(Exception):
    """The computation needs the leaf hashes of ``block``: load them and ask again."""

    def __init__(self, block: int) -> None:
        super().__init__(block)
        self.block = block


class BlockedTree:
    """Answers ``mth(lo, hi)`` (the hash of leaves[lo:hi]) for a tree of ``size`` leaves
    from the hashes of its complete blocks and the leaves loaded so far."""

    def __init__(self, size: int, blocks: dict[int, bytes]) -> None:
        self.size = size
        self.blocks = blocks
        self.leaves: dict[int, Sequence[bytes]] = {}
        self.memo: dict[tuple[int, int], bytes] = {}

    @property
    def loaded(self) -> set[int]:
        return set(self.leaves)

    def add_leaves(self, block: int, hashes: Sequence[bytes]) -> None:
        self.leaves[block] = hashes

    def mth(self, lo: int, hi: int) -> bytes:
        if not 0 <= lo < hi <= self.size:
            raise ValueError("range outside the tree")
        n = hi - lo
        if n == 1:
            return self._leaf(lo)
        found = self.memo.get((lo, hi))
        if found is not None:
            return found
        if n == BLOCK and lo % BLOCK == 0:
            # A perfect range larger than a block splits in halves down to whole blocks.
            h = self.blocks[lo // BLOCK]
        else:
            k = split(n)
            h = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
        self.memo[lo, hi] = h
        return h

    def _leaf(self, index: int) -> bytes:
        block = index // BLOCK
        hashes = self.leaves.get(block)
        if hashes is None:
            raise MissingLeaves(block)
        return hashes[index - block * BLOCK]
