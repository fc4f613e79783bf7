"""The suite contract: what sealing, opening and signing do, whatever the algorithms.

A tender names its suite and the engine looks it up (``bidserver.sealing.suite``). A suite is a
frozen record of plain functions, like a format (``engine/format.py``), so a national suite
(SM2/SM3/SM4 for the China profile) is one new module and one line in the registry, never an engine
change. Every function is pure but ``keypair``, ``signing_keypair`` and ``seal``, which draw from the
OS CSPRNG (tests check properties, not bytes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass


def commitment(sealed: bytes) -> str:
    """``sha256:<hex>`` of the sealed bytes: what the journal, receipts and the opening record name
    a bid by. The same for every suite, so a receipt reads the same whatever sealed the bid."""
    return "sha256:" + hashlib.sha256(sealed).hexdigest()


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    # A fresh encryption keypair as raw bytes (private, public): a tender's or an officer's key.
    keypair: Callable[[], tuple[bytes, bytes]]
    public_of: Callable[[bytes], bytes]
    # seal(public, plaintext, info) -> sealed. Self-describing (the encapsulated key travels in it);
    # info binds the context (which tender), so a blob opens only in the context it was sealed for.
    seal: Callable[[bytes, bytes, bytes], bytes]
    # open(private, sealed, info) -> plaintext; SealError on any failure, never another exception.
    open: Callable[[bytes, bytes, bytes], bytes]
    # Bytes a sealed blob adds to its plaintext: part of the structure check a plaintext bid fails.
    overhead: int
    # sign(private, message) -> signature; verify(public, message, signature) -> bool, never raises.
    sign: Callable[[bytes, bytes], bytes]
    verify: Callable[[bytes, bytes, bytes], bool]
    # A fresh signing keypair (private, public) as raw bytes: a supplier organisation's key for
    # signing its bids (``bid_signature``).
    signing_keypair: Callable[[], tuple[bytes, bytes]]
    signing_public_size: int  # bytes of a raw public signing key: what an invitation may register

    commitment = staticmethod(commitment)
