"""The hash chain: every journaled event travels in an envelope that commits to the one before it.

Why: the journal is the auction's legal record. Sequence numbers and Redis ids keep honest writers
in order, but anyone with access to Redis can edit, delete or reorder a stream entry by hand, and a
replay would fold the edited history without a word. Each envelope carries the SHA-256 of its own
fields and of the previous envelope's hash, so such an edit breaks the chain at the entry it
touched and ``verify`` names that entry. (Rewriting an entry *and* every entry after it, with the
hashes recomputed, is not detectable from the stream alone: that needs the last hash kept
elsewhere, an anchor.)

Who computes what: the auction's single writer seals each event (``seal``, ``seal_with_hash``)
with the hash of the previous entry, which it holds in memory; the journal only compares the
hashes the writer announces (``read_header``) with the stream's last stored hash, atomically with
the write, and never recomputes SHA-256 on the write path. Whoever loads or audits an auction recomputes every
hash (``verify``). This module is pure: bytes in, envelopes or ``ChainBroken`` out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import msgspec

from ..failures import UNREADABLE

__all__ = [
    "GENESIS",
    "PREDATES_CHAIN",
    "ChainBroken",
    "Envelope",
    "Header",
    "entry_hash",
    "open_entry",
    "read_header",
    "seal",
    "seal_with_hash",
    "verify",
]

GENESIS = "0" * 64
"""The "previous hash" of an auction's first entry (seq 1)."""

PREDATES_CHAIN = (
    "predates the hash chain (journal written by bidserver < 0.2); "
    "export it with an older version or start a new data directory"
)
"""Why an entry or a stream written before the chain is refused (read and append alike)."""


class ChainBroken(Exception):
    """An auction's stored history is not the chain its writer sealed: an entry was altered,
    removed, reordered, duplicated, or written before the chain existed. Names the first bad
    entry; nothing read from the auction may be trusted."""

    def __init__(self, auction_id: str, seq: int, why: str) -> None:
        self.auction_id = auction_id
        self.seq = seq
        self.why = why
        super().__init__(f"auction {auction_id!r}: entry {seq} {why}")


