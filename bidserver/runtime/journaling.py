"""Events to journal entries and back: the one step between a format's events and the store.

Every event travels in a hash-chained envelope (``store.chain``): its seq, time, format, the
previous entry's hash and its own. The room, the one writer, seals what it decided with the hash of
the entry before (which it holds); whatever reads a journal back (recovery, lazy loads, reloads,
followers, ``bidserver replay``) verifies the chain before a single event is applied, so an entry
altered, removed or reordered in Redis stops the auction with an error naming that entry instead of
being folded into its state.

Decided events become journal entries and, for the awards among them, OCDS releases for the awards
stream, in the same step: the room writes both in one atomic append, so an award is never on the
awards stream without its event in the auction's journal, nor the other way round (a crash between
two writes would need an outbox to repair). The format builds the releases (``Format.awards``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..engine.format import Format
from ..store.chain import GENESIS, ChainBroken, read_header, seal_with_hash, verify
from ..store.journal import AwardRecord

__all__ = ["GENESIS", "ChainBroken", "Chain", "announced_prev", "from_journal", "to_journal"]


class Chain:
    """The head of an auction's hash chain: the last entry's seq and hash."""

    __slots__ = ("seq", "hash")

    def __init__(self, seq: int = 0, hash: str = GENESIS) -> None:
        self.seq = seq
        self.hash = hash


def to_journal(
    fmt: Format, state: Any, head: Chain, events: Sequence[Any]
) -> tuple[list[bytes], list[AwardRecord], Chain]:
    """The sealed entries of ``events`` (which follow ``head``), their awards, and the new head;
    ``state`` has the events applied."""
    entries = []
    seq, prev, name, encode = head.seq, head.hash, fmt.name, fmt.encode_event
    for event in events:
        seq += 1
        entry, prev = seal_with_hash(seq, event.at, name, prev, encode(event))
        entries.append(entry)
    awards = [
        AwardRecord(award.award_id, state.auction_id, award.lot_id, award.payload)
        for award in fmt.awards(state, events)
    ]
    return entries, awards, Chain(seq, prev)


def from_journal(
    formats: Mapping[str, Format],
    auction_id: str,
    entries: Sequence[tuple[int, bytes]],
    head: Chain | None = None,
) -> tuple[Format | None, list[Any], Chain]:
    """The format and events of journal entries that continue the chain after ``head`` (the
    whole journal by default), and the new head. ``ChainBroken`` names the first entry that is
    not what its writer sealed, or whose format this server does not run."""
    head = head or Chain()
    entries = [(seq, data) for seq, data in entries if seq > head.seq]
    envelopes = verify(auction_id, entries, after_seq=head.seq, after_hash=head.hash)
    if not envelopes:
        return None, [], head
    fmt = formats.get(envelopes[0].format)
    events = []
    for envelope in envelopes:
        if fmt is None or envelope.format != fmt.name:
            why = f"is of format {envelope.format!r}, which this server does not run here"
            raise ChainBroken(auction_id, envelope.seq, why)
        events.append(fmt.decode_event(envelope.event))
    last = envelopes[-1]
    return fmt, events, Chain(last.seq, last.hash)


def announced_prev(entry: bytes) -> str:
    """The previous hash an entry announces, to verify a run of entries that starts mid-chain
    (its own hash covers it; "" if it is no envelope, which ``from_journal`` then names)."""
    try:
        return read_header(entry).prev
    except ValueError:
        return ""
