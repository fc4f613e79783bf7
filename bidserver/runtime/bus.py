"""Commands to the process that writes an auction, and answers back, over Redis pub/sub.

Commands go to the writer's node channel (the node named by the auction's lease) and answers come
back on the sender's: ``KeySpace.command_channel`` and ``reply_channel``, ``<prefix>:cmd:<node>``
and ``<prefix>:reply:<node>`` on one Redis. On a Redis Cluster each node has such a pair in every
shard, and a message about an auction goes on its shard's pair, published in that shard's slot
only (sharded pub/sub, ``runtime.pubsub``): the traffic of an auction reaches its slot's master,
not every node. Messages are batched per destination node and shard once per turn of the event
loop, so a thousand busy auctions cost a handful of publishes per turn, not a thousand. Pub/sub is at most once; that is enough because bids are idempotent by bid
id and an unanswered command fails with ``writer_unavailable`` for the client to resend.

A command travels as raw JSON beside its auction id; the writer decodes it with the auction's
format (``Format.command_type``), so the bus knows no format.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable

import msgspec
from ..engine.rejections import Rejection
from ..failures import Failure
from ..store.keyspace import KeySpace
from .auction import Auction
from .outcome import Result
from .pubsub import OnePubSub, ShardedPubSub

log = logging.getLogger(__name__)

FORWARD_TIMEOUT_S = 3.0


class Forward(msgspec.Struct, frozen=True, gc=False):
    id: int
    node: str  # where the answer goes
    auction: str
    command: msgspec.Raw  # the format's command, decoded by the writer


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

    def __init__(self, pubsub: OnePubSub | ShardedPubSub, node: str, keys: KeySpace) -> None:
        self._pubsub = pubsub
        self.node = node
        self.keys = keys
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[Callable[[Reply | None], None], asyncio.TimerHandle]] = {}
        self._out: dict[tuple[str, int], list[Forward]] = {}  # by (node, shard)
        self._replies: dict[tuple[str, int], list[Reply]] = {}
        self._handlers: dict[str, Auction] = {}
        self._flushing = False
        self._tasks: set[asyncio.Task] = set()
        self.on_no_writer: Callable[[str], None] = lambda auction_id: None
        shards = range(keys.shards)
        self._reply_channels = {keys.reply_channel(s, node).encode() for s in shards}
        self._cmd_channels = {keys.command_channel(s, node).encode() for s in shards}

    async def start(self) -> None:
        channels = [c.decode() for c in (*self._reply_channels, *self._cmd_channels)]
        await self._pubsub.subscribe(channels, self._received)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for callback, timer in self._pending.values():
            timer.cancel()
            callback(None)
        self._pending.clear()
        await self._pubsub.close()

    # ------------------------------------------------------------------ the follower's side

    def forward(
        self, auction_id: str, writer: str, command: msgspec.Struct,
        on_reply: Callable[[Reply | None], None],
    ) -> None:
        """Send ``command`` to the node ``writer`` (the lease holder); ``on_reply(None)`` if no
        answer comes in time."""
        request_id = next(self._ids)
        timer = asyncio.get_running_loop().call_later(FORWARD_TIMEOUT_S, self._expire, request_id)
        self._pending[request_id] = (on_reply, timer)
        forward = Forward(request_id, self.node, auction_id, msgspec.Raw(_encoder.encode(command)))
        self._out.setdefault((writer, self.keys.shard(auction_id)), []).append(forward)
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

    def serve(self, auction: Auction) -> None:
        self._handlers[auction.auction_id] = auction

    def unserve(self, auction_id: str) -> None:
        self._handlers.pop(auction_id, None)

    def _handle(self, forward: Forward) -> None:
        auction = self._handlers.get(forward.auction)
        if auction is None:  # the lease moved on: the follower looks for the writer again
            self._answer_to(forward, Reply(id=forward.id, seq=0, failure=Failure.NOT_DECIDED.value))
            return
        command = msgspec.json.decode(forward.command, type=auction.format.command_type)

        def done(_: object, result: Result) -> None:
            reply = Reply(
                id=forward.id,
                seq=auction.state.seq,
                first_seq=result.first_seq,
                count=len(result.events),
                rejection=result.rejection,
                failure=result.failure.value if result.failure is not None else None,
            )
            self._answer_to(forward, reply)

        auction.submit_nowait(command, done)

    def _answer_to(self, forward: Forward, reply: Reply) -> None:
        self._replies.setdefault((forward.node, self.keys.shard(forward.auction)), []).append(reply)
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

    async def _flush(self, out: dict[tuple[str, int], list[Forward]],
                     replies: dict[tuple[str, int], list[Reply]]) -> None:
        """Every batch at once (on a cluster they go to several masters)."""
        await asyncio.gather(
            *(self._send_replies(node, shard, batch) for (node, shard), batch in replies.items()),
            *(self._send_forwards(node, shard, batch) for (node, shard), batch in out.items()),
        )

    async def _send_replies(self, node: str, shard: int, batch: list[Reply]) -> None:
        try:
            await self._pubsub.publish(self.keys.reply_channel(shard, node), _encoder.encode(batch))
        except Exception as exc:  # the follower times out and the client resends
            log.warning("could not answer %d commands of %s: %s", len(batch), node, exc)

    async def _send_forwards(self, node: str, shard: int, batch: list[Forward]) -> None:
        try:
            listeners = await self._pubsub.publish(
                self.keys.command_channel(shard, node), _encoder.encode(batch))
        except Exception as exc:  # e.g. mid-failover: refused now rather than at the timeout
            log.warning("could not forward %d commands to %s: %s", len(batch), node, exc)
            listeners = 0
        if not listeners:  # that node is gone: fail fast, look for the writers again
            for forward in batch:
                self._expire(forward.id)
            for auction_id in {forward.auction for forward in batch}:
                self.on_no_writer(auction_id)

    def _received(self, channel: bytes, data: bytes) -> None:
        try:
            if channel in self._reply_channels:
                for reply in _replies.decode(data):
                    self._answer(reply)
            elif channel in self._cmd_channels:
                for forward in _forwards.decode(data):
                    self._handle(forward)
        except Exception:  # a bug or a foreign message: never kill the bus
            log.exception("command bus could not handle a message on %r", channel)
