"""RFC 6962 Merkle trees: the published test vectors, then properties over any tree: every proof
verifies, and any change to a proof, a leaf, an index, a size or a root makes it fail."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidserver.store.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    leaf_of,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# The Certificate Transparency reference vectors (RFC 6962's test data, as every CT
# implementation carries them): eight leaves, the root of each prefix, some proofs.
DATA = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
LEAVES = [leaf_hash(d) for d in DATA]
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
H = {  # the proofs' hashes, by a short name
    "96a2": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f08": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "bc1a": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca85": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37e": "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "fac5": "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "6e34": "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "0ebc": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
}
INCLUSION = [  # (index from 0, tree size, path)
    (0, 8, ["96a2", "5f08", "6b47"]),
    (5, 8, ["bc1a", "ca85", "d37e"]),
    (2, 3, ["fac5"]),
    (1, 5, ["6e34", "5f08", "bc1a"]),
]
CONSISTENCY = [  # (old size, size, proof)
    (1, 1, []),
    (1, 8, ["96a2", "5f08", "6b47"]),
    (6, 8, ["0ebc", "ca85", "d37e"]),
    (2, 5, ["5f08", "bc1a"]),
]


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1's definition, word for word: the reference for ``root`` and ``Frontier``."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def test_the_reference_roots():
    assert EMPTY_ROOT == ROOTS[0] == root([])
    for n in range(1, 9):
        assert root(LEAVES[:n]) == ROOTS[n] == mth(LEAVES[:n]), n


def test_the_reference_inclusion_proofs():
    for index, size, path in INCLUSION:
        proof = [bytes.fromhex(H[p]) for p in path]
        assert inclusion_proof(index, LEAVES[:size]) == proof, (index, size)
        assert verify_inclusion(index, size, LEAVES[index], proof, ROOTS[size])


def test_the_reference_consistency_proofs():
    for old, size, path in CONSISTENCY:
        proof = [bytes.fromhex(H[p]) for p in path]
        assert consistency_proof(old, LEAVES[:size]) == proof, (old, size)
        assert verify_consistency(old, size, ROOTS[old], ROOTS[size], proof)


def test_a_journal_entrys_leaf_is_the_leaf_of_its_chain_hash():
    entry_hash = hashlib.sha256(b"anything").hexdigest()
    assert leaf_of(entry_hash) == hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash)).digest()
    assert node_hash(b"L", b"R") == hashlib.sha256(b"\x01LR").digest()


def test_proofs_refuse_what_is_not_in_the_tree():
    with pytest.raises(ValueError):
        inclusion_proof(8, LEAVES)
    with pytest.raises(ValueError):
        consistency_proof(0, LEAVES)
    with pytest.raises(ValueError):
        consistency_proof(9, LEAVES)
    with pytest.raises(ValueError):
        Frontier(5, [ROOTS[4]])  # 5 leaves: two perfect subtrees (4 and 1)


leaves_st = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70)


def _flip(data: bytes, at: int) -> bytes:
    at %= len(data)
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


@given(leaves_st)
def test_the_frontier_is_the_tree_at_every_size(leaves):
    frontier = Frontier()
    for n, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.root() == mth(leaves[:n]) == root(leaves[:n])
        resumed = Frontier(frontier.size, frontier.hashes)  # as stored with a tree head
        assert resumed.root() == frontier.root()


@given(leaves_st, st.data())
def test_every_inclusion_proof_verifies_and_any_change_fails(leaves, data):
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    tree_root = mth(leaves)
    proof = inclusion_proof(index, leaves)
    assert verify_inclusion(index, size, leaves[index], proof, tree_root)

    assert not verify_inclusion(index, size, _flip(leaves[index], index), proof, tree_root)
    assert not verify_inclusion(index, size, leaves[index], proof, _flip(tree_root, size))
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        changed = proof[:at] + [_flip(proof[at], at)] + proof[at + 1:]
        assert not verify_inclusion(index, size, leaves[index], changed, tree_root)
        assert not verify_inclusion(index, size, leaves[index], proof[:-1], tree_root)
        assert not verify_inclusion(index, size, leaves[index], proof + [proof[0]], tree_root)
    other = data.draw(st.integers(0, size))  # another index, or one past the end
    if other != index and len(set(leaves)) == size:  # (equal subtrees could swap places)
        assert not verify_inclusion(other, size, leaves[index], proof, tree_root)


@given(leaves_st, st.data())
def test_every_consistency_proof_verifies_and_any_change_fails(leaves, data):
    size = len(leaves)
    old = data.draw(st.integers(1, size))
    old_root, new_root = mth(leaves[:old]), mth(leaves)
    proof = consistency_proof(old, leaves)
    assert verify_consistency(old, size, old_root, new_root, proof)

    assert not verify_consistency(old, size, _flip(old_root, old), new_root, proof)
    assert not verify_consistency(old, size, old_root, _flip(new_root, size), proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        changed = proof[:at] + [_flip(proof[at], at)] + proof[at + 1:]
        assert not verify_consistency(old, size, old_root, new_root, changed)
        assert not verify_consistency(old, size, old_root, new_root, proof[:-1])
        assert not verify_consistency(old, size, old_root, new_root, proof + [proof[0]])
    # A history changed before the old head: its new tree does not extend the old one.
    at = data.draw(st.integers(0, old - 1))
    rewritten = leaves[:at] + [_flip(leaves[at], at)] + leaves[at + 1:]
    assert not verify_consistency(
        old, size, old_root, mth(rewritten), consistency_proof(old, rewritten)
    )
