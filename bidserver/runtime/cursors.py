"""Each participant's cursor into an event: a position that tells it nothing it may not see.

The journal's seq counts every event: invitations, and under rank only every other supplier's
bid. A participant whose role may not know that (``Format.sees_seq``) is numbered by the events
its live room lists (``Format.shown_to``): its cursor at journal seq ``N`` is how many of events
``1..N`` are listed to it, so it moves only when something it is shown happens, and the same own
history gives the same numbers whoever else takes part. Roles that may know it keep the seq.

The numbering is a function of the journal alone, so it survives a restart and is the same in
every process (writers, followers): a resume (``?since=<cursor>``) is mapped back to the seq of
that cursor's event. It needs the events from the first: an auction loaded from a snapshot reads
its older events back first (``Rooms.hold_from(auction, 0)``, see ``needs_from``).

Only events not listed to everyone alike are kept per party (a bid the buyer entered for a
supplier), so the index holds the few listed events per role, not the bids.
"""

from __future__ import annotations

import bisect
from typing import Any, Protocol

from ..engine.format import Delivery, Format
from ..engine.values import PARTICIPANTS, Actor, Role
from .eventlog import EventLog


class Served(Protocol):
    """What the cursors read of the auction they number (``auction.Auction``)."""

    format: Format
    state: Any
    log: EventLog

    @property
    def auction_id(self) -> str: ...


class Cursors:
    __slots__ = ("_auction", "_upto", "_shared", "_own")

    def __init__(self, auction: Served) -> None:
        self._auction = auction
        self._upto = 0  # events indexed: 1.._upto
        fmt = auction.format
        # role -> seqs of the events listed to a participant of it who is not their author
        self._shared: dict[Role, list[int]] = {
            role: [] for role in PARTICIPANTS if not fmt.sees_seq(role)
        }
        # supplier -> (seq, listed to it) where that differs from the shared rule
        self._own: dict[str, list[tuple[int, bool]]] = {}

    def by_seq(self, actor: Actor) -> bool:
        """Whether ``actor``'s cursor is the journal's seq."""
        return actor.role not in self._shared

    def needs_from(self, actor: Actor, since: int | None) -> int | None:
        """The journal seq after which events must be held to serve ``actor`` (resuming at
        ``since``), or None if none are needed."""
        if self.by_seq(actor):
            return since
        return 0

    def at(self, actor: Actor, seq: int) -> int:
        """``actor``'s cursor once it has been shown every event up to journal seq ``seq``."""
        if self.by_seq(actor):
            return seq
        self._catch_up()
        count = bisect.bisect_right(self._shared[actor.role], seq)
        if actor.role is Role.SUPPLIER:
            for own_seq, listed in self._own.get(actor.party, ()):
                if own_seq > seq:
                    break
                count += 1 if listed else -1
        return count

    def seq_of(self, actor: Actor, cursor: int) -> int:
        """The journal seq ``cursor`` stands for: that of the ``cursor``-th event listed to
        ``actor`` (0 for 0); a cursor past the last one stands for the current seq."""
        if self.by_seq(actor):
            return cursor
        if cursor <= 0:
            return 0
        listed = self._listed(actor)
        return listed[cursor - 1] if cursor <= len(listed) else self._auction.state.seq

    def _listed(self, actor: Actor) -> list[int]:
        self._catch_up()
        shared = self._shared[actor.role]
        own = self._own.get(actor.party, ()) if actor.role is Role.SUPPLIER else ()
        if not own:
            return shared
        seqs = set(shared)
        for seq, listed in own:
            (seqs.add if listed else seqs.discard)(seq)
        return sorted(seqs)

    def _catch_up(self) -> None:
        auction = self._auction
        held = auction.log
        end = held.base + len(held)
        if end <= self._upto:
            return
        if held.base > self._upto:
            raise LookupError(
                f"auction {auction.auction_id}: events from seq {self._upto + 1} are not held"
            )
        fmt, state = auction.format, auction.state
        roles = [(Actor(role, ""), seqs) for role, seqs in self._shared.items()]
        suppliers = self._shared.get(Role.SUPPLIER)
        for seq, event in enumerate(held.after(self._upto), self._upto + 1):
            if fmt.delivery(event) is Delivery.FOLDED:  # listed only to roles that see every
                continue  # event and the seq (``Format.listed_to``): most events, every bid
            for actor, seqs in roles:
                if fmt.shown_to(state, event, actor) is not None:
                    seqs.append(seq)
            if suppliers is None:
                continue
            author = fmt.personal_to(state, event)
            if author is None:
                continue
            mine = fmt.shown_to(state, event, Actor(Role.SUPPLIER, author)) is not None
            if mine != bool(suppliers and suppliers[-1] == seq):
                self._own.setdefault(author, []).append((seq, mine))
        self._upto = end
