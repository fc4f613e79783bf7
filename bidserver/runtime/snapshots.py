"""Loading an auction from its journal, from its newest snapshot when it has a good one.

Why: without snapshots, every start replays every unfinished auction's whole journal, verifying
and folding each event, so a restart grows with history. With one, an auction is its snapshot's
state plus the events after it.

What a snapshot holds and how it is checked (a snapshot is a cache, never the truth):

- ``seq``, ``head_hash``: the journal entry it covers and that entry's chain hash. On load the
  journal is read from that entry on, the entry's hash is recomputed (``verify``) and must equal
  ``head_hash``, and every later entry must chain from it. So a snapshot that does not match the
  journal it claims to cover (stale, from another auction, tampered with) is refused.
- ``state_sha256`` over ``state``: a snapshot damaged in storage is refused.
- ``format``: the format whose ``restore`` reads ``state``; it must be the journal's.

A refused snapshot costs a full replay and a warning naming the auction and why; it never
changes what is served. Entries *before* a snapshot are not re-verified on such a load: that is
what ``bidserver replay --verify`` and archiving do (they read the whole chain).

When to take one: after a durable write, once ``every`` events have passed since the last one and
at least as many as the last one covered (1,000, 2,000, 4,000... events with the default), so
encoding the state (which grows with the auction) costs a bounded share of the event loop: at most
about one encoding of the final state per doubling, twice the final state in all.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from ..engine.format import Format
from ..store.archive import ArchiveError, Archives
from ..failures import UNREADABLE
from ..store.chain import ChainBroken
from ..store.journal import Journal
from ..store.snapshots import Snapshots
from .eventlog import EventLog
from .journaling import Chain, announced_prev, from_journal

log = logging.getLogger(__name__)


class Snapshot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    auction_id: str
    format: str
    seq: int  # the last event it covers
    head_hash: str  # that event's journal entry's chain hash
    at: int  # that event's time (the room's clock never goes back past it)
    state_sha256: str
    state: msgspec.Raw  # the format's ``state_bytes``


_decode = msgspec.json.Decoder(Snapshot).decode
_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class Loaded:
    """An auction as read from its journal: what ``runtime.auction.Auction`` is built from."""

    format: Format
    state: Any
    log: EventLog
    head: Chain
    snapshot_seq: int  # the seq of the snapshot it started from (0: none)


def take(fmt: Format, state: Any, head: Chain, at: int) -> bytes:
    """A snapshot of ``state``, which ``head`` (the durable chain) leads to."""
    data = fmt.state_bytes(state)
    return _encode(
        Snapshot(
            auction_id=state.auction_id,
            format=fmt.name,
            seq=head.seq,
            head_hash=head.hash,
            at=at,
            state_sha256=hashlib.sha256(data).hexdigest(),
            state=msgspec.Raw(data),
        )
    )


def due(every: int, seq: int, last_snapshot_seq: int) -> bool:
    """Whether a snapshot is due at ``seq`` (see the module docstring); ``every`` 0: never."""
    return every > 0 and seq - last_snapshot_seq >= max(every, last_snapshot_seq)


class SnapshotRefused(Exception):
    """A snapshot that is not what it claims; the auction is replayed from its first event."""


async def load(
    formats: Mapping[str, Format],
    journal: Journal,
    snapshots: Snapshots | None,
    auction_id: str,
    *,
    durable: bool = True,
    archives: Archives | None = None,
) -> Loaded | None:
    """The auction from its newest good snapshot and the journal after it, or from its whole
    journal, or (archived) from its archive; None if it has none. Raises ``ChainBroken`` naming a
    bad entry, ``ArchiveError``, and the journal's errors (``durable``: see ``Journal.read``)."""
    stored = await snapshots.load(auction_id) if snapshots is not None else None
    if stored is not None:
        try:
            return await _from_snapshot(formats, journal, auction_id, stored, durable)
        except SnapshotRefused as why:
            log.warning("snapshot of auction %s refused (%s): replaying its whole journal",
                        auction_id, why)
    entries = await journal.read(auction_id, durable=durable)
    if not entries:
        entries = await archived_entries(journal, archives, auction_id)
        if not entries:
            return None
    fmt, events, head = from_journal(formats, auction_id, entries)
    return Loaded(fmt, fmt.replay(auction_id, events), EventLog(events), head, 0)


async def archived_entries(
    journal: Journal, archives: Archives | None, auction_id: str
) -> list[tuple[int, bytes]]:
    """An archived auction's entries, from a file whose chain ends where Redis says it did."""
    head = await journal.archived(auction_id)
    if head is None:
        return []
    if archives is None:
        raise ArchiveError(f"auction {auction_id} is archived, and no archive is configured here")
    manifest, entries = await asyncio.to_thread(archives.read, auction_id)
    if (manifest.head_seq, manifest.head_hash) != head:
        raise ArchiveError(f"the archive of auction {auction_id} does not end where Redis "
                           f"recorded it (entry {head[0]})")
    return entries


async def _from_snapshot(
    formats: Mapping[str, Format], journal: Journal, auction_id: str, stored: bytes, durable: bool
) -> Loaded:
    try:
        snapshot = _decode(stored)
    except UNREADABLE as exc:
        raise SnapshotRefused(f"unreadable: {exc}") from None
    if snapshot.auction_id != auction_id or snapshot.seq < 1:
        raise SnapshotRefused(f"it is of auction {snapshot.auction_id!r} at seq {snapshot.seq}")
    fmt = formats.get(snapshot.format)
    if fmt is None:
        raise SnapshotRefused(f"its format {snapshot.format!r} is not run here")
    if hashlib.sha256(snapshot.state).hexdigest() != snapshot.state_sha256:
        raise SnapshotRefused("its state does not match its digest")
    entries = await journal.read(auction_id, after_seq=snapshot.seq - 1, durable=durable)
    if not entries or entries[0][0] != snapshot.seq:
        raise SnapshotRefused(f"the journal has no entry {snapshot.seq}")
    only = {fmt.name: fmt}
    try:  # the entry it covers, re-hashed (and of its format): its hash must be the one named
        _, _, anchor = from_journal(only, auction_id, entries[:1],
                                    Chain(snapshot.seq - 1, announced_prev(entries[0][1])))
    except ChainBroken as broken:
        raise SnapshotRefused(f"journal entry {snapshot.seq} {broken.why}") from None
    if anchor.hash != snapshot.head_hash:
        raise SnapshotRefused(f"it does not match journal entry {snapshot.seq}")
    _, events, head = from_journal(only, auction_id, entries[1:], anchor)  # a bad entry: refused
    try:
        state = fmt.restore(snapshot.state)
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, ValueError) as exc:
        raise SnapshotRefused(f"its state cannot be read: {exc}") from None
    if state.seq != snapshot.seq or state.auction_id != auction_id:
        raise SnapshotRefused(f"its state is at seq {state.seq}, not {snapshot.seq}")
    for event in events:
        fmt.evolve(state, event)
    log_events = EventLog(events, base=snapshot.seq, base_at=snapshot.at, base_hash=snapshot.head_hash)
    return Loaded(fmt, state, log_events, head, snapshot.seq)
