"""The format contract: everything the runtime needs from a kind of event, and nothing more.

A *format* is one kind of event the server runs: today's reverse auction, and next sealed tenders,
RFQs, Dutch or Japanese auctions. The runtime (rooms, the registry, followers, the journal's
envelopes) and the edges' fan-out know formats only through a ``Format`` value, so a new format is
a new engine subpackage plus one line in ``engine.formats``, never a change to the runtime.

A format is pure like the rest of the engine: commands and events are msgspec Structs carrying the
time ``at`` (ms) that the runtime stamps; states are mutable objects with ``auction_id`` and ``seq``
(the number of events applied) that only ``evolve`` changes. Each rule has its one home in the
format: who may see an event, what each role sees of it and of the state, how each event is
delivered to the live room, what a sender is told, history, results and awards.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from . import ocds_common
from .rejections import Rejection
from .values import Actor, Role


class State(Protocol):
    """What the runtime reads of any format's state."""

    auction_id: str
    seq: int  # events applied so far: the last event's sequence number


class Delivery(enum.Enum):
    """How the live room delivers one event to the participants who may see it.

    A role that sees every event (``Format.sees_every_event``: the reverse auction's buyer, the
    organiser) gets every event listed, as ``redact`` shows it to it. For everyone else:
    """

    URGENT = "urgent"  # listed, and sent at once (closes, extensions, awards: never held back)
    LISTED = "listed"  # listed in the next conflated update
    TO_AUTHOR = "to_author"  # listed only to the party it is personal to; others see the view
    FOLDED = "folded"  # never listed: its effect is in the view (another supplier's bid)


class AwardRelease(msgspec.Struct, frozen=True):
    """A release to publish on the awards stream, for contract signing: an OCDS release (JSON) of
    a lot's award, or of the cancellation that ends an event (``lot_id`` "")."""

    award_id: str  # stable across retries and replays: consumers are idempotent on it
    lot_id: str  # "" for a release about the whole event (its cancellation)
    payload: bytes


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """What a listing of events shows of one event (``store.listing`` indexes it).

    ``updated_at`` is the time of the last event that changed one of the other fields, kept by
    the format's own ``evolve``: never the time of the last event, which in a sealed tender may
    be a submission (the listing would tell every invited supplier that someone bid then), and
    the same whenever the entry is written again (after a restart, a takeover, a repair)."""

    title: str
    buyer: str
    suppliers: tuple[str, ...]
    state: str
    created_at: int
    updated_at: int


class Listable(Protocol):
    """What every format's state has that a listing shows."""

    buyer: str
    phase: Any
    suppliers: Any  # the invited suppliers, by id
    config: Any  # with a ``title``, or None before the event is created


def listed(state: Listable) -> tuple[Any, ...]:
    """What ``Summary`` shows, in a form cheap to compare around every event: each format's
    ``evolve`` notes the time of each event that changes it (``listed_at``, the listing's
    ``updated_at``), so a bid, which changes none of it, never moves ``updated_at``. Invitations
    only add suppliers, so their number stands for them."""
    config = state.config
    return (state.buyer, None if config is None else config.title, state.phase,
            len(state.suppliers))


class Table(msgspec.Struct, frozen=True):
    """Rows for an export (the results CSV): every cell already a string or an int."""

    header: tuple[str, ...]
    rows: list[tuple[str | int, ...]]


