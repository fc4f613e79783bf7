"""Fan-out: encode once per audience, frame once, write the same bytes to every socket.

Audiences are the buyer (all of the buyer organisation's sockets), the observers, and each
supplier (one per supplier, because ranks are personal). What every participant of a role sees
(the view, the listed events) is encoded once per flush and shared by all audiences of that role;
a supplier's own part (``you``: its best bid and exact rank, and its own events) is small.

A socket never slows the room down. With a direct sink (our uvicorn protocol) a frame is written
straight to the socket's transport, no task per socket and no await; the transport's buffer is the
socket's queue, bounded by ``limit_bytes``. With the queued sink (any other ASGI server) frames go
to a bounded outbox drained by a writer task. Either way a socket past its bound is *lagging*: it
is closed with close code 4408 and the client reconnects with ``?since=<last seq>``, which sends
everything it missed (nothing is lost, the room is never stalled, memory per socket stays bounded).
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import msgspec

from .. import metrics, wire
from ..engine.format import Delivery, Format
from ..engine.rejections import Rejection
from ..engine.values import Actor, Role
from ..runtime.auction import Auction
from ..runtime.cursors import Cursors
from .frames import Outgoing
from .pacing import Pacing

log = logging.getLogger(__name__)

AudienceKey = tuple[str, str]  # (role, party) — party is "" for the shared observer audience

_encoder = msgspec.json.Encoder()


def live_refusal(auction: Auction, actor: Actor) -> Rejection | None:
    """Why ``actor`` may not be in its role's shared audience now (``Format.live_refusal``)."""
    refusal = auction.format.live_refusal
    return None if refusal is None else refusal(auction.state, actor)


def audience_key(actor: Actor) -> AudienceKey:
    if actor.role is Role.OBSERVER:
        return (Role.OBSERVER.value, "")
    return (actor.role.value, actor.party)


class Sink(Protocol):
    """Where a connection's frames go."""

    def write(self, out: Outgoing) -> bool:
        """Queue or write; False when the socket is past its bound (lagging)."""

    def close_soon(self, code: int, reason: str) -> None: ...


class QueuedSink:
    """Any ASGI server: a bounded outbox of text frames drained by one writer task."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        *,
        limit: int,
    ) -> None:
        self._send = send
        self._close = close
        self._limit = limit
        self._outbox: collections.deque[str] = collections.deque()
        self._wakeup = asyncio.Event()
        self._closing: tuple[int, str] | None = None
        self._task = asyncio.get_running_loop().create_task(self._run_writer())

    def write(self, out: Outgoing) -> bool:
        if len(self._outbox) >= self._limit:
            return False
        self._outbox.append(out.text)
        self._wakeup.set()
        return True

    def close_soon(self, code: int, reason: str) -> None:
        if not self._closing:
            self._closing = (code, reason)
        self._wakeup.set()

    def cancel(self) -> None:
        self._task.cancel()

    async def _run_writer(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._outbox:
                    await self._send(self._outbox.popleft())
                if self._closing:
                    await self._close(*self._closing)
                    return
        except Exception:  # the peer went away mid-send: the reader sees it too
            return
        finally:
            self._outbox.clear()


class Connection:
    """One participant's socket as the room sees it: who, where frames go, how far it has got."""

    __slots__ = ("actor", "key", "sink", "closed", "seq", "shown")

    def __init__(self, actor: Actor, sink: Sink) -> None:
        self.actor = actor
        self.key = audience_key(actor)
        self.sink = sink
        self.closed = False
        self.seq = 0  # the last (journal) sequence number this socket has been sent
        self.shown: tuple[msgspec.Raw, msgspec.Raw | None] = (msgspec.Raw(b""), None)  # its
        # welcome's view and ``you``, until it is in step with its audience (see ``flush``)

    def push(self, out: Outgoing) -> None:
        """Never blocks. A socket past its bound is cut off as lagging (it resumes by seq)."""
        if self.closed:
            return
        if not self.sink.write(out):
            metrics.LAGGARD_CLOSES.inc()
            self.close_soon(wire.failure_close_code(wire.Failure.LAGGING), wire.Failure.LAGGING)

    def push_message(self, message: object) -> None:
        self.push(Outgoing(wire.encode(message)))

    def close_soon(self, code: int, reason: str) -> None:
        """Flush what is queued, then close: lagging, shutdown and policy violations."""
        if not self.closed:
            self.closed = True
            self.sink.close_soon(code, reason)


