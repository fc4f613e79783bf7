"""Several bidserver processes behind one address, coordinated through Redis only.

Run ``bidserver serve --workers N`` (N processes sharing one listening socket on this machine) or
start ``bidserver serve --cluster`` on several machines with the same ``--redis-url`` behind a
load balancer. Any process accepts any participant; Redis coordinates the rest, with three of its
own mechanisms and no protocol of ours between processes:

- **leases** (``store.leases``): one writer per auction, taken over when its writer dies;
- **the journal streams**: a process with participants of an auction it does not write follows
  that auction's stream (``XREAD BLOCK`` over every followed stream, one connection), so its
  replica holds exactly the durable events and its watchers are served from it;
- **pub/sub** (``CommandBus``): commands go to the writer's node channel ``<prefix>:cmd:<node>``
  (the node named by the auction's lease) and answers come back on ``<prefix>:reply:<node>``.
  Messages are batched per destination node once per turn of the event loop, so a thousand
  busy auctions cost a handful of publishes per turn, not a thousand. Pub/sub is at most once; that is enough
  because bids are idempotent by bid id and an unanswered command fails with
  ``writer_unavailable`` for the client to resend.

Auctions spread across the processes by where they are created (the creating process writes a new
auction) and, after a restart, by which process takes each lease first.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec
from redis.asyncio import Redis

from ..engine.commands import Command
from ..engine.rejections import Rejection
from ..wire import Failure
from ..store.journal import JournalUnavailable
from ..store.leases import Leases
from .follower import FollowerRoom, apply_batch
from .room import Result, Room

if TYPE_CHECKING:
    from .registry import Auction, Rooms

log = logging.getLogger(__name__)

FORWARD_TIMEOUT_S = 3.0


def new_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Forward(msgspec.Struct, frozen=True, gc=False):
    id: int
    node: str  # where the answer goes
    auction: str
    command: Command


class Reply(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    id: int
    seq: int  # the writer's durable sequence number when it answered: the replica waits for it
    first_seq: int | None = None
    count: int = 0  # events the command made
    rejection: Rejection | None = None
    failure: str | None = None


_forwards = msgspec.json.Decoder(list[Forward])
_replies = msgspec.json.Decoder(list[Reply])
_encoder = msgspec.json.Encoder()


class CommandBus:
    """Commands to the process that writes an auction and answers back, over Redis pub/sub."""

    def __init__(self, redis: Redis, node: str, prefix: str) -> None:
        self._redis = redis
        self.node = node
        self._prefix = prefix
        self._pubsub = redis.pubsub()
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[Callable[[Reply | None], None], asyncio.TimerHandle]] = {}
        self._out: dict[str, list[Forward]] = {}
        self._replies: dict[str, list[Reply]] = {}
        self._handlers: dict[str, Room] = {}
        self._flushing = False
        self._tasks: set[asyncio.Task] = set()
        self._reader: asyncio.Task | None = None
        self.on_no_writer: Callable[[str], None] = lambda auction_id: None

    def _cmd_channel(self, node: str) -> str:
        return f"{self._prefix}:cmd:{node}"

    def _reply_channel(self, node: str) -> str:
        return f"{self._prefix}:reply:{node}"

    async def start(self) -> None:
        await self._pubsub.subscribe(self._reply_channel(self.node), self._cmd_channel(self.node))
        self._reader = asyncio.get_running_loop().create_task(self._read_forever())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        for task in list(self._tasks):
            task.cancel()
        for callback, timer in self._pending.values():
            timer.cancel()
            callback(None)
        self._pending.clear()
        await self._pubsub.aclose()

    # ------------------------------------------------------------------ the follower's side

    def forward(
        self, auction_id: str, writer: str, command: Command,
        on_reply: Callable[[Reply | None], None],
    ) -> None:
        """Send ``command`` to the node ``writer`` (the lease holder); ``on_reply(None)`` if no
        answer comes in time."""
        request_id = next(self._ids)
        timer = asyncio.get_running_loop().call_later(FORWARD_TIMEOUT_S, self._expire, request_id)
        self._pending[request_id] = (on_reply, timer)
        self._out.setdefault(writer, []).append(Forward(request_id, self.node, auction_id, command))
        self._schedule_flush()

    def _expire(self, request_id: int) -> None:
        pending = self._pending.pop(request_id, None)
        if pending is not None:
            pending[0](None)

    def _answer(self, reply: Reply) -> None:
        pending = self._pending.pop(reply.id, None)
        if pending is not None:
            pending[1].cancel()
            pending[0](reply)

    # ------------------------------------------------------------------ the writer's side

    def serve(self, room: Room) -> None:
        self._handlers[room.auction_id] = room

    def unserve(self, auction_id: str) -> None:
        self._handlers.pop(auction_id, None)

    def _handle(self, forward: Forward) -> None:
        room = self._handlers.get(forward.auction)
        if room is None:  # the lease moved on: the follower looks for the writer again
            self._answer_to(forward.node, Reply(id=forward.id, seq=0,
                                                failure=Failure.WRITER_UNAVAILABLE.value))
            return

        def done(_: Command, result: Result) -> None:
            reply = Reply(
                id=forward.id,
                seq=room.state.seq,
                first_seq=result.first_seq,
                count=len(result.events),
                rejection=result.rejection,
                failure=result.failure.value if result.failure is not None else None,
            )
            self._answer_to(forward.node, reply)

        room.submit_nowait(forward.command, done)

    def _answer_to(self, node: str, reply: Reply) -> None:
        self._replies.setdefault(node, []).append(reply)
        self._schedule_flush()

    # ------------------------------------------------------------------ both

    def _schedule_flush(self) -> None:
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(self._start_flush)

    def _start_flush(self) -> None:
        self._flushing = False
        out, self._out = self._out, {}
        replies, self._replies = self._replies, {}
        task = asyncio.get_running_loop().create_task(self._flush(out, replies))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self, out: dict[str, list[Forward]], replies: dict[str, list[Reply]]) -> None:
        for node, batch in replies.items():
            try:
                await self._redis.publish(self._reply_channel(node), _encoder.encode(batch))
            except Exception as exc:  # the follower times out and the client resends
                log.warning("could not answer %d commands of %s: %s", len(batch), node, exc)
        for node, batch in out.items():
            try:
                listeners = await self._redis.publish(self._cmd_channel(node), _encoder.encode(batch))
            except Exception as exc:
                log.warning("could not forward %d commands to %s: %s", len(batch), node, exc)
                listeners = 0
            if not listeners:  # that node is gone: fail fast, look for the writers again
                for forward in batch:
                    self._expire(forward.id)
                for auction_id in {forward.auction for forward in batch}:
                    self.on_no_writer(auction_id)

    async def _read_forever(self) -> None:
        reply_channel = self._reply_channel(self.node).encode()
        cmd_channel = self._cmd_channel(self.node).encode()
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: forwarded commands time out meanwhile
                log.warning("command bus: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel, data = message["channel"], message["data"]
            try:
                if channel == reply_channel:
                    for reply in _replies.decode(data):
                        self._answer(reply)
                elif channel == cmd_channel:
                    for forward in _forwards.decode(data):
                        self._handle(forward)
            except Exception:  # a bug or a foreign message: never kill the bus
                log.exception("command bus could not handle a message on %r", channel)


class Cluster:
    """This process's part: its leases, the auctions it follows, and the command bus."""

    def __init__(self, redis_url: str, *, prefix: str = "bidserver", ttl_ms: int = 5000,
                 node: str | None = None) -> None:
        self.node = node or new_node_id()
        self.redis = Redis.from_url(redis_url, socket_connect_timeout=1.0, socket_timeout=10.0)
        self.leases = Leases(self.redis, self.node, prefix=prefix, ttl_ms=ttl_ms)
        self.bus = CommandBus(self.redis, self.node, prefix)
        self._prefix = prefix
        self._follow_redis = Redis.from_url(redis_url, socket_connect_timeout=1.0, socket_timeout=10.0)
        self._rooms: Rooms | None = None
        self._journal_key: Callable[[str], str] = lambda a: f"{prefix}:auction:{a}"
        self._followed: dict[str, Auction] = {}
        self._served: dict[str, Auction] = {}
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._checking: set[str] = set()

    async def start(self, rooms: Rooms, journal_key: Callable[[str], str]) -> None:
        self._rooms = rooms
        self._journal_key = journal_key
        self.bus.on_no_writer = self._no_writer
        await self.bus.start()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._follow_forever(), name="cluster:follow"),
            loop.create_task(self._keep_leases_forever(), name="cluster:leases"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for auction_id in list(self._served):
            try:
                await self.leases.release(auction_id)
            except Exception:
                pass
        await self.bus.close()
        await self.redis.aclose()
        await self._follow_redis.aclose()

    def stats(self) -> dict:
        return {"node": self.node, "writes": len(self._served), "follows": len(self._followed)}

    # ------------------------------------------------------------------ roles

    def serve(self, handle: Auction) -> None:
        self._served[handle.auction_id] = handle
        self._followed.pop(handle.auction_id, None)
        self.bus.serve(handle.impl)

    def unserve(self, handle: Auction) -> None:
        self._served.pop(handle.auction_id, None)
        self.bus.unserve(handle.auction_id)

    async def follow(self, handle: Auction) -> None:
        """Follow an auction another process writes, knowing (or looking for) its writer."""
        self._followed[handle.auction_id] = handle
        self._changed.set()
        await self._refresh_writers([handle.auction_id])

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(lambda t: t.cancelled() or t.exception() and log.warning(
            "cluster task failed: %s", t.exception()))

    # ------------------------------------------------------------------ following

    async def _follow_forever(self) -> None:
        while True:
            if not self._followed:
                self._changed.clear()
                await self._changed.wait()
                continue
            streams = {
                self._journal_key(a): f"{h.state.seq}-0" for a, h in self._followed.items()
            }
            by_key = {self._journal_key(a): h for a, h in self._followed.items()}
            try:
                found = await self._follow_redis.xread(streams, block=250, count=5000)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("following auctions: %s", exc)
                await asyncio.sleep(0.5)
                continue
            batch = []
            for key, entries in found or ():
                handle = by_key.get(key.decode() if isinstance(key, bytes) else key)
                follower = handle.impl if handle is not None else None
                if not isinstance(follower, FollowerRoom):
                    continue
                batch.append((follower, [
                    (int(entry_id.split(b"-", 1)[0]), fields[b"e"]) for entry_id, fields in entries
                ]))
            try:  # shown only once proven durable (one fence per read; free with appendfsync always)
                await apply_batch(batch)
            except JournalUnavailable as exc:
                log.warning("following auctions: %s", exc)
                await asyncio.sleep(0.5)

    # ------------------------------------------------------------------ leases

    async def _keep_leases_forever(self) -> None:
        period = self.leases.ttl_ms / 1000 / 3
        while True:
            await asyncio.sleep(period)
            try:
                lost = await self.leases.renew(self._served)
                for auction_id in lost:
                    handle = self._served.pop(auction_id, None)
                    if handle is not None:
                        self.bus.unserve(auction_id)
                        await self._rooms.demote(handle)
                        await self.follow(handle)
                await self._refresh_writers(list(self._followed))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: try again next period
                log.warning("lease upkeep failed: %s", exc)

    async def _refresh_writers(self, auction_ids: list[str]) -> None:
        """Who writes each followed auction now; take over those nobody writes."""
        owners = await self.leases.owners(auction_ids)
        for auction_id, owner in owners.items():
            handle = self._followed.get(auction_id)
            if handle is None:
                continue
            if owner is None:
                await self._take_over(auction_id)
            elif isinstance(handle.impl, FollowerRoom):
                handle.impl.writer = owner

    def _no_writer(self, auction_id: str) -> None:
        if auction_id in self._checking:
            return
        self._checking.add(auction_id)

        async def check() -> None:
            try:
                await self._refresh_writers([auction_id])
            finally:
                self._checking.discard(auction_id)

        self._spawn(check())

    async def _take_over(self, auction_id: str) -> None:
        handle = self._followed.get(auction_id)
        if handle is None or not await self.leases.acquire(auction_id):
            return
        self._followed.pop(auction_id, None)
        try:
            await self._rooms.promote(handle)
        except Exception:  # e.g. the journal cannot prove the catch-up durable: keep following
            self._followed[auction_id] = handle
            self._changed.set()
            try:
                await self.leases.release(auction_id)
            except Exception:
                pass  # the lease expires on its own
            raise
        self._served[auction_id] = handle
        self.bus.serve(handle.impl)
