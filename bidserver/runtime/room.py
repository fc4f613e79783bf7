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
refusals (journalled with the batch, so a refusal, like an acceptance, is answered once durable),
and what the format holds in this writer's memory only (a sealed tender's presented key shares).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from .. import metrics
from ..engine.rejections import Rejection
from ..failures import Failure
from ..store.journal import AwardRecord, Journal, JournalError
from .auction import Auction
from .journaling import Chain, from_journal, to_journal
from .outcome import Result

log = logging.getLogger(__name__)

MAX_BATCH = 512
MAX_UNCOMMITTED = 4096  # commands decided but not yet durable, before the decider waits
RETRY_FIRST_S = 0.5  # timer retry after a failed journal write; a faulty tick's first back-off
RETRY_MAX_S = 30.0  # a faulty tick's longest back-off
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
    queued_at: float = 0.0  # perf_counter() when a sender queued it (ack latency); 0: a tick

    def resolve(self, result: Result) -> None:
        if self.queued_at:
            metrics.ACK_SECONDS.observe(time.perf_counter() - self.queued_at)
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
        on_durable: Callable[[Auction, list[Any]], None] | None = None,
    ) -> None:
        self.auction = auction
        self.format = fmt = auction.format
        self.state = auction.state  # durable: what everyone sees
        self.log = auction.log  # the durable events held in memory
        self._ahead = fmt.copy(self.state)  # durable + decided, not yet durable
        self._ahead_head = auction.head  # the chain's head ahead, as ``_ahead`` is the state's
        # What the format keeps in this writer's memory only (``Format.remember``): never
        # journaled nor snapshotted, so empty after a restart or a takeover. Updated as commands
        # are decided, before they are durable: the next command decided ahead needs it, and the
        # format trusts it only as far as the journal vouches for it (a failed write's leftovers
        # are ignored).
        self._memory: dict[str, Any] = {}
        self._journal = journal
        self._now_ms = now_ms
        self._on_durable = on_durable  # after each durable write of events, once they are applied
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
        self._timer_failures = 0  # the current streak of the timer's faults
        self.failing_since: int | None = None  # when that streak began (ms), None: no fault

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
        if self.failing_since is not None:
            self.failing_since = None
            metrics.ROOMS_FAILING.dec()
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
        self._queue.put_nowait(_Pending(command, future, queued_at=time.perf_counter()))
        return await future

    def submit_nowait(self, command: Any, callback: Callable[[Any, Result], None]) -> None:
        """Queue a command; ``callback(command, result)`` runs once it is decided and durable.

        The live room's path: no task, future or await per bid. Commands from one socket are
        decided in the order they were submitted (one queue, one writer).
        """
        self._queue.put_nowait(_Pending(command, None, callback, queued_at=time.perf_counter()))

    async def _decide_forever(self) -> None:
        while True:
            self._deciding = []  # before the wait: ``stop`` must not answer a batch twice
            batch = self._deciding = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if not await self._try_decide(batch) and len(batch) > 1:
                # One command of the batch raised: decide each alone, so that a fault (a close
                # whose award cannot be built) fails only itself, not the bids beside it.
                for pending in batch:
                    await self._try_decide([pending])
            while self._uncommitted >= MAX_UNCOMMITTED:
                self._committed.clear()
                await self._committed.wait()

    async def _try_decide(self, batch: list[_Pending]) -> bool:
        """Decide ``batch``; False if deciding it raised (a bug): nothing of it was decided then,
        and a batch of one was answered ``internal_error``."""
        try:
            if self._stale:
                await self._committed.wait()
                await self._reload()
            self._decide(batch)
        except JournalError:  # the reload failed: Redis is still away
            self._done_deciding(batch)
            self._resolve_all(batch, Result(failure=Failure.JOURNAL_UNAVAILABLE))
            self._arm_timer(retry_after=RETRY_FIRST_S)
            return True
        except Exception:  # a bug: never leave a sender waiting, never kill the room
            await self._committed.wait()  # what was decided before is durable (or failed) now
            self._ahead = self.format.copy(self.state)
            self._ahead_head = self.auction.head
            if len(batch) > 1:
                log.warning("room %s: a batch of %d commands raised; deciding them one by one",
                            self.auction_id, len(batch), extra={"auction_id": self.auction_id})
                return False
            self._done_deciding(batch)
            self._faulted(batch[0])
            return False
        self._done_deciding(batch)
        if any(pending.tick for pending in batch):
            self._timer_recovered()
        return True

    def _done_deciding(self, batch: list[_Pending]) -> None:
        """``batch`` is decided or answered: ``stop`` no longer answers it ``not_decided``."""
        if batch is self._deciding:
            self._deciding = []
        else:  # one command of a batch that raised, decided alone
            self._deciding = [p for p in self._deciding if all(p is not b for b in batch)]

    def _faulted(self, pending: _Pending) -> None:
        """One command raised: it is answered ``internal_error``. If it was the room's own tick
        (the close, a lot's end), the timer is armed again with back-off: logged once per streak
        of failures, counted, and marked (``failing_since``) for readiness and the metrics."""
        tick = pending.tick
        self._resolve_all([pending], Result(failure=Failure.INTERNAL))
        if not tick:
            log.exception("room %s failed on %s", self.auction_id,
                          type(pending.command).__name__, extra={"auction_id": self.auction_id})
            return
        self._timer_failures += 1
        metrics.TIMER_FAILURES.inc()
        retry_s = min(RETRY_FIRST_S * 2 ** (self._timer_failures - 1), RETRY_MAX_S)
        if self.failing_since is None:
            self.failing_since = self._now_ms()
            metrics.ROOMS_FAILING.inc()
            log.exception("room %s: its timer (a close or a deadline) failed; retrying with "
                          "back-off (logged again only once it passes)", self.auction_id,
                          extra={"auction_id": self.auction_id})
        else:
            log.debug("room %s: timer failure %d; next try in %.1f s", self.auction_id,
                      self._timer_failures, retry_s, exc_info=True,
                      extra={"auction_id": self.auction_id})
        self._arm_timer(retry_after=retry_s)

    def _timer_recovered(self) -> None:
        if self.failing_since is None:
            return
        log.info("room %s: its timer passes again after %d failures", self.auction_id,
                 self._timer_failures, extra={"auction_id": self.auction_id})
        self.failing_since = None
        self._timer_failures = 0
        metrics.ROOMS_FAILING.dec()

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
            outcome = fmt.decide(ahead, fmt.with_memory(command, self._memory))
            rejection = None
            if isinstance(outcome, Rejection):  # answered once its record (if any) is durable
                rejection, record = outcome, fmt.refusal_record(ahead, command, outcome)
                outcome = [] if record is None else [record]
            else:
                fmt.remember(self._memory, command, outcome)
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
                log.warning("journal append failed for %s: %s", self.auction_id, exc,
                            extra={"auction_id": self.auction_id})
                self._fail_uncommitted()
                continue
            except Exception:  # a bug in the journal path: same as an unknown outcome
                log.exception("room %s failed to commit", self.auction_id,
                              extra={"auction_id": self.auction_id})
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
        """Durable events to the live room and the registry (listing, snapshots). A fault here
        must not stop the committer (every later command would wait forever): it is logged and
        counted; the next change publishes the newest view again, and the replay at the next
        start lists again."""
        try:
            self.auction.audience.publish(events)
            if self._on_durable is not None:
                self._on_durable(self.auction, events)
        except Exception:
            metrics.PUBLISH_FAILURES.inc()
            log.exception("room %s: publishing durable events failed", self.auction_id,
                          extra={"auction_id": self.auction_id})

    def _fail_uncommitted(self, failure: Failure = Failure.JOURNAL_UNAVAILABLE) -> None:
        """A write failed: everything decided since the durable state is void; reload first."""
        result = Result(failure=failure)
        while self._decided:
            self._resolve_all(self._decided.popleft().batch, result)
        self._uncommitted = 0
        self._ahead = self.format.copy(self.state)
        self._ahead_head = self.auction.head
        self._stale = True
        self._arm_timer(retry_after=RETRY_FIRST_S)

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

    def _arm_timer(self, retry_after: float = 0.0) -> None:
        """The format says when; the room sets the timer, which feeds a tick through the queue
        (not sooner than ``retry_after`` seconds after a failure)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.format.next_deadline(self._ahead)
        if deadline is None:
            return
        delay = max(0.001, (deadline - self._now_ms()) / 1000)
        delay = max(delay, retry_after)
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if not self._tick_queued:
            self._tick_queued = True
            self._queue.put_nowait(_Pending(self.format.tick(), None, tick=True))
