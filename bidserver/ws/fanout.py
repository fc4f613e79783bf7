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


class Broadcaster:
    """The audiences of one room and the encode-once publication of updates."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self._now_ms = now_ms
        self._audiences: dict[AudienceKey, set[Connection]] = {}

    def __len__(self) -> int:
        return sum(len(c) for c in self._audiences.values())

    def connections(self) -> Iterable[Connection]:
        for conns in self._audiences.values():
            yield from conns

    def join(
        self, conn: Connection, state: AuctionState, log_events: list[Event], since: int | None
    ) -> None:
        """Welcome, then (when resuming) every event after ``since``; synchronous, so no update
        published by the room can slip between the snapshot and the subscription."""
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
        self._audiences.setdefault(conn.key, set()).add(conn)

    def leave(self, conn: Connection) -> None:
        conns = self._audiences.get(conn.key)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._audiences[conn.key]

    def publish(self, state: AuctionState, first_seq: int, events: list[Event]) -> None:
        """One encoding per audience, shared by all of that audience's sockets."""
        now = self._now_ms()
        for key, conns in self._audiences.items():
            if not conns:
                continue
            actor = next(iter(conns)).actor
            redacted = _redacted(state, events, first_seq, actor)
            frame = wire.encode(
                wire.Update(
                    first_seq=first_seq,
                    seq=state.seq,
                    server_time=now,
                    events=redacted,
                    view=view_for(state, actor),
                )
            ).decode()
            for conn in conns:
                conn.push(frame)

    def close_all(self, code: int, reason: str) -> None:
        for conn in list(self.connections()):
            conn.close_soon(code, reason)