@dataclass(frozen=True, slots=True)
class Format:
    """One format, as plain functions: no subclassing, every part named and typed here."""

    name: str  # the config's tag and every journal envelope's ``format``
    config_type: type  # the msgspec Struct of its configuration (tagged with ``name``)
    command_type: Any  # the (union) type its commands decode as (commands between processes)
    new_state: Callable[[str], State]  # the empty state of a new event id
    create: Callable[[Actor, str, Any], Any]  # (actor, event id, config) -> the creating command
    tick: Callable[[], Any]  # the command the runtime's timer feeds back (``at`` stamped later)
    decide: Callable[[Any, Any], Sequence[Any] | Rejection]  # never mutates the state
    evolve: Callable[[Any, Any], None]  # applies one event in place, counting it in ``seq``
    next_deadline: Callable[[Any], int | None]  # when the runtime must send a tick
    finished: Callable[[Any], bool]  # nothing more will happen: no timer, no replay at start
    encode_event: Callable[[Any], bytes]
    decode_event: Callable[[bytes], Any]
    # who sees what
    may_see: Callable[[Any, Actor], bool]  # whether the actor may see the event at all
    view: Callable[[Any, Actor], Any]  # everything the actor may see, personal figures included
    audience_view: Callable[[Any, Role], Any]  # what every participant of a role shares
    you_view: Callable[[Any, Actor], Any | None]  # the personal rest (None: nothing personal)
    redact: Callable[[Any, Any, Actor], Any | None]  # an event as the actor sees it, or None
    delivery: Callable[[Any], Delivery]
    personal_to: Callable[[Any, Any], str | None]  # the party who sees this event differently
    # answers, records and exports
    receipt: Callable[[Any, Any], Any | None]  # what the sender of a decided command is told
    # The event recording a refused command, journalled before the refusal is answered (None:
    # nothing to record); the format's ``decide`` answers a resend of it from the state.
    refusal_record: Callable[[Any, Any, Rejection], Any | None]
    history: Callable[[Any, Actor], list[dict[str, Any]]]
    results: Callable[[Any, Actor], Table | None]  # None: not this actor's to read
    awards: Callable[[Any, Sequence[Any]], list[AwardRelease]]  # for events just decided
    # every OCDS release the awards stream has carried for the event, as they were published;
    # None: not this actor's to read (``release_package``)
    releases: Callable[[Any, Actor], list[dict[str, Any]] | None]
    summary: Callable[[Any], Summary | None]  # None before the event exists
    state_bytes: Callable[[Any], bytes]  # canonical: equal states give equal bytes
    restore: Callable[[bytes], State]  # the state ``state_bytes`` encoded (snapshots, copies)
    # whether a participant of a role may know how many events happened, so that its live-room
    # cursor can be the journal's seq (``runtime.cursors``); by default only the organiser
    sees_seq: Callable[[Role], bool] = lambda role: role is Role.BUYER
    # whether a participant of a role is listed every event, whatever its delivery: by default the
    # organiser; a sealed tender's buyer must not be (no submission may reach it before the
    # opening), and is listed by the events' delivery like everyone else. Such a role must see
    # the seq too (``runtime.cursors`` counts the others' cursors without the folded events).
    sees_every_event: Callable[[Role], bool] = lambda role: role is Role.BUYER
    # whether the live room may hold non-urgent updates back while the event's room decides a
    # burst of commands (``ws.pacing``): everyone's commands make the burst, so an update held
    # back tells its receiver that others are busy. A sealed tender's must never be (another
    # supplier's submissions are nobody else's business), and its room is never hot.
    paced: bool = True
    # whether the event changes the event's phase (opens, pauses, closes, awards...): the
    # server then signs a tree head of its audit log at once (``runtime.heads``), not only at
    # its interval; by default no event does
    seals_head: Callable[[Any], bool] = lambda event: False
    # What the one writer holds in memory only, never journaled, snapshotted, logged or served
    # (a sealed tender's presented key shares: ``tender.shares``): ``memory`` is a dict the room
    # owns, empty when it starts (after a restart, a takeover). ``with_memory(command, memory)``
    # gives the command as decided, with what it needs of the memory, inside the writer just
    # before ``decide`` (so two commands never race for it); ``remember(memory, command,
    # events)`` updates it once ``decide`` accepted the command (``events`` may be empty). Both
    # pure but for ``remember``'s change to ``memory``; by default a format holds nothing.
    with_memory: Callable[[Any, dict[str, Any]], Any] = lambda command, memory: command
    remember: Callable[[dict[str, Any], Any, Sequence[Any]], None] = \
        lambda memory, command, events: None
    # The command that pushes a supplier's standing into the event, from the server
    # (``runtime.standing``): ``(supplier, restricted, reason, detail)``; None: the format has no
    # suppliers whose standing matters (``engine.standing``).
    standing: Callable[[str, bool, str, str], Any] | None = None
    # Why ``actor`` may not be in its role's shared audience of the live room now, or None. The
    # live room builds one view per role (``audience_view``), so a participant whose view must
    # differ from its role's (a sealed tender's officer who has not declared "no conflict" sees
    # no opened bid: ``tender.conflicts``) is refused the handshake, and a socket whose actor
    # starts being refused is closed before its next update. None: nobody is ever refused.
    live_refusal: Callable[[Any, Actor], Rejection | None] | None = None

    def replay(self, auction_id: str, events: Iterable[Any]) -> Any:
        """The state after ``events``: a fold of ``evolve`` from the empty state."""
        state = self.new_state(auction_id)
        for event in events:
            self.evolve(state, event)
        return state

    def release_package(
        self, state: Any, actor: Actor, *, uri: str, published_at_ms: int, publisher_name: str,
    ) -> dict[str, Any] | None:
        """The event as an OCDS 1.1 release package (``ocds_common.release_package``) of the
        releases ``actor`` may read, or None when it may read none; the edge that serves it gives
        its address, the time and the publisher (the engine has no clock)."""
        releases = self.releases(state, actor)
        if releases is None:
            return None
        return ocds_common.release_package(releases, uri=uri, published_at_ms=published_at_ms,
                                           publisher_name=publisher_name)

    def copy(self, state: Any) -> Any:
        """An independent copy of ``state``, through its snapshot encoding."""
        return self.restore(self.state_bytes(state))

    def shown_to(self, state: Any, event: Any, actor: Actor) -> Any | None:
        """The event as ``actor``'s live room lists it, or None when it is not listed to it: the
        one rule behind updates, resumes and cursors."""
        return self.redact(state, event, actor) if self.listed_to(state, event, actor) else None

    def listed_to(self, state: Any, event: Any, actor: Actor) -> bool:
        """Whether ``actor``'s live room lists this event (else its effect shows in the view)."""
        if self.sees_every_event(actor.role):
            return True
        delivery = self.delivery(event)
        if delivery is Delivery.FOLDED:
            return False
        if delivery is Delivery.TO_AUTHOR:
            return self.personal_to(state, event) == actor.party
        return True
