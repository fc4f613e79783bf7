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
every command decided on top of it fails with ``journal_unavailable``, the state ahead is rebuilt
from the durable log, and the room reloads whatever did land before it writes again (a resend of
the same bid id then tells the real outcome).

Time is stamped here, at the moment the room decides, and never goes backwards, so the close is
sequenced with the bids around it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from .. import ocds, wire
from ..engine import AuctionState, decide, evolve, next_deadline, replay
from ..engine.commands import Command, PlaceBid, Tick
from ..engine.events import Event, LotAwarded, decode_event, encode_event
from ..engine.rejections import Reason, Rejection
from ..engine.state import LotPhase
from ..engine.values import SYSTEM
from ..store.journal import AwardRecord, Journal, JournalError
from .fanout import Broadcaster

log = logging.getLogger(__name__)

MAX_BATCH = 512
MAX_UNCOMMITTED = 4096  # commands decided but not yet durable, before the decider waits
_release_encoder = msgspec.json.Encoder(decimal_format="number")  # OCDS amounts are numbers
_REJECTION_MEMORY = 10_000  # rejected bid ids remembered for idempotent resends
_RETRY_S = 0.5  # timer retry after a failed journal write


@dataclass(slots=True)
class Result:
    """What became of one command: events applied (empty for a no-op or a duplicate), or why not."""

    events: list[Event] = field(default_factory=list)
    first_seq: int | None = None
    rejection: Rejection | None = None
    failure: wire.Failure | None = None

    @property
    def ok(self) -> bool:
        return self.rejection is None and self.failure is None


@dataclass(slots=True)
class _Pending:
    command: Command
    future: asyncio.Future[Result] | None
    callback: Callable[[Command, Result], None] | None = None

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
    events: list[Event]
    first_seq: int
    awards: list[AwardRecord]


def bid_result(state: AuctionState, command: PlaceBid, result: Result) -> wire.BidResult:
    """The answer to a bid, for whoever placed it (a supplier or a buyer on its behalf)."""
    if result.failure is not None:
        detail = "not acknowledged; resend the same bid_id" if result.failure in (
            wire.Failure.JOURNAL_UNAVAILABLE, wire.Failure.WRITER_UNAVAILABLE
        ) else ""
        return wire.bid_failed(command.bid_id, result.failure, detail)
    if result.rejection is not None:
        return wire.bid_rejected(command.bid_id, result.rejection)
    record = state.bids[command.bid_id]
    return wire.BidResult(
        bid_id=command.bid_id,
        status="accepted",
        seq=record.seq,
        rank=state.lots[record.lot_id].rank_of(record.supplier),
        duplicate=not result.events,
    )


def _bid_key(command: PlaceBid) -> tuple:
    """A bid's identity for resends: who, which id, and what it said."""
    return (
        command.actor.party,
        command.bid_id,
        command.lot_id,
        command.amount,
        command.confirm,
        command.on_behalf_of,
    )


