"""RFC 6962 Merkle trees over an auction's journal: tree heads, inclusion and consistency proofs.

Why a Merkle tree on top of the hash chain: the chain shows an entry changed in place, but one
anchor, the last hash, is all that proves the whole history, and proving that one entry is in it
means handing over every entry. A Merkle tree head (the tree's size and root) signed by the server
(``store.tree_heads``) commits to the first ``size`` entries; anyone holding it can check that a
later log extends it (a consistency proof, a few dozen hashes) or that an entry is in it (an
inclusion proof), and the auditor who has the whole log recomputes every signed root from it.

The tree is RFC 6962 §2.1 exactly (restated in RFC 9162 §2.1), with SHA-256:
``MTH({}) = SHA-256()``, a leaf ``SHA-256(0x00 || d)``, a node ``SHA-256(0x01 || left || right)``,
and a tree of n > 1 leaves split at k, the largest power of two smaller than n. The domain bytes
keep a leaf from ever passing for a node.

The leaf data ``d`` of journal entry ``seq`` is its chain hash (the envelope's ``hash``, 32 raw
bytes, ``leaf_of``), not the envelope's bytes: that hash already covers every byte of the entry
that means anything (seq, time, format, the previous entry's hash and the event, as
``chain.entry_hash`` says), so the tree commits to the same content, an inclusion proof for an
entry needs only its hash, and building the tree costs one short hash per entry instead of a
second pass over every event. A verifier must recompute each entry's hash from its content first
(``chain.verify`` does), or the leaf proves nothing about the content.

Hand-written rather than taken from a library: the maintained Python implementation (pymerkle) is
GPL-3.0-or-later, which this Apache-2.0 project cannot depend on, and pins its own dependency to
one exact release; the others on PyPI are young single-release packages. The algorithms are
short, and the tests hold them to the RFC's published test vectors. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "leaf_of",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()
"""The root of the tree of no leaves."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return _sha256(b"\x00" + data).digest()


def leaf_of(entry_hash: str) -> bytes:
    """The leaf of the journal entry whose chain hash (lowercase hex) is ``entry_hash``."""
    return _sha256(b"\x00" + bytes.fromhex(entry_hash)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH: the root of the tree whose leaf hashes are ``leaves``."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, leaves): the audit path of leaf ``index`` (from 0) in the tree of ``leaves``,
    from the leaf's sibling up."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)} leaves")
    return _path(index, leaves)


def _path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, leaves[:k]) + [root(leaves[k:])]
    return _path(m - k, leaves[k:]) + [root(leaves[:k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, leaves): the hashes that show the tree of ``leaves`` extends its first
    ``old_size`` leaves (1 <= old_size <= len(leaves))."""
    if not 1 <= old_size <= len(leaves):
        raise ValueError(f"no consistency proof from size {old_size} to size {len(leaves)}")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], whole) + [root(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [root(leaves[:k])]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree of ``size`` leaves
    whose root is ``root_hash`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    old_size: int, size: int, old_root: bytes, root_hash: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``size`` leaves with root ``root_hash`` extends the
    tree of ``old_size`` leaves with root ``old_root`` (RFC 9162 §2.1.4.2; old_size >= 1)."""
    if not 1 <= old_size <= size:
        return False
    if old_size == size:
        return not proof and old_root == root_hash
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old tree is a node of the new one
        path.insert(0, old_root)
    fn, sn = old_size - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == root_hash


class Frontier:
    """A tree grown one leaf at a time, kept as the roots of its perfect subtrees (one per bit
    set in ``size``, largest first): an append costs one leaf and on average one node hash, a
    root at most log2(size) node hashes. So a verifier gets the root at every signed size in
    one pass over the log, and the server continues a tree from its last head's frontier
    without reading the entries before it."""

    __slots__ = ("size", "_hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} subtree roots, "
                             f"not {len(hashes)}")
        self.size = size
        self._hashes = list(hashes)

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect subtrees' roots, largest first (with ``size``, the whole state)."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> None:
        hashes, carry, h = self._hashes, self.size, leaf
        while carry & 1:  # each trailing 1 bit: two subtrees of one size become one
            h = _sha256(b"\x01" + hashes.pop() + h).digest()
            carry >>= 1
        hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves so far: the subtree roots folded from the right."""
        if not self._hashes:
            return EMPTY_ROOT
        r = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            r = node_hash(h, r)
        return r
