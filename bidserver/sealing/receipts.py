"""Signed receipts: the server's word that it received a sealed bid, when, and where it logged it.

Every submission, revision and withdrawal gets one (EU Annex IV (a); China's Measures: every
accepted file gets a receipt), signed with the server's Ed25519 key, so a supplier can prove later,
offline and against the server's published public key, what it handed in and when.

Where it logged it is the journal entry's chain hash (``store.chain.entry_hash``), not its sequence
number: a seq counts the tender's events, so two receipts' seqs would tell a supplier how many bids
came between them, before the opening (China's Measures, Art. 31; EU Annex IV (b)). The hash is
opaque, and ``bidserver audit export`` shows the entry that has it.

The signed message is ``b"bidserver/receipt/v2\\n"`` followed by the receipt's canonical encoding:
msgspec JSON of ``Receipt`` with the keys in sorted order (which is also the fields' declared order),
no whitespace, UTF-8 (strings escape only ``"``, ``\\`` and control characters), integers in
decimal. A verifier re-encodes the decoded receipt, so the file's own spacing and key order do not
matter, and any changed value does.
"""

from __future__ import annotations

import enum
import hashlib
from typing import Annotated

import msgspec

from . import ed25519

_DOMAIN = b"bidserver/receipt/v2\n"  # v1 named the entry by its seq
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


class ReceiptKind(enum.StrEnum):
    SUBMITTED = "submitted"
    REVISED = "revised"
    WITHDRAWN = "withdrawn"


class Receipt(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the server signs (the fields' descriptions are the API document's)."""

    bid_id: Annotated[str, msgspec.Meta(description="The supplier's id of the bid (a revision: the new bid's)")]
    commitment: Annotated[str, msgspec.Meta(
        description="The sealed bid's `sha256:<hex>` (a withdrawal: the withdrawn bid's)")]
    key_id: Annotated[str, msgspec.Meta(
        description="The server's signing key: the first 16 hex digits of SHA-256 of its raw public key")]
    kind: ReceiptKind
    log_entry: Annotated[str, msgspec.Meta(
        pattern="^[0-9a-f]{64}$",
        description="The chain hash of the journal entry that recorded it (`hash` in `bidserver audit export`)")]
    received_at_ms: Annotated[int, msgspec.Meta(
        ge=0, le=MAX_MS, description="The exact time of receipt: the server's clock, ms since 1970 (UTC)")]
    supplier: str
    tender_id: str


class SignedReceipt(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the supplier keeps (msgspec JSON; the signature as base64)."""

    receipt: Receipt
    signature: Annotated[bytes, msgspec.Meta(
        description="Ed25519, base64, over `bidserver/receipt/v2`, a newline and the receipt's canonical JSON")]


def key_id(public: bytes) -> str:
    """A signing key's short name: the first 16 hex digits of SHA-256 of its raw 32 bytes."""
    return hashlib.sha256(public).hexdigest()[:16]


def canonical(receipt: Receipt) -> bytes:
    return _DOMAIN + msgspec.json.encode(receipt, order="sorted")


def sign_receipt(private: bytes, receipt: Receipt) -> SignedReceipt:
    """``ValueError`` when the receipt names another key than ``private``'s: a receipt must name
    the published key that checks it."""
    signer = key_id(ed25519.public_of(private))
    if receipt.key_id != signer:
        raise ValueError(f"the receipt names key {receipt.key_id}, the key signing it is {signer}")
    return SignedReceipt(receipt=receipt, signature=ed25519.sign(private, canonical(receipt)))


def verify_receipt(public: bytes, signed: SignedReceipt) -> bool:
    """Whether ``public`` (the server's published key, raw) signed exactly this receipt."""
    return signed.receipt.key_id == key_id(public) and ed25519.verify(
        public, canonical(signed.receipt), signed.signature
    )
