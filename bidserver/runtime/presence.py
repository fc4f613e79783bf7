"""Suppliers' presence in the live rooms: who has a socket open now, and when each was last seen.

The live room tells this tracker when a supplier's socket opens and closes (``opened``,
``closed``); whoever shows presence (the buyers' sockets, ``ws.presence``) ``watch``es an
auction and is called back when what is known of it changes, and reads it with ``seen``. The
HTTP read asks ``read``.

Alone (a journal in memory: tests, tools) the process's own sockets are the whole truth. With
Redis (``store.presence``), every process shares it, whichever process a supplier's socket and a
buyer's socket are on: a process writes its own suppliers' changes (batched: what changed while
the previous write was in flight goes in the next one), says every ``heartbeat_ms`` which are
still there, and re-reads the auctions it watches when another process announces a change, and
every heartbeat (a killed process's suppliers go offline once its heartbeats are stale).

Presence is not an auction event: it is never journalled, and it must never break bidding. A
Redis error is logged once (and its end once), and tolerated: the sockets are counted here all
the same, and what could not be written is written with the next heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import NamedTuple

from redis.asyncio.client import PubSub

from ..engine.values import Actor, Role
from ..store.presence import Change, RedisPresence

log = logging.getLogger(__name__)


class Seen(NamedTuple):
    online: bool
    left_at: int | None  # offline: when its last socket closed (None: never seen); online: None


NEVER_SEEN = Seen(False, None)
Watcher = Callable[[], None]


class Presence:
    def __init__(self, now_ms: Callable[[], int], shared: RedisPresence | None = None) -> None:
        self._now_ms = now_ms
        self._shared = shared
        self._sockets: dict[tuple[str, str], int] = {}  # (auction, supplier) -> open here
        self._left: dict[tuple[str, str], int] = {}  # ... -> when its last one here closed
        self._known: dict[str, dict[str, Seen]] = {}  # alone: all; shared: watched, as read
        self._watchers: dict[str, list[Watcher]] = {}
        self._unwritten: set[tuple[str, str]] = set()
        self._unread: set[str] = set()
        self._writing: asyncio.Task[None] | None = None
        self._reading: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._failing: str | None = None  # what failed, while Redis errors go on
        self._closed = False

    # ------------------------------------------------------------------ the live room's sockets

    def opened(self, auction_id: str, supplier: str) -> None:
        key = (auction_id, supplier)
        count = self._sockets.get(key, 0) + 1
        self._sockets[key] = count
        if count == 1:
            self._changed_here(key, Seen(True, None))

    def closed(self, auction_id: str, supplier: str) -> None:
        key = (auction_id, supplier)
        count = self._sockets.get(key, 0) - 1
        if count > 0:
            self._sockets[key] = count
            return
        self._sockets.pop(key, None)
        self._changed_here(key, Seen(False, self._now_ms()))

    def _changed_here(self, key: tuple[str, str], seen: Seen) -> None:
        if self._closed:  # sockets closed while the process stops: ``close`` said they left
            return
        if self._shared is None:
            auction_id, supplier = key
            self._known.setdefault(auction_id, {})[supplier] = seen
            self._notify(auction_id)
            return
        if seen.online:
            self._left.pop(key, None)
        else:  # until written: Redis keeps it
            self._left[key] = seen.left_at
        self._unwritten.add(key)
        if self._writing is None:
            self._writing = self._spawn(self._write())

    # ------------------------------------------------------------------ who shows it

    def watch(self, auction_id: str, watcher: Watcher) -> None:
        self._watchers.setdefault(auction_id, []).append(watcher)
        if self._shared is not None and auction_id not in self._known:
            self._read_soon([auction_id])

    def unwatch(self, auction_id: str, watcher: Watcher) -> None:
        watchers = self._watchers.get(auction_id, [])
        if watcher in watchers:
            watchers.remove(watcher)
        if not watchers:
            self._watchers.pop(auction_id, None)
            if self._shared is not None:
                self._known.pop(auction_id, None)

    def seen(self, auction_id: str) -> Mapping[str, Seen] | None:
        """What is known of the auction's suppliers (absent: never seen); None while a shared
        presence has not been read yet (``watch`` first)."""
        if self._shared is None:
            return self._known.get(auction_id, {})
        return self._known.get(auction_id)

    async def read(self, auction_id: str) -> Mapping[str, Seen]:
        """The auction's presence now (from Redis when shared: its errors are raised)."""
        if self._shared is None:
            return self._known.get(auction_id, {})
        found = await self._shared.read([auction_id], self._now_ms())
        return {s: Seen(*seen) for s, seen in found[auction_id].items()}

    def _notify(self, auction_id: str) -> None:
        for watcher in list(self._watchers.get(auction_id, ())):
            try:
                watcher()
            except Exception:  # a bug in whoever shows presence must not fail a socket here
                log.exception("presence watcher of %s failed", auction_id)

    # ------------------------------------------------------------------ shared through Redis

    def start(self) -> None:
        if self._shared is not None:
            self._spawn(self._heartbeats())
            self._spawn(self._listen())

    async def close(self) -> None:
        """Stop; with Redis, tell the others that this process's suppliers are gone (a killed
        process cannot: its heartbeats go stale instead)."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._shared is None:
            return
        now = self._now_ms()
        changes = [(a, s, False, now) for a, s in self._sockets]
        changes += [self._change(key) for key in self._unwritten if key not in self._sockets]
        try:
            async with asyncio.timeout(1.0):
                await self._shared.write(changes, now, nudge=True)
        except Exception as exc:  # noqa: BLE001 -- they go stale instead
            log.warning("could not tell Redis that this process's suppliers left: %s", exc)
        await self._shared.close()

    def _spawn(self, work) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _failed(self, what: str, exc: Exception) -> None:
        if self._failing is None:
            log.warning("presence: could not %s (%s); bidding goes on, presence is retried", what,
                        exc)
        self._failing = what

    def _recovered(self) -> None:
        if self._failing is not None:
            log.info("presence: Redis answers again")
        self._failing = None

    async def _write(self) -> None:
        """This process's changes, until none are left (one script call per batch)."""
        shared = self._shared
        try:
            while self._unwritten:
                keys, self._unwritten = self._unwritten, set()
                changes = [self._change(key) for key in keys]
                try:
                    await shared.write(changes, self._now_ms(), nudge=True)
                except Exception as exc:  # noqa: BLE001 -- retried with the next heartbeat
                    self._unwritten |= keys
                    self._failed("record who is connected", exc)
                    return
                self._recovered()
                for key in keys:
                    if key not in self._sockets and key not in self._unwritten:
                        self._left.pop(key, None)  # written: Redis keeps when it left
        finally:
            self._writing = None

    def _change(self, key: tuple[str, str]) -> Change:
        here = key in self._sockets
        return (*key, here, 0 if here else self._left[key])

    async def _heartbeats(self) -> None:
        shared = self._shared
        while True:
            await asyncio.sleep(shared.heartbeat_ms / 1000)
            changes: list[Change] = [(a, s, True, 0) for a, s in self._sockets]
            if changes:
                try:
                    await shared.write(changes, self._now_ms(), nudge=False)
                except Exception as exc:  # noqa: BLE001
                    self._failed("renew who is connected", exc)
                else:
                    self._recovered()
            if self._unwritten and self._writing is None:
                self._writing = self._spawn(self._write())
            self._read_soon(list(self._watchers))  # a killed process's suppliers go stale

    async def _listen(self) -> None:
        """Read the nudges; after a failure subscribe anew (on a cluster the node listened to
        may be gone for good: a new subscriber goes where the slots are now)."""
        shared = self._shared
        pubsub: PubSub | None = None
        try:
            while True:
                try:
                    if pubsub is None:
                        pubsub = await shared.subscribe()
                        # Changes made while nobody here listened (before the first subscription,
                        # or between a failure and this one) were announced to nobody: read
                        # every watched auction once, not at the next heartbeat.
                        self._read_soon(list(self._watchers))
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 -- the heartbeats' reads cover meanwhile
                    self._failed("listen for presence changes", exc)
                    if pubsub is not None:
                        with contextlib.suppress(Exception):  # its connection is broken already
                            await pubsub.aclose()
                        pubsub = None
                    await asyncio.sleep(0.5)
                    continue
                if message is not None and message.get("type") == "message":
                    try:
                        nudged = shared.nudged(message["data"])
                    except Exception:  # a foreign message on our channel
                        log.warning("presence: ignored a message on %s", shared.channel)
                        continue
                    self._read_soon([a for a in nudged if a in self._watchers])
        finally:
            if pubsub is not None:
                await pubsub.aclose()

    def _read_soon(self, auction_ids: list[str]) -> None:
        self._unread.update(auction_ids)
        if self._unread and self._reading is None:
            self._reading = self._spawn(self._read())

    async def _read(self) -> None:
        """Re-read the watched auctions asked for, one pipeline at a time, and tell the watchers
        of those whose presence changed."""
        try:
            while self._unread:
                ids, self._unread = self._unread, set()
                ids = {a for a in ids if a in self._watchers}
                if not ids:
                    continue
                try:
                    found = await self._shared.read(ids, self._now_ms())
                except Exception as exc:  # noqa: BLE001 -- read again at the next heartbeat
                    self._failed("read who is connected", exc)
                    return
                self._recovered()
                for auction_id, seen in found.items():
                    fresh = {s: Seen(*x) for s, x in seen.items()}
                    if auction_id in self._watchers and fresh != self._known.get(auction_id):
                        self._known[auction_id] = fresh
                        self._notify(auction_id)
        finally:
            self._reading = None


def shown_to(actor: Actor) -> bool:
    """Who is told the suppliers' presence (of an auction it may see): its buyer only. Not a
    supplier, who must not learn who else takes part, nor an observer (a public viewing portal
    may be one)."""
    return actor.role is Role.BUYER


def invited(auction) -> tuple[str, ...]:
    """The auction's invited suppliers, in the order they were invited (the format's summary)."""
    summary = auction.format.summary(auction.state)
    return summary.suppliers if summary is not None else ()