class Room:
    def __init__(
        self,
        state: AuctionState,
        log_events: list[Event],
        journal: Journal,
        now_ms: Callable[[], int],
        *,
        on_finished: Callable[[Room], None] | None = None,
        fanout_interval_s: float = 0.05,
        broadcaster: Broadcaster | None = None,
    ) -> None:
        self.state = state  # durable: what everyone sees
        self.log = log_events  # every durable event, index = seq - 1
        self._ahead = replay(state.auction_id, log_events)  # durable + decided, not yet durable
        self._journal = journal
        self._now_ms = now_ms
        self._on_finished = on_finished
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._decided: collections.deque[_Decided] = collections.deque()
        self._uncommitted = 0  # commands in self._decided
        self._decided_ready = asyncio.Event()
        self._committed = asyncio.Event()  # set whenever the committer is idle
        self._committed.set()
        # Time never goes backwards within an auction, across restarts and take-overs too: a
        # process whose clock is behind must not rank a later bid before an earlier one.
        self._last_at = log_events[-1].at if log_events else 0
        self._stale = False  # a write failed with an unknown outcome: reload before writing
        self._timer: asyncio.TimerHandle | None = None
        self._tick_queued = False
        self._rejected: dict[tuple, Rejection] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.decided = 0  # commands decided so far (the fan-out backs off while it grows fast)
        self.broadcaster = broadcaster if broadcaster is not None else Broadcaster(
            now_ms,
            lambda: (self.state, self.log),
            interval_s=fanout_interval_s,
            activity=lambda: self.decided,
        )

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
        if self._timer:
            self._timer.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        shutting_down = Result(failure=wire.Failure.SHUTTING_DOWN)
        while self._decided:
            self._resolve_all(self._decided.popleft().batch, shutting_down)
        while not self._queue.empty():
            self._queue.get_nowait().resolve(shutting_down)

    # ---------------------------------------------------------------- commands

    async def submit(self, command: Command) -> Result:
        """Queue a command (its ``at`` is replaced by the room's clock) and wait for its result."""
        remembered = self._remembered(command)
        if remembered is not None:
            return remembered
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(command, future))
        return await future

    def submit_nowait(self, command: Command, callback: Callable[[Command, Result], None]) -> None:
        """Queue a command; ``callback(command, result)`` runs once it is decided and durable.

        The live room's path: no task, future or await per bid. Commands from one socket are
        decided in the order they were submitted (one queue, one writer).
        """
        remembered = self._remembered(command)
        if remembered is not None:
            callback(command, remembered)
            return
        self._queue.put_nowait(_Pending(command, None, callback))

    def _remembered(self, command: Command) -> Result | None:
        if isinstance(command, PlaceBid) and command.bid_id not in self.state.bids:
            remembered = self._rejected.get(_bid_key(command))
            if remembered is not None:
                return Result(rejection=remembered)
        return None

    async def _decide_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                if self._stale:
                    await self._committed.wait()
                    await self._reload()
                self._decide(batch)
            except JournalError:  # the reload failed: Redis is still away
                self._resolve_all(batch, Result(failure=wire.Failure.JOURNAL_UNAVAILABLE))
                self._arm_timer(failed=True)
                continue
            except Exception:  # a bug: never leave a sender waiting, never kill the room
                log.exception("room %s failed on a batch", self.auction_id)
                self._resolve_all(batch, Result(failure=wire.Failure.INTERNAL))
                await self._committed.wait()
                self._ahead = replay(self.auction_id, self.log)
                continue
            while self._uncommitted >= MAX_UNCOMMITTED:
                self._committed.clear()
                await self._committed.wait()

    def _decide(self, batch: list[_Pending]) -> None:
        """Decide each command on the state ahead; queue the batch for the committer."""
        ahead = self._ahead
        first_seq = ahead.seq + 1
        new_events: list[Event] = []
        results: list[Result] = []
        for pending in batch:
            if isinstance(pending.command, Tick):
                self._tick_queued = False
            at = max(self._now_ms(), self._last_at)
            self._last_at = at
            outcome = decide(ahead, msgspec.structs.replace(pending.command, at=at))
            if isinstance(outcome, Rejection):
                results.append(Result(rejection=outcome))
                continue
            results.append(Result(events=outcome, first_seq=ahead.seq + 1 if outcome else None))
            for event in outcome:
                evolve(ahead, event)
            new_events.extend(outcome)
        awards = self._award_records(ahead, new_events) if new_events else []
        self._decided.append(_Decided(batch, results, new_events, first_seq, awards))
        self._uncommitted += len(batch)
        self.decided += len(batch)
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
            events = [e for decided in group for e in decided.events]
            try:
                if events:
                    await self._journal.append(
                        self.auction_id,
                        group[0].first_seq,
                        [encode_event(e) for e in events],
                        [a for decided in group for a in decided.awards],
                    )
            except JournalError as exc:
                log.warning("journal append failed for %s: %s", self.auction_id, exc)
                self._fail_uncommitted()
                continue
            except Exception:  # a bug in the journal path: same as an unknown outcome
                log.exception("room %s failed to commit", self.auction_id)
                self._fail_uncommitted(wire.Failure.INTERNAL)
                continue
            for _ in group:
                self._decided.popleft()
                self._uncommitted -= len(_.batch)
            self._apply_durable(group, events)

    def _apply_durable(self, group: list[_Decided], events: list[Event]) -> None:
        state = self.state
        for event in events:
            evolve(state, event)
        self.log.extend(events)
        for decided in group:
            for pending, result in zip(decided.batch, decided.results, strict=True):
                if result.rejection is not None and isinstance(pending.command, PlaceBid):
                    self._remember_rejection(pending.command, result.rejection)
                pending.resolve(result)
        if events:
            self.broadcaster.publish(events)
            if state.finished and self._on_finished is not None:
                self._on_finished(self)

    def _fail_uncommitted(self, failure: wire.Failure = wire.Failure.JOURNAL_UNAVAILABLE) -> None:
        """A write failed: everything decided since the durable state is void; reload first."""
        result = Result(failure=failure)
        while self._decided:
            self._resolve_all(self._decided.popleft().batch, result)
        self._uncommitted = 0
        self._ahead = replay(self.auction_id, self.log)
        self._stale = True
        self._arm_timer(failed=True)

    def _remember_rejection(self, command: PlaceBid, rejection: Rejection) -> None:
        """A resend of the very same refused bid gets the same answer (not a fresh decision)."""
        if rejection.reason is Reason.DUPLICATE_BID_ID:
            return
        if len(self._rejected) >= _REJECTION_MEMORY:
            self._rejected.pop(next(iter(self._rejected)))
        self._rejected[_bid_key(command)] = rejection

    def _resolve_all(self, batch: list[_Pending], result: Result) -> None:
        for pending in batch:
            if isinstance(pending.command, Tick):
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
        fresh = [decode_event(data) for _, data in entries]
        if fresh:
            self._last_at = max(self._last_at, fresh[-1].at)
        for event in fresh:
            evolve(self.state, event)
            evolve(self._ahead, event)
        self.log.extend(fresh)
        self._stale = False
        if fresh:
            self.broadcaster.publish(fresh)
            if self.state.finished and self._on_finished is not None:
                self._on_finished(self)

    def _award_records(self, state: AuctionState, events: list[Event]) -> list[AwardRecord]:
        records = []
        open_lots = [
            lot_id for lot_id, lot in state.lots.items()
            if lot.phase in (LotPhase.PENDING, LotPhase.OPEN)
        ]
        for event in events:
            if isinstance(event, LotAwarded):
                release = ocds.award_release(
                    auction_id=state.auction_id,
                    config=state.config,
                    buyer=state.buyer,
                    lot_id=event.lot_id,
                    award_id=event.award_id,
                    bid_id=event.bid_id,
                    supplier_id=event.supplier,
                    supplier_name=state.suppliers[event.supplier].name,
                    amount=event.amount,
                    awarded_at_ms=event.at,
                    basis=str(event.basis),
                    reason=event.reason,
                    open_lots=open_lots,
                )
                records.append(
                    AwardRecord(
                        award_id=event.award_id,
                        auction_id=state.auction_id,
                        lot_id=event.lot_id,
                        payload=_release_encoder.encode(release),
                    )
                )
        return records

    # ---------------------------------------------------------------- answers

    def rank_of(self, supplier: str, lot_id: str) -> int | None:
        return self.state.lots[lot_id].rank_of(supplier)

    def bid_result(self, command: PlaceBid, result: Result) -> wire.BidResult:
        return bid_result(self.state, command, result)

    # ---------------------------------------------------------------- timer

    def _arm_timer(self, failed: bool = False) -> None:
        """The engine says when; the room sets the timer, which feeds a Tick through the queue."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = next_deadline(self._ahead)
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
            self._queue.put_nowait(_Pending(Tick(actor=SYSTEM, at=0), None))
