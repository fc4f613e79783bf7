"""Events to journal entries and back: the one step between a format's events and the store.

Decided events become journal entries and, for the awards among them, OCDS releases for the awards
stream, in the same step: the room writes both in one atomic append, so an award is never on the
awards stream without its event in the auction's journal, nor the other way round (a crash between
two writes would need an outbox to repair). The format builds the releases (``Format.awards``);
nothing here knows a format's events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine.format import Format
from ..store.journal import AwardRecord


def to_journal(
    fmt: Format, state: Any, first_seq: int, events: Sequence[Any]
) -> tuple[list[bytes], list[AwardRecord]]:
    """The entries of ``events`` (seqs from ``first_seq``) and their awards; ``state`` has them
    applied."""
    entries = [fmt.encode_event(event) for event in events]
    awards = [
        AwardRecord(award.award_id, state.auction_id, award.lot_id, award.payload)
        for award in fmt.awards(state, events)
    ]
    return entries, awards


def from_journal(
    fmt: Format, auction_id: str, entries: Sequence[tuple[int, bytes]], *, after: Sequence[Any] = ()
) -> list[Any]:
    """The events of journal entries that follow the ``after`` events already held."""
    return [fmt.decode_event(data) for seq, data in entries if seq > len(after)]
