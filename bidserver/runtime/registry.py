"""The registry of rooms: creates auctions, rebuilds them from the journal, and finds them.

At start every auction the journal does not mark finished is rebuilt by replaying its stream, and
its timers resume (a lot whose end passed while the server was down closes on the first tick).
Finished auctions are loaded on demand, so reading an old auction's results still works.

Every stream read here is shown and answered from afterwards, so it must be durable, not merely
present (see ``Journal.read``): lazy loads and take-overs use durable reads; recovery reads every
stream first and proves them all with one ``fence`` (one fsync wait at start, not one per
auction). Lazy loads of different auctions do not wait for each other (each may wait for a fence).

Each auction is served as an ``Auction`` whose mode is a ``Room`` when this process writes it, or a
``Replica`` when another process does (with a ``Cluster``: several processes on one Redis). Its
format comes from the journal; its audience from the factory the application wires in (the
WebSocket fan-out), so the runtime imports no edge.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from typing import Any

from redis.exceptions import RedisError

from .. import metrics
from ..engine.format import Format
from ..engine.rejections import Reason, Rejection
from ..engine.values import Actor
from ..failures import Failure
from ..store.group_commit import GroupCommit
from ..store.archive import ArchiveError, Archives
from ..store.journal import Journal, JournalError
from ..store.listing import Listing, ListingEntry, MemoryListing
from ..store.snapshots import Snapshots
from .audience import AudienceFactory, no_audience
from .auction import Auction
from .cluster import Cluster
from .eventlog import EventLog
from .heads import HeadSigner
from . import snapshots
from .journaling import Chain, ChainBroken, announced_prev, from_journal
from .outcome import Result
from .replica import Replica
from .room import Room

log = logging.getLogger(__name__)

RECOVERY_CONCURRENCY = 16  # auctions loaded at once at start (their Redis reads overlap)
RECOVERY_RETRY_S = 0.5  # first wait before trying again what could not be read
RECOVERY_RETRY_MAX_S = 10.0
SNAPSHOT_QUIET_S = 1.0  # a due snapshot waits until the auction had no write for this long...
SNAPSHOT_MAX_DELAY_S = 60.0  # ... or at most this long


_LOADED = {True: metrics.AUCTIONS_LOADED.labels("writer"),
           False: metrics.AUCTIONS_LOADED.labels("replica")}


def new_auction_id() -> str:
    return "a" + secrets.token_hex(8)


# What ``Rooms.get`` raises when the auction must be read and the store is away (the journal, or
# Redis itself for the cluster's leases, or an archive that cannot be read): "unavailable, retry
# later" at every edge, not a bug.
LOAD_ERRORS = (JournalError, RedisError, ArchiveError, OSError)
# What it raises when the journal was read but is not what its writer sealed: no retry helps.
BROKEN = ChainBroken


class Rooms:
    def __init__(
        self,
        journal: Journal,
        now_ms: Callable[[], int],
        formats: Mapping[str, Format],
        *,
        audience: AudienceFactory = no_audience,
        listing: Listing | None = None,
        snapshots: Snapshots | None = None,
        snapshot_every: int = 1000,
        archives: Archives | None = None,
        id_factory: Callable[[], str] = new_auction_id,
        cluster: Cluster | None = None,
        journal_timeout_s: float | None = None,
        heads: HeadSigner | None = None,
    ) -> None:
        self.listing = listing if listing is not None else MemoryListing()
        self._formats = dict(formats)
        self._by_config = {fmt.config_type: fmt for fmt in self._formats.values()}
        self._audience = audience
        self._journal = journal
        # Every room's appends: one round trip per turn; a room waits at most journal_timeout_s.
        self._commits = GroupCommit(journal, timeout_s=journal_timeout_s)
        self._now_ms = now_ms
        self._id_factory = id_factory
        self._rooms: dict[str, Auction] = {}
        self._loading: dict[str, asyncio.Future[Auction | None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.cluster = cluster
        self.refused: dict[str, str] = {}  # auction id -> why its journal was refused
        self.recovering: dict[str, int] | None = None  # while ``recover`` runs: done, of
        self._snapshots = snapshots
        self._snapshot_every = snapshot_every
        self._archives = archives
        self._heads = heads

    def __iter__(self) -> Iterator[Auction]:
        return iter(list(self._rooms.values()))

    def __len__(self) -> int:
        return len(self._rooms)

    def timers_failing(self) -> bool:
        """Whether a room written here has a timer that keeps failing (``Room.failing_since``;
        the log names the auction)."""
        return any(getattr(auction.mode, "failing_since", None) is not None
                   for auction in self._rooms.values())

    async def recover(self) -> int:
        """Rebuild every unfinished auction this process may write; returns how many.

        Runs in the background while the server already serves: an auction asked for before its
        turn is loaded at once (``get``; recovery then shares that load), so nobody waits for the
        others. Auctions are read a chunk at a time and each chunk's reads are proven durable by
        one ``fence`` (one fsync wait for the chunk, not one per auction). An auction whose
        journal fails verification (``ChainBroken``) is refused, with an error in the log naming
        the entry, and listed in ``refused``; what cannot be read or proven durable now (Redis
        away) is tried again, with back-off, until it loads: nothing is served from a state a
        crash of Redis could still undo.
        """
        self.recovering = {"done": 0, "of": 0}
        ids = sorted(await self._unfinished_ids())
        self.recovering["of"] = len(ids)
        metrics.RECOVERY_PENDING.set(len(ids))
        recovered, pending, delay = 0, ids, RECOVERY_RETRY_S
        while pending:
            retry: list[str] = []
            for start in range(0, len(pending), RECOVERY_CONCURRENCY):
                chunk = pending[start : start + RECOVERY_CONCURRENCY]
                outcomes = await self._recover_chunk(chunk)
                recovered += sum(1 for outcome in outcomes.values() if outcome is True)
                retry += [a for a, outcome in outcomes.items() if outcome is None]
                self.recovering["done"] += sum(1 for o in outcomes.values() if o is not None)
                metrics.RECOVERY_PENDING.set(self.recovering["of"] - self.recovering["done"])
            pending = retry
            if pending:
                log.warning("%d auctions could not be recovered yet; retrying in %.1f s",
                            len(pending), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECOVERY_RETRY_MAX_S)
        self.recovering = None
        log.info("recovered %d of %d unfinished auctions from the journal", recovered, len(ids))
        return recovered

    async def _unfinished_ids(self) -> list[str]:
        """What to recover; read again, with back-off, while the journal is away (recovery
        must not end without having recovered, nor the server call itself ready)."""
        delay = RECOVERY_RETRY_S
        while True:
            try:
                return await self._journal.unfinished_ids()
            except LOAD_ERRORS as exc:
                log.warning("cannot list the unfinished auctions yet (%s); retrying in %.1f s",
                            exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECOVERY_RETRY_MAX_S)

    async def _recover_chunk(self, ids: list[str]) -> dict[str, bool | None]:
        """Each auction: True loaded and written here, False not ours (or refused, or gone),
        None to try again later."""
        outcomes: dict[str, bool | None] = {}
        mine: list[str] = []
        for auction_id in ids:
            if auction_id in self._rooms or auction_id in self._loading:
                outcomes[auction_id] = await self._recovered(self.get(auction_id))
                continue
            try:
                if self.cluster is not None and not await self.cluster.leases.acquire(auction_id):
                    outcomes[auction_id] = False  # another writes it; followed when needed here
                    continue
            except LOAD_ERRORS as exc:
                log.warning("cannot recover auction %s yet: %s", auction_id, exc,
                            extra={"auction_id": auction_id})
                outcomes[auction_id] = None
                continue
            mine.append(auction_id)
        loop = asyncio.get_running_loop()
        loading = {auction_id: loop.create_future() for auction_id in mine}
        for auction_id, future in loading.items():  # a get() meanwhile shares this load
            self._loading[auction_id] = future
            future.add_done_callback(lambda done, a=auction_id: self._loaded(a, done))
        reads = await asyncio.gather(
            *(snapshots.load(self._formats, self._journal, self._snapshots, a, durable=False)
              for a in mine),
            return_exceptions=True,
        )
        try:
            if mine:
                await self._journal.fence(mine)  # one proof for every read of the chunk
        except JournalError as exc:
            reads = [exc] * len(mine)
        for auction_id, read in zip(mine, reads, strict=True):
            future = loading[auction_id]
            if isinstance(read, BaseException):
                if isinstance(read, ChainBroken):
                    self._refuse(read)
                elif not isinstance(read, LOAD_ERRORS):
                    log.error("recovering auction %s failed", auction_id, exc_info=read,
                              extra={"auction_id": auction_id})
                future.set_exception(read)
                await self._release_lease(auction_id)
                outcomes[auction_id] = None if isinstance(read, LOAD_ERRORS) else False
                continue
            auction = None if read is None else self._built(read, writer=True)
            future.set_result(auction)
            outcomes[auction_id] = auction is not None
            if auction is not None:
                self._durable(auction, ())  # the listing (or a head) may have missed the last change
        return outcomes

    async def _recovered(self, getting) -> bool | None:
        try:
            auction = await getting
        except ChainBroken:
            return False
        except LOAD_ERRORS:
            return None
        return auction is not None and auction.writer

    async def _release_lease(self, auction_id: str) -> None:
        if self.cluster is not None:
            await self._release_quietly(auction_id)

    def _refuse(self, broken: ChainBroken) -> None:
        """Refused, not misread; logged once per finding (each later ask reads and checks again,
        so a journal an operator restored is served as soon as it verifies)."""
        if self.refused.get(broken.auction_id) != str(broken):
            log.error("auction %s refused: its journal failed verification: %s",
                      broken.auction_id, broken, extra={"auction_id": broken.auction_id})
        self.refused[broken.auction_id] = str(broken)
        metrics.AUCTIONS_REFUSED.set(len(self.refused))

    async def get(self, auction_id: str) -> Auction | None:
        """The auction, loaded from the journal the first time it is asked for (None if it has
        no journal). Concurrent asks for one auction share one load."""
        room = self._rooms.get(auction_id)
        if room is not None:
            return room
        loading = self._loading.get(auction_id)
        if loading is None:
            loading = asyncio.ensure_future(self._get_or_load(auction_id))
            self._loading[auction_id] = loading
            loading.add_done_callback(lambda done: self._loaded(auction_id, done))
        return await asyncio.shield(loading)  # an asker that gives up does not cancel the others'

    def _loaded(self, auction_id: str, done: asyncio.Future[Auction | None]) -> None:
        self._loading.pop(auction_id, None)
        if not done.cancelled():
            done.exception()  # retrieved: each asker got it already, or nobody is left to

    async def _get_or_load(self, auction_id: str) -> Auction | None:
        room = self._rooms.get(auction_id)
        if room is not None:
            return room
        writer = self.cluster is None or await self.cluster.leases.acquire(auction_id)
        leased = writer and self.cluster is not None
        try:
            room = await self._load(auction_id, writer=writer)
        except Exception as exc:  # not read, not proven durable, or broken: let another try
            if isinstance(exc, ChainBroken):
                self._refuse(exc)
            if leased:
                await self._release_quietly(auction_id)
            raise
        if room is None and leased:  # no such auction: nothing to write
            await self.cluster.leases.release(auction_id)
        if self.refused.pop(auction_id, None) is not None:  # it verifies (again): restored
            metrics.AUCTIONS_REFUSED.set(len(self.refused))
        return room

    async def _release_quietly(self, auction_id: str) -> None:
        try:
            await self.cluster.leases.release(auction_id)
        except Exception as exc:  # Redis away too: the lease expires on its own
            log.warning("could not release the lease of %s: %s", auction_id, exc,
                        extra={"auction_id": auction_id})

    async def _load(self, auction_id: str, *, writer: bool) -> Auction | None:
        """The auction from its newest good snapshot and the durable journal after it (the chain
        verified), written here or followed; None if it has no journal."""
        loaded = await snapshots.load(
            self._formats, self._journal, self._snapshots, auction_id, archives=self._archives
        )
        if loaded is None:
            return None
        auction = self._built(loaded, writer=writer)
        if not writer:
            await self.cluster.follow(auction)
        return auction

    def _built(self, loaded: snapshots.Loaded, *, writer: bool) -> Auction:
        auction = self._serve(
            loaded.format, loaded.state, loaded.log, writer=writer, head=loaded.head
        )
        auction.snapshot_seq = loaded.snapshot_seq
        return auction

    def _serve(
        self, fmt: Format, state: Any, log: EventLog, *, writer: bool, head: Chain | None = None
    ) -> Auction:
        auction = Auction(fmt, state, log, self._audience, head)
        auction.mode = self._room(auction) if writer else self._replica(auction)
        self._rooms[state.auction_id] = auction
        _LOADED[writer].inc()
        if writer:
            auction.mode.start()
            if self.cluster is not None:
                self.cluster.serve(auction)
        return auction

    def _room(self, auction: Auction) -> Room:
        return Room(auction, self._commits, self._now_ms, on_durable=self._durable)

    def _replica(self, auction: Auction) -> Replica:
        return Replica(auction, self.cluster.bus, fence=self._journal.fence)

    async def hold_from(self, auction: Auction, since: int) -> None:
        """Make ``auction`` hold its events after ``since`` again: a participant resumes from
        before the snapshot the auction was loaded from (its events are only in the journal).
        They are read back durably and must chain to the very entry the snapshot covered."""
        held = auction.log
        base, base_hash = held.base, held.base_hash
        if not 0 <= since < base:
            return
        entries = await self._journal.read(auction.auction_id, after_seq=since)
        entries = [(seq, data) for seq, data in entries if seq <= base]
        if since >= held.base:  # another resume brought them meanwhile
            return
        prev = announced_prev(entries[0][1]) if entries else ""
        fmt = auction.format
        _, events, head = from_journal({fmt.name: fmt}, auction.auction_id, entries,
                                       Chain(since, prev))
        if (head.seq, head.hash) != (base, base_hash):
            why = "does not match the snapshot the auction was loaded from"
            raise ChainBroken(auction.auction_id, base, why)
        held.prepend(events, since + 1, prev)

    async def promote(self, handle: Auction) -> None:
        """This process now holds the lease of a followed auction: catch up, then write it.

        The catch-up read is durable: its fence also covers everything the replica applied
        before it, so the new writer never builds on, nor answers from, what a crash could undo.
        If it fails (``JournalUnavailable``), the handle keeps its replica and nothing is written.
        """
        follower = handle.mode
        if not isinstance(follower, Replica):
            return
        entries = await self._journal.read(handle.auction_id, after_seq=follower.state.seq)
        follower.apply(entries)
        room = self._room(handle)
        await follower.stop()
        handle.mode = room
        _LOADED[False].dec()
        _LOADED[True].inc()
        room.start()
        log.info("took over auction %s at seq %d", handle.auction_id, room.state.seq,
                 extra={"auction_id": handle.auction_id})

    async def demote(self, handle: Auction) -> None:
        """This process lost the lease of an auction it wrote: stop writing, follow it."""
        room = handle.mode
        if not isinstance(room, Room):
            return
        await room.stop()
        handle.mode = self._replica(handle)
        _LOADED[True].dec()
        _LOADED[False].inc()
        log.warning("lost the lease of auction %s at seq %d: following it", handle.auction_id,
                    room.state.seq, extra={"auction_id": handle.auction_id})

    async def create(
        self, actor: Actor, config: Any, auction_id: str | None = None
    ) -> tuple[Auction | None, Result]:
        """A new event of the format whose configuration ``config`` is, written here. An
        ``auction_id`` given (one derived from another event's, as a tender's follow-on auction)
        must be new: the caller reads it first (``get``), and one created meanwhile here, or
        whose lease another process holds, is refused rather than written twice."""
        fmt = self._by_config[type(config)]
        auction_id = auction_id or self._id_factory()
        if auction_id in self._rooms or auction_id in self._loading:
            return None, Result(rejection=Rejection(reason=Reason.ALREADY_EXISTS,
                                                    detail=f"{auction_id} exists"))
        if self.cluster is not None and not await self.cluster.leases.acquire(auction_id):
            return None, Result(failure=Failure.WRITER_UNAVAILABLE)
        if auction_id in self._rooms:  # created here while the lease was asked for
            return None, Result(rejection=Rejection(reason=Reason.ALREADY_EXISTS,
                                                    detail=f"{auction_id} exists"))
        room = self._serve(fmt, fmt.new_state(auction_id), EventLog(), writer=True)
        result = await room.submit(fmt.create(actor, auction_id, config))
        if not result.ok:
            del self._rooms[auction_id]
            _LOADED[True].dec()
            await room.stop()
            if self.cluster is not None:
                self.cluster.unserve(room)
                await self.cluster.leases.release(auction_id)
            return None, result
        log.info("auction %s created (%s)", auction_id, fmt.name, extra={"auction_id": auction_id})
        return room, result

    def _durable(self, auction: Auction, events: Sequence[Any]) -> None:
        """After a durable write of ``events`` (once their senders were answered): a tree head
        when one is due (``HeadSigner``, in the background), a snapshot when one is due; keep
        the listing in step, and mark a finished auction so that it is not replayed at the next
        start. All happen after the journal, so a crash between them is repaired by the replay
        at start (``recover`` notes and lists again)."""
        if self._heads is not None:
            self._heads.noted(auction, events)
        fmt, state = auction.format, auction.state
        if snapshots.due(self._snapshot_every, state.seq, auction.snapshot_seq):
            self._snapshot_soon(auction)
        summary = fmt.summary(state)
        finished = fmt.finished(state)
        if summary == auction.listed_as and not finished:
            return
        auction.listed_as = summary
        entry = None
        if summary is not None:
            entry = ListingEntry(
                auction_id=state.auction_id,
                format=fmt.name,
                title=summary.title,
                buyer=summary.buyer,
                suppliers=summary.suppliers,
                state=summary.state,
                created_at=summary.created_at,
                updated_at=summary.updated_at,
                seq=state.seq,
            )
        auction.listing = self._spawn(self._list(auction, entry, finished))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Work after a durable write that nobody waits for, but ``close`` does."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _snapshot_soon(self, auction: Auction) -> None:
        """A due snapshot waits for a quiet moment: encoding a big state holds the event loop
        (tens of ms for a hundred thousand bids), which must not land in the middle of a hot
        close. It is taken once the auction has had no write for ``SNAPSHOT_QUIET_S``, or at the
        latest ``SNAPSHOT_MAX_DELAY_S`` after it fell due (so a restart never replays more than
        that much of a busy auction beyond its last snapshot). Called after every write while
        one is due: it only notes the time, the timer looks when it fires."""
        if self._snapshots is None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        auction.snapshot_last_write = now
        if auction.snapshot_due is None:
            auction.snapshot_due = now
            auction.snapshot_timer = loop.call_later(
                SNAPSHOT_QUIET_S, self._snapshot_if_quiet, auction
            )
        elif now - auction.snapshot_due >= SNAPSHOT_MAX_DELAY_S:
            self._snapshot(auction)

    def _snapshot_if_quiet(self, auction: Auction) -> None:
        loop = asyncio.get_running_loop()
        quiet_for = loop.time() - auction.snapshot_last_write
        if quiet_for >= SNAPSHOT_QUIET_S:
            self._snapshot(auction)
        else:
            auction.snapshot_timer = loop.call_later(
                SNAPSHOT_QUIET_S - quiet_for, self._snapshot_if_quiet, auction
            )

    def _snapshot(self, auction: Auction) -> None:
        """Encoded now (the state moves on), saved in the background: a snapshot that does not
        land only makes the next load replay more."""
        if auction.snapshot_timer is not None:
            auction.snapshot_timer.cancel()
        auction.snapshot_due = auction.snapshot_timer = None
        if not auction.writer or self._rooms.get(auction.auction_id) is not auction:
            return  # handed over or closed meanwhile
        seq = auction.state.seq
        data = snapshots.take(auction.format, auction.state, auction.head, auction.log.last_at)
        auction.snapshot_seq = seq

        async def save() -> None:
            try:
                await self._snapshots.save(auction.auction_id, seq, data)
            except Exception as exc:
                log.warning("could not save the snapshot of %s at seq %d: %s",
                            auction.auction_id, seq, exc, extra={"auction_id": auction.auction_id})

        self._spawn(save())

    async def _list(self, auction: Auction, entry: ListingEntry | None, finished: bool) -> None:
        try:
            if entry is not None:
                await self.listing.put(entry)
            if finished:
                await self._journal.mark_finished(auction.auction_id)
        except Exception as exc:  # the next change, or the replay at the next start, repairs it
            auction.listed_as = None
            log.warning("could not list %s: %s", auction.auction_id, exc,
                        extra={"auction_id": auction.auction_id})

    async def close(self) -> None:
        for room in list(self._rooms.values()):
            if room.snapshot_timer is not None:
                room.snapshot_timer.cancel()
            room.audience.shut_down()
            await room.stop()
            _LOADED[room.writer].dec()
        metrics.RECOVERY_PENDING.set(0)
        if self._heads is not None:
            await self._heads.close()  # after the rooms: their last writes are noted
        for task in list(self._background):
            await task
