"""An auction another process writes, as this process serves it: a replica and forwarded commands.

With several processes (``bidserver serve --workers N``, or several machines on one Redis), a
participant may connect to any of them. The process holding the auction's lease writes it (a
``Room``); every other process that has participants of that auction *follows* it:

- its replica of the state is fed by the auction's journal stream (the durable events, in order,
  read with ``XREAD``), so what it shows is exactly what is durable, like the writer's. Being in
  the stream is not always being durable: with ``appendfsync everysec`` and WAITAOF, another
  writer's batch is readable before its fsync. So what is read is applied through ``apply_batch``,
  which first proves the whole read durable with one journal ``fence`` (free with ``appendfsync
  always``) and applies nothing if it cannot;
- commands (bids, buyer actions) are forwarded to the writer over Redis pub/sub
  (``bus.CommandBus``) and answered back; an answer is used only once the replica has caught
  up with the writer's state at the time of the answer, so a supplier's rank in its
  ``bid_result`` is the same wherever it is connected.

A forwarded command that gets no answer in time fails with ``writer_unavailable`` (nothing was
acknowledged to the sender: a resend of the same bid id is safe and tells the real outcome).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from ..failures import Failure
from .auction import Auction
from .bus import CommandBus, Reply
from .journaling import ChainBroken, from_journal
from .outcome import Result

log = logging.getLogger(__name__)

CATCH_UP_TIMEOUT_S = 3.0

Entries = list[tuple[int, bytes]]
Fence = Callable[[Collection[str]], Awaitable[None]]  # Journal.fence, of these auctions


async def apply_batch(batch: Sequence[tuple[Replica, Entries]]) -> None:
    """Apply one ``XREAD``'s entries (several followed auctions) once they are proven durable.

    One fence for the whole read, whatever the number of streams in it (the followers of one
    process share their journal, hence their fence; on a cluster it asks only the masters of
    the auctions read): every entry was read before the fence was
    written, and the AOF is sequential. If the fence fails (``JournalUnavailable``), nothing is
    applied: the replicas stay where they were, and the next read from there gets the same
    entries again. Replicas stopped meanwhile (taken over, handed back) ignore what they get.
    """
    fences: dict[Fence, list[str]] = {}  # one per journal, with the auctions read
    for follower, entries in batch:
        if entries:
            fences.setdefault(follower.fence, []).append(follower.auction_id)
    for fence, auction_ids in fences.items():
        await fence(auction_ids)
    for follower, entries in batch:
        follower.apply(entries)


class Replica:
    """``fence`` is the journal's (``Journal.fence``): what the replica applies must be proven
    durable first, see ``apply_batch``."""

    writes = False

    def __init__(self, auction: Auction, bus: CommandBus, *, fence: Fence) -> None:
        self.auction = auction
        self.state = auction.state
        self.log = auction.log
        self.fence = fence
        self._stopped = False
        self._bus = bus
        self._waiting: list[tuple[int, int, Callable[[], None]]] = []  # (seq, n, resume) heap
        self._counter = itertools.count()
        self.writer: str | None = None  # the node holding the lease (kept current by the cluster)
        self.broken: ChainBroken | None = None  # the stream failed verification: nothing applied

    @property
    def auction_id(self) -> str:
        return self.state.auction_id

    # ------------------------------------------------------------------ the replica

    def apply(self, entries: Entries) -> None:
        """Journal entries (seq, event bytes) already proven durable, in order; earlier ones are
        skipped, and so is everything after a gap (the next read starts from the replica's seq
        again). Entries read from the stream go through ``apply_durable`` or ``apply_batch``."""
        if self._stopped:  # a Room or a newer replica took over this state: not ours to change
            return
        contiguous: Entries = []
        for seq, data in entries:
            if seq <= self.state.seq:
                continue
            if seq != self.state.seq + 1 + len(contiguous):
                log.warning("replica of %s: entry %d follows %d", self.auction_id, seq,
                            self.state.seq + len(contiguous))
                break
            contiguous.append((seq, data))
        if self.broken is not None:
            return
        fmt = self.auction.format
        try:
            _, fresh, head = from_journal({fmt.name: fmt}, self.auction_id, contiguous, self.auction.head)
        except ChainBroken as broken:  # shown nowhere, applied never: an operator must look
            log.error("replica of %s stops: %s", self.auction_id, broken)
            self.broken = broken
            return
        if not fresh:
            return
        self.auction.head = head
        for event in fresh:
            fmt.evolve(self.state, event)
        self.log.extend(fresh)
        self.auction.decided += len(fresh)
        self.auction.audience.publish(fresh)
        seq = self.state.seq
        while self._waiting and self._waiting[0][0] <= seq:
            heapq.heappop(self._waiting)[2]()

    async def apply_durable(self, entries: Entries) -> None:
        """Entries read from the journal stream: proven durable first (``JournalUnavailable``
        if they cannot be, and then nothing is applied)."""
        await apply_batch([(self, entries)])

    def _when_at(self, seq: int, resume: Callable[[], None]) -> None:
        if self.state.seq >= seq:
            resume()
        else:
            heapq.heappush(self._waiting, (seq, next(self._counter), resume))

    # ------------------------------------------------------------------ commands

    def submit_nowait(self, command: Any, callback: Callable[[Any, Result], None]) -> None:
        loop = asyncio.get_running_loop()

        def answered(reply: Reply | None) -> None:
            if reply is None:
                callback(command, Result(failure=Failure.WRITER_UNAVAILABLE))
                return
            if reply.failure is not None:
                if reply.failure == Failure.NOT_DECIDED:  # the lease moved on
                    self._bus.on_no_writer(self.auction_id)
                callback(command, Result(failure=Failure(reply.failure)))
                return
            if reply.rejection is not None:
                callback(command, Result(rejection=reply.rejection))
                return
            done = False

            def resume() -> None:
                nonlocal done
                if done:
                    return
                done = True
                timer.cancel()
                events = []
                if reply.first_seq is not None and reply.count:
                    events = self.log.range(reply.first_seq, reply.count)
                receipt = self.auction.format.receipt(self.state, command)
                callback(command, Result(events=events, first_seq=reply.first_seq, receipt=receipt))

            def too_late() -> None:
                nonlocal done
                if not done:
                    done = True
                    log.warning("replica of %s did not reach seq %d", self.auction_id, reply.seq)
                    callback(command, Result(failure=Failure.WRITER_UNAVAILABLE))

            timer = loop.call_later(CATCH_UP_TIMEOUT_S, too_late)
            self._when_at(reply.seq, resume)

        if self.writer is None:  # not known yet (or nobody writes): the cluster is looking
            self._bus.on_no_writer(self.auction_id)
            answered(None)
            return
        self._bus.forward(self.auction_id, self.writer, command, answered)

    async def submit(self, command: Any) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()

        def done(_: Any, result: Result) -> None:
            if not future.done():
                future.set_result(result)

        self.submit_nowait(command, done)
        return await future

    async def stop(self) -> None:
        self._stopped = True
        self._waiting.clear()
