"""The room: the one writer of one auction.

Every command for an auction, from a socket, the HTTP API or the room's own timer, goes through the
room's queue, so the auction's events have one total order. Two steps, pipelined:

- the *decider* takes everything waiting as one batch and decides each command on the state
  *ahead* (the durable state plus every event decided but not yet durable);
- the *committer* appends all decided events to the journal in one atomic write (group commit)
  and, only once it is durable, applies them to the durable ``state``, answers the senders and
  publishes the update. While one write is in flight, the decider goes on deciding; the next write
  carries everything decided meanwhile.

Everyone outside the room (views, the fan-out, the HTTP API) sees only the durable ``state``: a bid
is never shown, nor answered, before it is on disk. If a write fails, nobody is told "accepted":
every command decided on top of it fails with ``journal_unavailable``, the state ahead is a copy
of the durable state again, and the room reloads whatever did land before it writes again (a resend of
the same bid id then tells the real outcome).

Time is stamped here, at the moment the room decides, and never goes backwards, so the close is
sequenced with the bids around it. The room knows its auction's format only through the contract
(``engine.format``): decide, evolve, the next deadline, the tick, receipts and the records of
refusals (journalled with the batch, so a refusal, like an acceptance, is answered once durable).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from ..engine.rejections import Rejection
from ..failures import Failure
from ..store.journal import AwardRecord, Journal, JournalError
from .auction import Auction
from .journaling import Chain, from_journal, to_journal
from .outcome import Result

log = logging.getLogger(__name__)

MAX_BATCH = 512
MAX_UNCOMMITTED = 4096  # commands decided but not yet durable, before the decider waits
_RETRY_S = 0.5  # timer retry after a failed journal write
STOP_WRITE_WAIT_S = 5.0  # how long ``stop`` lets a write in flight finish


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


@dataclass(slots=True)
class _Pending:
    command: Any
    future: asyncio.Future[Result] | None
    callback: Callable[[Any, Result], None] | None = None
    tick: bool = False  # fed by the room's own timer

    def resolve(self, result: Result) -> None:
        if self.future is not None:
            if not self.future.done():
                self.future.set_result(result)
        elif self.callback is not None:
            callback, self.callback = self.callback, None
            try:
                callback(self.command, result)
            except Exception:  # a bug in one socket's answer must not touch the room
                log.exception("result callback failed for %r", type(self.command).__name__)


@dataclass(slots=True)
class _Decided:
    """One decided batch on its way to the journal."""

    batch: list[_Pending]
    results: list[Result]
    events: list[Any]
    first_seq: int
    entries: list[bytes]
    awards: list[AwardRecord]
    head: Chain  # the hash chain once these entries are written


class Room:
    """The writer of one auction: ``start`` it once the auction's state and log are durable."""

    writes = True

    def __init__(
        self,
        auction: Auction,
        journal: Journal,
        now_ms: Callable[[], int],
        *,
        on_durable: Callable[[Auction], None] | None = None,
    ) -> None:
        self.auction = auction
        self.format = fmt = auction.format
        self.state = auction.state  # durable: what everyone sees
        self.log = auction.log  # the durable events held in memory
        self._ahead = fmt.copy(self.state)  # durable + decided, not yet durable
        self._ahead_head = auction.head  # the chain's head ahead, as ``_ahead`` is the state's
        self._journal = journal
        self._now_ms = now_ms
        self._on_durable = on_durable  # after each durable write, once its events are applied
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._decided: collections.deque[_Decided] = collections.deque()
        self._uncommitted = 0  # commands in self._decided
        self._decided_ready = asyncio.Event()
        self._committed = asyncio.Event()  # set whenever the committer is idle
        self._committed.set()
        # Time never goes backwards within an auction, across restarts and take-overs too: a
        # process whose clock is behind must not rank a later bid before an earlier one.
        self._last_at = self.log.last_at
        self._stale = False  # a write failed with an unknown outcome: reload before writing
        self._timer: asyncio.TimerHandle | None = None
        self._tick_queued = False
        self._tasks: list[asyncio.Task[None]] = []
        self._deciding: list[_Pending] = []  # taken from the queue, not yet decided

    @property
    def auction_id(self) -> str:
        return self.state.auction_id

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._decide_forever(), name=f"room:{self.auction_id}:decide"),
            loop.create_task(self._commit_forever(), name=f"room:{self.auction_id}:commit"),
        ]
        self._arm_timer()

    async def stop(self) -> None:
        """Stop writing (shutting down, or the lease went to another process).

        Deciding stops at once; what is already decided is written as any batch is (for at most
        ``STOP_WRITE_WAIT_S``), so its senders learn its real outcome, and a write that lands after
        the lease was lost is still safe (the journal appends only at the next sequence number).
        What was taken but not decided is answered ``not_decided``: resent with the same bid id,
        it is decided once, by whichever process writes the auction next.
        """
        decider, committer = self._tasks or (None, None)
        if decider is not None:
            await _cancelled(decider)
            try:
                await asyncio.wait_for(self._committed.wait(), STOP_WRITE_WAIT_S)
            except TimeoutError:
                log.warning("room %s stopped with a write still in flight", self.auction_id)
            await _cancelled(committer)
        if self._timer:
            self._timer.cancel()
        unknown = Result(failure=Failure.JOURNAL_UNAVAILABLE)  # a write cut short: outcome unknown
        while self._decided:
            self._resolve_all(self._decided.popleft().batch, unknown)
        not_decided = Result(failure=Failure.NOT_DECIDED)
        self._resolve_all(self._deciding, not_decided)
        while not self._queue.empty():
            self._queue.get_nowait().resolve(not_decided)

    # ---------------------------------------------------------------- commands

    async def submit(self, command: Any) -> Result:
        """Queue a command (its ``at`` is replaced by the room's clock) and wait for its result."""
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(command, future))
        return await future

    def submit_nowait(self, command: Any, callback: Callable[[Any, Result], None]) -> None:
        """Queue a command; ``callback(command, result)`` runs once it is decided and durable.

        The live room's path: no task, future or await per bid. Commands from one socket are
        decided in the order they were submitted (one queue, one writer).
        """
        self._queue.put_nowait(_Pending(command, None, callback))

    async def _decide_forever(self) -> None:
        while True:
            batch = self._deciding = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                if self._stale:
                    await self._committed.wait()
                    await self._reload()
                self._decide(batch)
                self._deciding = []
            except JournalError:  # the reload failed: Redis is still away
                self._resolve_all(batch, Result(failure=Failure.JOURNAL_UNAVAILABLE))
                self._arm_timer(failed=True)
                continue
            except Exception:  # a bug: never leave a sender waiting, never kill the room
                log.exception("room %s failed on a batch", self.auction_id)
                self._resolve_all(batch, Result(failure=Failure.INTERNAL))
                await self._committed.wait()
                self._ahead = self.format.copy(self.state)
                self._ahead_head = self.auction.head
                continue
            while self._uncommitted >= MAX_UNCOMMITTED:
                self._committed.clear()
                await self._committed.wait()

    def _decide(self, batch: list[_Pending]) -> None:
        """Decide each command on the state ahead; queue the batch for the committer."""
        fmt = self.format
        ahead = self._ahead
        first_seq = ahead.seq + 1
        new_events: list[Any] = []
        results: list[Result] = []
        for pending in batch:
            if pending.tick:
                self._tick_queued = False
            at = max(self._now_ms(), self._last_at)
            self._last_at = at
            command = msgspec.structs.replace(pending.command, at=at)
            outcome = fmt.decide(ahead, command)
            rejection = None
            if isinstance(outcome, Rejection):  # answered once its record (if any) is durable
                rejection, record = outcome, fmt.refusal_record(ahead, command, outcome)
                outcome = [] if record is None else [record]
            first = ahead.seq + 1 if outcome else None
            results.append(Result(events=outcome, first_seq=first, rejection=rejection))
            for event in outcome:
                fmt.evolve(ahead, event)
            new_events.extend(outcome)
        entries, awards = [], []
        if new_events:
            entries, awards, self._ahead_head = to_journal(fmt, ahead, self._ahead_head, new_events)
        self._decided.append(
            _Decided(batch, results, new_events, first_seq, entries, awards, self._ahead_head)
        )
        self._uncommitted += len(batch)
        self.auction.decided += len(batch)
        self._committed.clear()
        self._decided_ready.set()
        self._arm_timer()

    async def _commit_forever(self) -> None:
        while True:
            if not self._decided:
                self._committed.set()
                self._decided_ready.clear()
                await self._decided_ready.wait()
                continue
            group = list(self._decided)  # everything decided so far: one write
            entries = [entry for decided in group for entry in decided.entries]
            try:
                if entries:
                    await self._journal.append(
                        self.auction_id,
                        group[0].first_seq,
                        entries,
                        [award for decided in group for award in decided.awards],
                    )
            except JournalError as exc:
                log.warning("journal append failed for %s: %s", self.auction_id, exc)
                self._fail_uncommitted()
                continue
            except Exception:  # a bug in the journal path: same as an unknown outcome
                log.exception("room %s failed to commit", self.auction_id)
                self._fail_uncommitted(Failure.INTERNAL)
                continue
            for decided in group:
                self._decided.popleft()
                self._uncommitted -= len(decided.batch)
            self.auction.head = group[-1].head
            self._apply_durable(group)

    def _apply_durable(self, group: list[_Decided]) -> None:
        fmt, state = self.format, self.state
        events = [event for decided in group for event in decided.events]
        for event in events:
            fmt.evolve(state, event)
        self.log.extend(events)
        for decided in group:
            for pending, result in zip(decided.batch, decided.results, strict=True):
                if result.rejection is None:
                    result.receipt = fmt.receipt(state, pending.command)
                pending.resolve(result)
        if events:
            self._published(events)

    def _published(self, events: list[Any]) -> None:
        self.auction.audience.publish(events)
        if self._on_durable is not None:
            self._on_durable(self.auction)

    def _fail_uncommitted(self, failure: Failure = Failure.JOURNAL_UNAVAILABLE) -> None:
        """A write failed: everything decided since the durable state is void; reload first."""
        result = Result(failure=failure)
        while self._decided:
            self._resolve_all(self._decided.popleft().batch, result)
        self._uncommitted = 0
        self._ahead = self.format.copy(self.state)
        self._ahead_head = self.auction.head
        self._stale = True
        self._arm_timer(failed=True)

    def _resolve_all(self, batch: list[_Pending], result: Result) -> None:
        for pending in batch:
            if pending.tick:
                self._tick_queued = False
            pending.resolve(result)

    async def _reload(self) -> None:
        """After a write with an unknown outcome: take whatever did land in the journal.

        A durable read: what landed may not be on disk yet (a WAITAOF that timed out, whose
        fsync is still to come), and once taken it is shown, and a resend of its bids is answered
        "accepted, duplicate". If durability cannot be proven, this raises and the room stays
        stale: the batch waiting on it fails with ``journal_unavailable`` and the next one retries.
        """
        entries = await self._journal.read(self.auction_id, after_seq=self.state.seq, durable=True)
        fmt = self.format
        _, fresh, head = from_journal({fmt.name: fmt}, self.auction_id, entries, self.auction.head)
        self.auction.head = self._ahead_head = head
        if fresh:
            self._last_at = max(self._last_at, fresh[-1].at)
        for event in fresh:
            self.format.evolve(self.state, event)
            self.format.evolve(self._ahead, event)
        self.log.extend(fresh)
        self._stale = False
        if fresh:
            self._published(fresh)

    # ---------------------------------------------------------------- timer

    def _arm_timer(self, failed: bool = False) -> None:
        """The format says when; the room sets the timer, which feeds a tick through the queue."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.format.next_deadline(self._ahead)
        if deadline is None:
            return
        delay = max(0.001, (deadline - self._now_ms()) / 1000)
        if failed:
            delay = max(delay, _RETRY_S)
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if not self._tick_queued:
            self._tick_queued = True
            self._queue.put_nowait(_Pending(self.format.tick(), None, tick=True))
