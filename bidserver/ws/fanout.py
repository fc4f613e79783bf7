"""Fan-out: each audience's update is encoded once and queued on every socket of that audience.

Audiences are the buyer (all of the buyer organisation's sockets), the observers, and each
supplier (one per supplier, because ranks are personal). A socket never slows the room down: the
room only appends an already encoded frame to the socket's bounded outbox; the socket's writer task
drains it. A socket whose outbox is full is *lagging*: it is closed with close code 4408 and the
client reconnects with ``?since=<last seq>``, which replays every event it missed (nothing is lost,
the room is never stalled, and memory per socket stays bounded).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Iterable

from .. import wire
from ..engine import AuctionState, redact, view_for
from ..engine import events as ev
from ..engine.events import Event
from ..engine.values import Actor, Role

log = logging.getLogger(__name__)

AudienceKey = tuple[str, str]  # (role, party) — party is "" for the shared observer audience


def audience_key(actor: Actor) -> AudienceKey:
    if actor.role is Role.OBSERVER:
        return (Role.OBSERVER.value, "")
    return (actor.role.value, actor.party)


def audience_actor(key: AudienceKey) -> Actor:
    role, party = key
    return Actor(Role(role), party or "observers")


class Connection:
    """One socket's outbox. ``send`` is the transport's coroutine (text frames)."""

    def __init__(
        self,
        actor: Actor,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        *,
        limit: int,
    ) -> None:
        self.actor = actor
        self.key = audience_key(actor)
        self._send = send
        self._close = close
        self._limit = limit
        self._outbox: collections.deque[str] = collections.deque()
        self._wakeup = asyncio.Event()
        self._closing: tuple[int, str] | None = None
        self.closed = False
        self.seq = 0  # the last sequence number this socket has been sent

    def push(self, frame: str) -> None:
        """Queue a frame; never blocks. A full outbox marks the connection as lagging."""
        if self.closed or self._closing:
            return
        if len(self._outbox) >= self._limit:
            self._outbox.clear()
            self._closing = (wire.failure_close_code(wire.Failure.LAGGING), wire.Failure.LAGGING)
        else:
            self._outbox.append(frame)
        self._wakeup.set()

    def push_message(self, message: object) -> None:
        self.push(wire.encode(message).decode())

    def close_soon(self, code: int, reason: str) -> None:
        """Flush what is queued, then close: used for shutdown and policy violations."""
        if not self._closing:
            self._closing = (code, reason)
        self._wakeup.set()

    async def run_writer(self) -> None:
        """Drains the outbox until closed. Returns when the socket is gone or closed by policy."""
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._outbox:
                    await self._send(self._outbox.popleft())
                if self._closing:
                    code, reason = self._closing
                    await self._close(code, reason)
                    return
        except Exception:  # the peer went away mid-send: the reader sees it too
            return
        finally:
            self.closed = True
            self._outbox.clear()


def _redacted(state: AuctionState, events: list[Event], first_seq: int, actor: Actor) -> list:
    """The events this actor may see, each stamped with its sequence number."""
    out = []
    for seq, event in enumerate(events, first_seq):
        shown = redact(state, event, actor)
        if shown is not None:
            shown["seq"] = seq
            out.append(shown)
    return out


# Events that must reach everyone at once: never held back by conflation.
URGENT = (
    ev.AuctionOpened, ev.LotExtended, ev.LotClosed, ev.LotAwarded, ev.AuctionClosed,
    ev.AuctionPaused, ev.AuctionResumed, ev.AuctionCancelled, ev.BidVoided,
)


class _Audience:
    __slots__ = ("conns", "flushed_seq")

    def __init__(self, flushed_seq: int) -> None:
        self.conns: set[Connection] = set()
        self.flushed_seq = flushed_seq  # every socket of the audience has all events up to here


class Broadcaster:
    """The audiences of one room, and conflated, encode-once publication of updates.

    Conflation: after a batch the room calls ``publish``; audiences are flushed at once when the
    last flush is at least ``interval_s`` old or the batch holds an urgent event (a close, an
    extension, an award...), otherwise at the end of the interval. A flush sends each audience one
    ``update`` with every event since its last flush and the newest view, so a watcher gets at
    most one update per interval, always the newest board, and never misses an event.
    """

    def __init__(
        self,
        now_ms: Callable[[], int],
        source: Callable[[], tuple[AuctionState, list[Event]]],
        *,
        interval_s: float = 0.05,
    ) -> None:
        self._now_ms = now_ms
        self._source = source
        self._interval = interval_s
        self._audiences: dict[AudienceKey, _Audience] = {}
        self._last_flush = float("-inf")
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return sum(len(a.conns) for a in self._audiences.values())

    def connections(self) -> Iterable[Connection]:
        for audience in self._audiences.values():
            yield from audience.conns

    def join(self, conn: Connection, since: int | None) -> None:
        """Welcome, then (when resuming) every event after ``since``; synchronous, so no update
        published by the room can slip between the snapshot and the subscription."""
        state, log_events = self._source()
        now = self._now_ms()
        view = view_for(state, conn.actor)
        conn.push_message(
            wire.Welcome(
                auction_id=state.auction_id,
                role=conn.actor.role.value,
                party=conn.actor.party,
                server_time=now,
                seq=state.seq,
                view=view,
            )
        )
        if since is not None and 0 <= since < state.seq:
            events = _redacted(state, log_events[since:], since + 1, conn.actor)
            conn.push_message(
                wire.Update(
                    first_seq=since + 1, seq=state.seq, server_time=now, events=events, view=view
                )
            )
        conn.seq = state.seq
        audience = self._audiences.get(conn.key)
        if audience is None:
            audience = self._audiences[conn.key] = _Audience(state.seq)
        audience.conns.add(conn)

    def leave(self, conn: Connection) -> None:
        audience = self._audiences.get(conn.key)
        if audience is not None:
            audience.conns.discard(conn)
            if not audience.conns:
                del self._audiences[conn.key]

    def publish(self, events: list[Event]) -> None:
        """New durable events exist: flush now or at the end of the conflation interval."""
        if not self._audiences:
            return
        loop = asyncio.get_running_loop()
        due = self._last_flush + self._interval
        if any(isinstance(e, URGENT) for e in events) or loop.time() >= due:
            self.flush()
        elif self._timer is None:
            self._timer = loop.call_at(due, self.flush)

    def flush(self) -> None:
        """One encoding per audience (shared by its sockets) with everything since its last flush."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last_flush = asyncio.get_running_loop().time()
        state, log_events = self._source()
        now = self._now_ms()
        for audience in self._audiences.values():
            since = audience.flushed_seq
            if since >= state.seq or not audience.conns:
                continue
            actor = next(iter(audience.conns)).actor
            view = view_for(state, actor)
            frame = wire.encode(
                wire.Update(
                    first_seq=since + 1,
                    seq=state.seq,
                    server_time=now,
                    events=_redacted(state, log_events[since:], since + 1, actor),
                    view=view,
                )
            ).decode()
            for conn in audience.conns:
                if conn.seq == since:
                    conn.push(frame)
                elif conn.seq < state.seq:  # joined between two flushes: its own catch-up
                    conn.push_message(
                        wire.Update(
                            first_seq=conn.seq + 1,
                            seq=state.seq,
                            server_time=now,
                            events=_redacted(state, log_events[conn.seq:], conn.seq + 1, actor),
                            view=view,
                        )
                    )
                conn.seq = state.seq
            audience.flushed_seq = state.seq

    def close_all(self, code: int, reason: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for conn in list(self.connections()):
            conn.close_soon(code, reason)