class Envelope(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One journal entry as stored: JSON, readable with ``redis-cli``, fields in this order."""

    seq: int
    at: int  # ms epoch, the event's time
    format: str  # which format's event this is (e.g. "reverse_auction"), see ``seal``
    prev: str  # hex SHA-256 of the previous envelope, GENESIS for seq 1
    hash: str  # hex SHA-256 of this envelope, see ``entry_hash``
    event: msgspec.Raw  # the format's event, JSON, byte-exact as sealed


class Header(msgspec.Struct, frozen=True, gc=False):
    """What the journal checks of an envelope: its place and its links, not its content."""

    seq: int
    prev: str
    hash: str


class _Legacy(msgspec.Struct, gc=False):
    """A plain event, as journaled before the chain: any JSON object with a top-level "type"."""

    type: str


_encode = msgspec.json.Encoder().encode
_decode_envelope = msgspec.json.Decoder(Envelope).decode
_decode_header = msgspec.json.Decoder(Header).decode
_decode_legacy = msgspec.json.Decoder(_Legacy).decode
_sha256 = hashlib.sha256

_FORMAT = re.compile(r"[a-z][a-z0-9_.-]*")
_HASH = re.compile(r"[0-9a-f]{64}")
_formats: set[str] = set()  # formats already checked: the check runs once per format, not per entry
_WHITESPACE = frozenset(b" \t\r\n")  # byte values: indexing bytes is cheaper than slicing


def _valid_format(format: str) -> bool:
    if format in _formats:
        return True
    if _FORMAT.fullmatch(format):
        _formats.add(format)
        return True
    return False


def entry_hash(seq: int, at: int, format: str, prev: str, event: bytes) -> str:
    """The lowercase hex SHA-256 of an entry: of the UTF-8 header
    ``f"{seq}\\n{at}\\n{format}\\n{prev}\\n"`` immediately followed by the event's bytes, exactly
    as stored.

    Unambiguous because seq and at are decimal integers, the format is ``[a-z][a-z0-9_.-]*`` and
    prev is 64 hex digits (none contains a newline), and the event comes last, so it is the rest.
    An auditor recomputes it without bidserver, e.g. for the stored envelope
    ``{"seq":7,"at":1800000000123,"format":"reverse_auction","prev":"<P>","hash":"<H>",``
    ``"event":<E>}``::

        { printf '7\\n1800000000123\\nreverse_auction\\n%s\\n' <P>; printf '%s' '<E>'; } | sha256sum

    must print <H>.
    """
    return _sha256(f"{seq}\n{at}\n{format}\n{prev}\n".encode() + event).hexdigest()


def seal(seq: int, at: int, format: str, prev: str, event: bytes) -> bytes:
    """The stored bytes of entry ``seq``: its envelope, with its hash computed.

    ``event`` must be one JSON value without surrounding whitespace (as msgspec encodes it): it
    is stored byte-exact inside the envelope, and a reader gets back exactly those bytes, the
    ones that were hashed. It is not parsed here (the hot path: about 1 µs an entry, most of it
    SHA-256); an entry that is not valid JSON is refused by the journal's ``read_header``.
    """
    return seal_with_hash(seq, at, format, prev, event)[0]


def seal_with_hash(seq: int, at: int, format: str, prev: str, event: bytes) -> tuple[bytes, str]:
    """``seal``, and the entry's hash: the writer's ``prev`` for the next entry, without
    decoding it back from the envelope."""
    if seq < 1:
        raise ValueError(f"sequence numbers start at 1, got {seq}")
    if not event or event[0] in _WHITESPACE or event[-1] in _WHITESPACE:
        raise ValueError("the event must be one JSON value without surrounding whitespace")
    if not _valid_format(format):
        raise ValueError(f"the format must match [a-z][a-z0-9_.-]*, got {format!r}")
    digest = entry_hash(seq, at, format, prev, event)
    return _encode(Envelope(seq, at, format, prev, digest, msgspec.Raw(event))), digest


def read_header(data: bytes) -> Header:
    """The seq and links an envelope announces, unchecked (the journal's cheap look: the event
    is skipped, its hash not recomputed). ``ValueError`` if ``data`` is not an envelope."""
    try:
        return _decode_header(data)
    except UNREADABLE as exc:
        raise ValueError(
            f"not a hash-chain envelope ({exc}); journal entries come from "
            "bidserver.store.chain.seal"
        ) from None


def open_entry(auction_id: str, seq: int, data: bytes) -> Envelope:
    """Decode the entry stored as ``seq`` and check that it is that entry, unaltered: its seq
    field is ``seq`` and its hash is that of its content. Its link to the entry before is
    ``verify``'s to check. Raises ``ChainBroken`` naming the auction and ``seq``."""
    try:
        envelope = _decode_envelope(data)
    except UNREADABLE as exc:
        try:
            _decode_legacy(data)
        except UNREADABLE:
            raise ChainBroken(auction_id, seq, f"is not a hash-chain envelope ({exc})") from None
        raise ChainBroken(auction_id, seq, PREDATES_CHAIN) from None
    if envelope.seq != seq:
        raise ChainBroken(
            auction_id,
            seq,
            f"holds the envelope of entry {envelope.seq}: entries were reordered, duplicated "
            "or moved",
        )
    if not _valid_format(envelope.format):
        raise ChainBroken(auction_id, seq, f"has an invalid format {envelope.format!r}")
    if not _HASH.fullmatch(envelope.prev):  # the recipe is unambiguous only for 64 hex digits
        raise ChainBroken(auction_id, seq, f"has an invalid prev {envelope.prev[:80]!r}")
    event = bytes(envelope.event)
    if entry_hash(seq, envelope.at, envelope.format, envelope.prev, event) != envelope.hash:
        raise ChainBroken(auction_id, seq, "was altered: its hash does not match its content")
    return envelope


def verify(
    auction_id: str,
    entries: Iterable[tuple[int, bytes]],
    *,
    after_seq: int = 0,
    after_hash: str = GENESIS,
) -> list[Envelope]:
    """Check a run of stored ``(seq, data)`` (as ``Journal.read`` returns them) that continues
    the chain after entry ``after_seq``, whose hash is ``after_hash`` (the whole auction by
    default): consecutive seqs, each entry unaltered (``open_entry``), each linked to the one
    before. Returns the envelopes; raises ``ChainBroken`` naming the first bad entry.

    An entry removed from the end of the stream leaves no trace here: that needs an anchor.
    """
    envelopes: list[Envelope] = []
    expected, prev = after_seq + 1, after_hash
    for seq, data in entries:
        if seq > expected:
            raise ChainBroken(auction_id, expected, f"is missing (the next stored entry is {seq})")
        if seq < expected:
            why = f"is out of order (it comes after {expected - 1})"
            raise ChainBroken(auction_id, seq, why)
        envelope = open_entry(auction_id, seq, data)
        if envelope.prev != prev:
            raise ChainBroken(
                auction_id,
                seq,
                "does not start the chain: its prev is not the genesis hash"
                if seq == 1
                else f"does not follow entry {seq - 1}: its prev is not that entry's hash "
                f"(entry {seq - 1} or {seq} was altered or replaced)",
            )
        envelopes.append(envelope)
        expected, prev = seq + 1, envelope.hash
    return envelopes