class Membership(Protocol):
    """Told when a socket joins or leaves an auction's room and when events are published there
    (``ws.presence.PresenceFeed``: the suppliers' presence, told to the buyer)."""

    def joined(self, conn: Connection) -> None: ...

    def left(self, conn: Connection) -> None: ...

    def published(self) -> None: ...

    def shut_down(self) -> None: ...


SLICE = 100  # sockets written per turn of the event loop (see Broadcaster.flush)

def _with_seq(encoded: bytes, number: int) -> msgspec.Raw:
    """An encoded event object with its number added (``{...}`` -> ``{...,"seq":n}``)."""
    return msgspec.Raw(b"%b,\"seq\":%d}" % (encoded[:-1], number))


def _numbered(
    pairs: Iterable[tuple[int, bytes]], actor: Actor, cursor: int, cursors: Cursors
) -> list[msgspec.Raw]:
    """Listed events (journal seq, encoding) numbered as ``actor`` counts them after ``cursor``:
    by the journal's seq, or one by one (``runtime.cursors``)."""
    if cursors.by_seq(actor):
        return [_with_seq(data, seq) for seq, data in pairs]
    return [_with_seq(data, number) for number, (_, data) in enumerate(pairs, cursor + 1)]


def listed_events(auction: Auction, actor: Actor, after: int, cursor: int) -> list[msgspec.Raw]:
    """The events after journal seq ``after`` (where ``actor``'s cursor is ``cursor``) as
    ``actor``'s live room lists them, each with its number."""
    fmt, state, held = auction.format, auction.state, auction.log
    pairs = []
    for seq, event in enumerate(held.after(after), held.first_after(after)):
        shown = fmt.shown_to(state, event, actor)
        if shown is not None:
            pairs.append((seq, _encoder.encode(shown)))
    return _numbered(pairs, actor, cursor, auction.cursors)


class _Window:
    """One flush's events after ``since``: encoded once per role, and once for their author.

    At a hot close nearly all events are accepted bids, which suppliers and observers do not get
    listed (``Delivery.FOLDED``): one pass picks out the few others, so the cost for them does not
    grow with the bid rate. Only the buyer's audience encodes every event. Each audience numbers
    the events it is listed by its own cursor (a cheap splice of the shared encoding).
    """

    def __init__(self, auction: Auction, events: list[Any], since: int) -> None:
        self.auction = auction
        self.fmt = auction.format
        self.state = auction.state
        self.since = since
        self.events = events  # seq = since + 1 + index
        self._shared: dict[Role, tuple[list[int], list[bytes]]] = {}
        self._rare: list[tuple[int, Any]] | None = None
        self._personal: dict[str, list[tuple[int, Any]]] | None = None

    def _rare_events(self) -> list[tuple[int, Any]]:
        """(seq, event) of everything listed to someone besides the buyer."""
        if self._rare is None:
            delivery, folded = self.fmt.delivery, Delivery.FOLDED
            self._rare = [
                (seq, e) for seq, e in enumerate(self.events, self.since + 1)
                if delivery(e) is not folded
            ]
        return self._rare

    def shared(self, role: Role) -> tuple[list[int], list[bytes]]:
        """(seqs, encoded events) listed to a participant of ``role`` who authored none of them."""
        found = self._shared.get(role)
        if found is None:
            fmt, state = self.fmt, self.state
            actor = Actor(role, "")
            pairs = enumerate(self.events, self.since + 1) if role is Role.BUYER else self._rare_events()
            seqs, encoded = [], []
            for seq, event in pairs:
                shown = fmt.shown_to(state, event, actor)
                if shown is not None:
                    seqs.append(seq)
                    encoded.append(_encoder.encode(shown))
            found = self._shared[role] = (seqs, encoded)
        return found

    def personal(self, supplier: str) -> list[tuple[int, Any]]:
        """The (seq, event)s this supplier sees differently: bids entered for it, voids, awards."""
        if self._personal is None:
            self._personal = {}
            for seq, event in self._rare_events():
                author = self.fmt.personal_to(self.state, event)
                if author is not None:
                    self._personal.setdefault(author, []).append((seq, event))
        return self._personal.get(supplier, ())

    def for_actor(self, actor: Actor, since: int, cursor: int) -> list[msgspec.Raw]:
        """The listed events after journal seq ``since`` (>= the window's start) for one
        audience, whose cursor there is ``cursor``."""
        seqs, encoded = self.shared(actor.role)
        start = bisect.bisect_right(seqs, since)
        own = self.personal(actor.party) if actor.role is Role.SUPPLIER else ()
        pairs: Iterable[tuple[int, bytes]] = zip(seqs[start:], encoded[start:])
        if own:
            fmt, state = self.fmt, self.state
            merged = dict(pairs)
            for seq, event in own:
                if seq <= since:
                    continue
                shown = fmt.shown_to(state, event, actor)
                if shown is None:
                    merged.pop(seq, None)
                else:
                    merged[seq] = _encoder.encode(shown)
            pairs = sorted(merged.items())
        return _numbered(pairs, actor, cursor, self.auction.cursors)


