"""Signed tree heads: the server's signature on "auction X's journal, entries 1..n, has this
Merkle root", at one moment.

Why: the hash chain and the Merkle tree (``store.merkle``) make any edit of an entry visible only
to someone who knows what the log looked like before; a head signed with the server's Ed25519
key is that knowledge, in a form anyone can check offline and nobody without the key can forge.
Whoever holds a head can later tell whether a log is complete and unchanged up to its size: an
entry changed, removed, inserted or reordered, or the log cut short, gives another root or too
few entries (``store.audit_log`` checks a whole exported log against its heads).

What is signed (``signed_bytes``) is one UTF-8 text, so an auditor can check a head with any
Ed25519 tool, e.g. ``openssl pkeyutl -verify -rawin -pubin -inkey key.pem``::

    bidserver-tree-head/1\\n<auction_id>\\n<tree_size>\\n<root_hash>\\n<timestamp>\\n<key_id>\\n

``root_hash`` is lowercase hex, ``timestamp`` ms since the Unix epoch on the server's clock, and
``key_id`` names the signing key: the first 16 hex digits of the SHA-256 of its raw 32-byte public
key. None of the fields may hold a newline, so the text says one thing only. Pure apart from the
signature itself (``cryptography``); the key is the caller's (``bidserver.audit``).
"""

from __future__ import annotations

import hashlib
import re

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["HEAD_FORMAT", "SignedTreeHead", "head_problem", "key_id", "public_raw", "sign_head"]

HEAD_FORMAT = "bidserver-tree-head/1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class SignedTreeHead(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The journal of ``auction_id``, entries 1..``tree_size`` (the last one's seq), has the
    Merkle root ``root_hash``: signed at ``timestamp`` with the key ``key_id``."""

    auction_id: str
    tree_size: int
    root_hash: str  # lowercase hex
    timestamp: int  # ms epoch
    key_id: str
    signature: str  # lowercase hex Ed25519 signature of ``signed_bytes``


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The name of a public key in heads and exports."""
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


def signed_bytes(
    auction_id: str, tree_size: int, root_hash: str, timestamp: int, key: str
) -> bytes:
    """The canonical text a head's signature covers (see the module's docstring)."""
    return (
        f"{HEAD_FORMAT}\n{auction_id}\n{tree_size}\n{root_hash}\n{timestamp}\n{key}\n".encode()
    )


def sign_head(
    key: Ed25519PrivateKey, auction_id: str, tree_size: int, root: bytes, timestamp: int
) -> SignedTreeHead:
    if "\n" in auction_id or not auction_id:
        raise ValueError(f"auction id {auction_id!r} cannot be signed (empty or a newline)")
    if tree_size < 1:
        raise ValueError(f"a signed tree head covers at least entry 1, not {tree_size}")
    kid = key_id(key.public_key())
    message = signed_bytes(auction_id, tree_size, root.hex(), timestamp, kid)
    return SignedTreeHead(
        auction_id=auction_id,
        tree_size=tree_size,
        root_hash=root.hex(),
        timestamp=timestamp,
        key_id=kid,
        signature=key.sign(message).hex(),
    )


def head_problem(head: SignedTreeHead, keys: dict[str, Ed25519PublicKey]) -> str | None:
    """Why ``head`` is not a head signed by one of ``keys`` (by key id), or None."""
    if "\n" in head.auction_id or "\n" in head.key_id or not _HEX64.fullmatch(head.root_hash):
        return "is malformed (a newline in a name, or a root that is not 64 hex digits)"
    if head.tree_size < 1:
        return f"has an impossible size {head.tree_size}"
    key = keys.get(head.key_id)
    if key is None:
        return f"is signed with key {head.key_id}, which is not a trusted key"
    try:
        signature = bytes.fromhex(head.signature)
        message = signed_bytes(
            head.auction_id, head.tree_size, head.root_hash, head.timestamp, head.key_id
        )
        key.verify(signature, message)
    except (ValueError, InvalidSignature):
        return f"has a signature that key {head.key_id} did not make over its fields"
    return None
