"""The audit export: one auction's whole log in one file that proves itself, offline.

Why: an auditor, a court or a losing bidder must be able to check that an auction's record is
complete and unchanged without trusting the platform that kept it, nor running its software
against its database. The file holds everything needed: every journal entry exactly as stored,
the tree heads the server signed, and the public keys that signed them. ``verify`` recomputes the
hash chain, the Merkle root at every signed head (``store.merkle``) and checks each signature
(``store.tree_heads``).

Layout (``bidserver-audit/1``), JSON lines, UTF-8:

* line 1, the header: ``{"format":"bidserver-audit/1","auction_id":..,"exported_at":<ms>,
  "entries":<n>,"heads":<h>,"keys":{"<key_id>":"<raw Ed25519 public key, hex>"}}``;
* then one line per signed tree head, ``{"head":{...}}`` (``SignedTreeHead``), by tree size;
* then one line per journal entry, seq 1 to n, each the envelope exactly as the journal stored
  it (``store.chain``; the same lines as an archive's entries file).

What a successful ``verify`` proves: the entries form one unbroken chain from entry 1; each
signed head's key is trusted and its signature good; the first ``tree_size`` entries have the
root each head signed. So an entry changed, removed, inserted or reordered anywhere up to the last
head, or the log cut short before it, is found (the first problem is named); entries after the
last head are chained but not yet signed, and the result says how many. A file without any signed
head fails: nothing in it proves the log complete. Trust comes from the key: the keys in the file
only prove the file agrees with itself, so an auditor pins the server's published key
(``trusted``). Heads removed from the file leave fewer entries signed; comparing the last head
with one obtained earlier (a previous export's) shows whether an older history was replaced
wholesale. Pure: bytes in, a report or ``AuditFailed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ..failures import UNREADABLE
from .chain import GENESIS, ChainBroken, open_entry, read_header
from .merkle import Frontier, leaf_of
from .tree_heads import SignedTreeHead, head_problem, key_id

__all__ = [
    "AUDIT_FORMAT", "AuditFailed", "AuditReport", "export_bytes", "outcome", "public_keys", "verify",
]

AUDIT_FORMAT = "bidserver-audit/1"
_HEAD_PREFIX = b'{"head":'


class ExportHeader(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    format: str
    auction_id: str
    exported_at: int  # ms epoch
    entries: int
    heads: int
    keys: dict[str, str]  # key id -> raw public key, hex


class _HeadLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    head: SignedTreeHead


class AuditFailed(Exception):
    """The file is not a complete, unchanged, correctly signed log: the first problem found."""


class AuditReport(msgspec.Struct, frozen=True, kw_only=True):
    auction_id: str
    entries: int
    heads: int  # distinct signed heads checked
    signed: int  # entries covered by the last head
    last_signed_at: int  # the last head's timestamp
    key_ids: tuple[str, ...]  # the keys that signed them
    pinned: bool  # the keys were the caller's, not the file's


_encode = msgspec.json.Encoder().encode
_decode_header = msgspec.json.Decoder(ExportHeader).decode
_decode_head = msgspec.json.Decoder(_HeadLine).decode


def export_bytes(
    auction_id: str,
    entries: Sequence[tuple[int, bytes]],
    heads: Sequence[SignedTreeHead],
    keys: Mapping[str, bytes],
    exported_at: int,
) -> bytes:
    """The file of an auction's stored ``entries`` (as ``Journal.read`` returns them, checked
    by nobody: a broken log is exported as it is, for ``verify`` to name what is wrong),
    ``heads`` and the raw public ``keys`` they name. ``ValueError`` for an entry holding a
    newline, which no envelope does: the line layout cannot carry it."""
    used = {head.key_id for head in heads}
    header = ExportHeader(
        format=AUDIT_FORMAT,
        auction_id=auction_id,
        exported_at=exported_at,
        entries=len(entries),
        heads=len(heads),
        keys={kid: raw.hex() for kid, raw in sorted(keys.items()) if kid in used},
    )
    lines = [_encode(header)]
    lines += [_encode(_HeadLine(head)) for head in sorted(heads, key=lambda h: h.tree_size)]
    for seq, entry in entries:
        if b"\n" in entry:
            raise ValueError(f"auction {auction_id!r}: entry {seq} holds a newline: not an envelope")
        lines.append(entry)
    return b"\n".join(lines) + b"\n"


def verify(data: bytes, trusted: Mapping[str, Ed25519PublicKey] | None = None) -> AuditReport:
    """Check an export (see the module's docstring); ``trusted``: the keys to accept, by key
    id (None: the file's own). Raises ``AuditFailed`` with the first problem."""
    if not data.endswith(b"\n"):
        raise AuditFailed("the file does not end with a whole line: it was cut short")
    lines = data[:-1].split(b"\n")
    header = _header(lines[0])
    auction_id = header.auction_id
    keys = dict(trusted) if trusted is not None else _file_keys(header)
    first_entry = 1
    while first_entry < len(lines) and lines[first_entry].startswith(_HEAD_PREFIX):
        first_entry += 1
    heads = _heads(auction_id, lines[1:first_entry], keys)
    entries = lines[first_entry:]
    _check_entries(auction_id, entries, heads)  # first: a problem inside is the first one
    last = heads[-1] if heads else None
    if last is not None and last.tree_size > len(entries):
        raise AuditFailed(
            f"auction {auction_id!r}: the log is cut short: it ends at entry {len(entries)}, "
            f"but the tree head signed at {last.timestamp} covers entries 1..{last.tree_size}"
        )
    if last is None:
        raise AuditFailed(
            f"auction {auction_id!r}: no signed tree head: the chain of its {len(entries)} entries "
            "is intact, but nothing signed proves the log complete or unchanged"
        )
    if (header.entries, header.heads) != (len(entries), first_entry - 1):
        raise AuditFailed(
            f"auction {auction_id!r}: the header announces {header.entries} entries and "
            f"{header.heads} tree heads, the file holds {len(entries)} and {first_entry - 1}"
        )
    return AuditReport(
        auction_id=auction_id,
        entries=len(entries),
        heads=len(heads),
        signed=last.tree_size,
        last_signed_at=last.timestamp,
        key_ids=tuple(sorted({h.key_id for h in heads})),
        pinned=trusted is not None,
    )


def _header(line: bytes) -> ExportHeader:
    try:
        header = _decode_header(line)
    except UNREADABLE as exc:
        raise AuditFailed(f"line 1 is not a {AUDIT_FORMAT} header: {exc}") from None
    if header.format != AUDIT_FORMAT:
        raise AuditFailed(f"the file is of format {header.format!r}, not {AUDIT_FORMAT!r}")
    return header


def _file_keys(header: ExportHeader) -> dict[str, Ed25519PublicKey]:
    try:
        return {kid: Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw))
                for kid, raw in header.keys.items()}
    except ValueError as exc:
        raise AuditFailed(f"the header's keys are not Ed25519 public keys: {exc}") from None