class _Audience:
    __slots__ = ("actor", "conns", "flushed_seq", "cursor", "view", "you")

    def __init__(
        self, actor: Actor, flushed_seq: int, cursor: int, view: msgspec.Raw, you: msgspec.Raw | None
    ) -> None:
        self.actor = actor
        self.conns: set[Connection] = set()
        self.flushed_seq = flushed_seq  # every socket of the audience has all events up to here
        # what those sockets were last shown: their cursor, the view and ``you``
        self.cursor = cursor
        self.view = view
        self.you = you


def _same(a: msgspec.Raw | None, b: msgspec.Raw | None) -> bool:
    return a is b or (a is not None and b is not None and a == b)


class Broadcaster:
    """The participants of one auction connected to this process (``runtime.audience.Audience``),
    and conflated, encode-once publication of updates.

    Conflation: after a batch the room calls ``publish``. While the room is quiet, audiences are
    flushed at once; while the previous update is still being written, the next one follows when
    it is done; during a burst of bids, at most once per ``interval_s`` (``pacing.Pacing``).
    Urgent events (a close, an extension, an award...) go out at once, and so does every update
    of a format that is not ``paced`` (a sealed tender: a held update would tell of others' bids).
    A flush sends each audience one ``update`` with what changed since its last flush and the
    newest view, so a watcher always gets the newest board and never misses a close, an extension
    or an award; a supplier's ``you`` carries its exact rank.
    """

    def __init__(
        self, auction: Auction, now_ms: Callable[[], int], *, interval_s: float = 0.05,
        membership: Membership | None = None,
    ) -> None:
        self._auction = auction  # its state, log and ``decided`` count (the room's pace)
        self._membership = membership
        self._format = auction.format
        self._now_ms = now_ms
        self._activity_at_start = 0
        self._pacing = Pacing(interval_s)
        self._audiences: dict[AudienceKey, _Audience] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._views: dict[Role, tuple[int, msgspec.Raw]] = {}
        self._jobs: collections.deque[tuple[Outgoing, list[Connection], int]] = collections.deque()
        self._again = False  # published while a flush was still being written
        self._job_started = 0.0
        self._again_urgent = False

    def __len__(self) -> int:
        return sum(len(a.conns) for a in self._audiences.values())

    def connections(self) -> Iterable[Connection]:
        for audience in self._audiences.values():
            yield from audience.conns

    def _view(self, state: Any, role: Role) -> msgspec.Raw:
        """The role's shared view at the current seq, encoded once (the same object as before
        while its bytes do not change, so that audiences compare views by identity)."""
        cached = self._views.get(role)
        if cached is None or cached[0] != state.seq:
            view = msgspec.Raw(_encoder.encode(self._format.audience_view(state, role)))
            if cached is not None and cached[1] == view:
                view = cached[1]
            cached = self._views[role] = (state.seq, view)
        return cached[1]

    def _you(self, state: Any, actor: Actor) -> msgspec.Raw | None:
        you = self._format.you_view(state, actor)
        return None if you is None else msgspec.Raw(_encoder.encode(you))

    def _refused(self, conn: Connection) -> bool:
        """Close ``conn`` if the format refuses its actor the role's shared audience now (the
        handshake checked it; the state may have changed since): before it is sent anything
        more. Nothing to check for a format that refuses nobody."""
        if self._format.live_refusal is None:
            return False
        refusal = live_refusal(self._auction, conn.actor)
        if refusal is None:
            return False
        conn.close_soon(wire.rejection_close_code(refusal), refusal.reason.value)
        return True

    def join(self, conn: Connection, since: int | None) -> None:
        """Welcome, then (when resuming) everything listed after cursor ``since``; synchronous, so
        no update published by the room can slip between the snapshot and the subscription."""
        if self._refused(conn):
            return
        auction = self._auction
        state, cursors = auction.state, auction.cursors
        now = self._now_ms()
        actor = conn.actor
        cursor = cursors.at(actor, state.seq)
        view = self._view(state, actor.role)
        you = self._you(state, actor)
        conn.push_message(
            wire.Welcome(
                auction_id=state.auction_id,
                role=actor.role.value,
                party=actor.party,
                server_time=now,
                seq=cursor,
                view=view,
                you=you,
            )
        )
        if since is not None and 0 <= since < cursor:
            events = listed_events(auction, actor, cursors.seq_of(actor, since), since)
            first = max(since, cursors.at(actor, auction.log.base)) + 1  # held from there on
            conn.push_message(
                wire.Update(
                    first_seq=first, seq=cursor, server_time=now, events=events,
                    view=view, you=you,
                )
            )
        conn.seq = state.seq
        conn.shown = (view, you)
        audience = self._audiences.get(conn.key)
        if audience is None:
            audience = self._audiences[conn.key] = _Audience(actor, state.seq, cursor, view, you)
        audience.conns.add(conn)
        metrics.OPEN_SOCKETS.inc()
        if self._membership is not None:
            self._membership.joined(conn)

    def leave(self, conn: Connection) -> None:
        audience = self._audiences.get(conn.key)
        if audience is not None and conn in audience.conns:
            audience.conns.discard(conn)
            metrics.OPEN_SOCKETS.dec()
            if not audience.conns:
                del self._audiences[conn.key]
            if self._membership is not None:
                self._membership.left(conn)

    def publish(self, events: Sequence[Any]) -> None:
        """New durable events exist: flush now or at the end of the conflation interval."""
        if not self._audiences:
            return
        if self._membership is not None:
            self._membership.published()
        delivery, urgent_kind = self._format.delivery, Delivery.URGENT
        urgent = not self._format.paced or any(delivery(e) is urgent_kind for e in events)
        if self._jobs:  # still writing the previous update: the next one follows it
            self._again = True
            self._again_urgent = self._again_urgent or urgent
            return
        self._schedule(urgent)

    def _schedule(self, urgent: bool) -> None:
        loop = asyncio.get_running_loop()
        due = self._pacing.due(loop.time(), self._auction.decided, urgent)
        if due <= loop.time():
            self.flush()
        elif self._timer is None:
            self._timer = loop.call_at(due, self.flush)

    def flush(self) -> None:
        """One encoding per audience (shared by its sockets) with everything since its last flush.

        The shared frame is written to at most ``SLICE`` sockets per turn of the event loop: bids
        keep being read, decided and answered while an update reaches thousands of watchers, and
        updates published meanwhile are conflated into the next flush, which starts when this one
        is done, so a big room's update rate adapts to what the process can deliver.
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._jobs:
            self._again = True
            return
        started = asyncio.get_running_loop().time()
        self._pacing.flushed(started)
        auction = self._auction
        state, log_events, cursors = auction.state, auction.log, auction.cursors
        seq = state.seq
        pending = [a for a in self._audiences.values() if a.flushed_seq < seq and a.conns]
        if not pending:
            return
        now = self._now_ms()
        since = min(a.flushed_seq for a in pending)
        since = max(since, log_events.base)  # nobody flushed is behind what is held
        window = _Window(auction, log_events.after(since), since)
        for audience in pending:
            actor = audience.actor
            flushed = audience.flushed_seq
            view = self._view(state, actor.role)
            you = self._you(state, actor)
            cursor = cursors.at(actor, seq)
            targets = []
            for conn in audience.conns:
                if self._refused(conn):
                    continue
                if conn.seq == flushed:
                    targets.append(conn)
                elif conn.seq < seq:  # joined between two flushes: its own catch-up
                    self._catch_up(conn, window, view, you, now)
                conn.seq = seq
            audience.flushed_seq = seq
            if cursor == audience.cursor and _same(view, audience.view) and _same(you, audience.you):
                continue  # nothing this audience may see has changed: nothing to tell it
            out = Outgoing(
                wire.encode(
                    wire.Update(
                        first_seq=audience.cursor + 1,
                        seq=cursor,
                        server_time=now,
                        events=window.for_actor(actor, flushed, audience.cursor),
                        view=view,
                        you=you,
                    )
                )
            )
            audience.cursor, audience.view, audience.you = cursor, view, you
            if len(targets) <= SLICE and not self._jobs:
                for conn in targets:
                    conn.push(out)
            else:
                self._jobs.append((out, targets, 0))
        if self._jobs:
            self._job_started = started
            self._activity_at_start = self._auction.decided
            asyncio.get_running_loop().call_soon(self._deliver)
        else:
            metrics.FANOUT_SWEEP_SECONDS.observe(asyncio.get_running_loop().time() - started)

    def _catch_up(
        self, conn: Connection, window: _Window, view: msgspec.Raw, you: msgspec.Raw | None, now: int
    ) -> None:
        """An update for a socket that joined between two flushes, from what its welcome showed."""
        auction, actor = self._auction, conn.actor
        cursors, seq = auction.cursors, auction.state.seq
        shown_at, cursor = cursors.at(actor, conn.seq), cursors.at(actor, seq)
        if cursor == shown_at and _same(view, conn.shown[0]) and _same(you, conn.shown[1]):
            return
        events = (
            window.for_actor(actor, conn.seq, shown_at) if conn.seq >= window.since
            else listed_events(auction, actor, conn.seq, shown_at)
        )
        conn.push_message(
            wire.Update(
                first_seq=shown_at + 1, seq=cursor, server_time=now, events=events, view=view, you=you,
            )
        )

    def _deliver(self) -> None:
        budget = SLICE
        jobs = self._jobs
        while jobs and budget > 0:
            out, targets, start = jobs[0]
            stop = min(len(targets), start + budget)
            for conn in targets[start:stop]:
                conn.push(out)
            budget -= stop - start
            if stop == len(targets):
                jobs.popleft()
            else:
                jobs[0] = (out, targets, stop)
        loop = asyncio.get_running_loop()
        if jobs:
            loop.call_soon(self._deliver)
            return
        took = loop.time() - self._job_started
        metrics.FANOUT_SWEEP_SECONDS.observe(took)
        # During a burst, a long delivery is followed by a rest: bidding keeps its share.
        self._pacing.delivered(
            self._job_started, self._job_started + took, self._auction.decided - self._activity_at_start
        )
        if self._again:
            self._again = False
            urgent, self._again_urgent = self._again_urgent, False
            self._schedule(urgent)

    def shut_down(self) -> None:
        failure = wire.Failure.SHUTTING_DOWN
        self.close_all(wire.failure_close_code(failure), failure.value)

    def close_all(self, code: int, reason: str) -> None:
        if self._membership is not None:
            self._membership.shut_down()
        self._jobs.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for conn in list(self.connections()):
            conn.close_soon(code, reason)