def _heads(
    auction_id: str, lines: list[bytes], keys: Mapping[str, Ed25519PublicKey]
) -> list[SignedTreeHead]:
    """The signed heads, each checked, by tree size (one per size)."""
    by_size: dict[int, SignedTreeHead] = {}
    for number, line in enumerate(lines, start=2):
        try:
            head = _decode_head(line).head
        except UNREADABLE as exc:
            raise AuditFailed(f"line {number} is not a signed tree head: {exc}") from None
        name = f"the tree head of line {number} (entries 1..{head.tree_size})"
        if head.auction_id != auction_id:
            raise AuditFailed(f"{name} is of auction {head.auction_id!r}, not {auction_id!r}")
        problem = head_problem(head, dict(keys))
        if problem is not None:
            raise AuditFailed(f"{name} {problem}")
        seen = by_size.setdefault(head.tree_size, head)
        if seen.root_hash != head.root_hash:
            raise AuditFailed(
                f"two tree heads of auction {auction_id!r} sign different roots for entries "
                f"1..{head.tree_size} (at {seen.timestamp} and {head.timestamp}): the server "
                "signed two histories"
            )
    return [by_size[size] for size in sorted(by_size)]


def _check_entries(auction_id: str, lines: list[bytes], heads: list[SignedTreeHead]) -> None:
    """Each line the next entry of one chain, and the root at each head's size its root."""
    if not lines:
        raise AuditFailed(f"auction {auction_id!r}: the file holds no journal entry")
    roots = {head.tree_size: head for head in heads}
    frontier = Frontier()
    prev, matched = GENESIS, 0
    for seq, line in enumerate(lines, start=1):
        try:
            envelope = open_entry(auction_id, seq, line)
        except ChainBroken as broken:
            announced = _announced(line, seq)
            if announced != seq:
                raise AuditFailed(_misplaced(auction_id, lines, seq, announced)) from None
            raise AuditFailed(str(broken)) from None
        if envelope.prev != prev:
            raise AuditFailed(
                f"auction {auction_id!r}: entry {seq} does not follow entry {seq - 1}: its prev is "
                "not that entry's hash (one of them was changed, or an entry was inserted)"
                if seq > 1
                else f"auction {auction_id!r}: entry 1 does not start the chain (its prev is not "
                "the genesis hash)"
            )
        prev = envelope.hash
        frontier.append(leaf_of(prev))
        head = roots.get(seq)
        if head is not None:
            if frontier.root().hex() != head.root_hash:
                raise AuditFailed(
                    f"auction {auction_id!r}: entries 1..{seq} do not have the root signed at "
                    f"{head.timestamp}: an entry among entries {matched + 1}..{seq} was changed, "
                    "inserted, removed or reordered after it was signed"
                )
            matched = seq


def _announced(line: bytes, position: int) -> int:
    """The seq an entry line announces (its position when it announces none: ``open_entry``
    then names what it is instead)."""
    try:
        return read_header(line).seq
    except ValueError:
        return position


def _misplaced(auction_id: str, lines: list[bytes], expected: int, seq: int) -> str:
    """Why the line where entry ``expected`` belongs holds entry ``seq``."""
    at = f"auction {auction_id!r}: entry {expected}"
    if seq < expected:
        return f"{at} holds entry {seq} again: an entry was inserted or duplicated"
    later = any(_announced(line, 0) == expected for line in lines[expected:])
    if later:
        return f"{at} is out of order: entry {seq} comes before it"
    return f"{at} is missing (the next entry in the file is {seq})"


def public_keys(paths: Sequence[Path]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 public keys in PEM files (as ``bidserver audit public-key`` prints them), by
    key id; ``ValueError`` naming a file that holds none."""
    keys = {}
    for path in paths:
        try:
            key = load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
        keys[key_id(key)] = key
    return keys


def outcome(report: AuditReport) -> str:
    """The one line a successful ``verify`` is told as."""
    pinned = "" if report.pinned else " from the file itself: pin it with --public-key"
    line = (f"ok: auction {report.auction_id}: {report.entries} entries, hash chain intact; "
            f"{report.heads} signed tree heads verified, the last covering entries "
            f"1..{report.signed} (signed at {report.last_signed_at} ms by key "
            f"{', '.join(report.key_ids)}{pinned})")
    unsigned = report.entries - report.signed
    if unsigned:
        line += f"; {unsigned} entries after it not signed yet"
    return line
