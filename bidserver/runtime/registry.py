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
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from redis.exceptions import RedisError

from ..engine.format import Format
from ..engine.values import Actor
from ..failures import Failure
from ..store.group_commit import GroupCommit
from ..store.journal import Journal, JournalError
from ..store.listing import Listing, ListingEntry, MemoryListing
from .audience import AudienceFactory, no_audience
from .auction import Auction
from .cluster import Cluster
from .journaling import Chain, ChainBroken, from_journal
from .outcome import Result
from .replica import Replica
from .room import Room

log = logging.getLogger(__name__)


def new_auction_id() -> str:
    return "a" + secrets.token_hex(8)


# What ``Rooms.get`` raises when the auction must be read and the store is away (the journal, or
# Redis itself for the cluster's leases): "unavailable, retry later" at every edge, not a bug.
LOAD_ERRORS = (JournalError, RedisError)
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
        id_factory: Callable[[], str] = new_auction_id,
        cluster: Cluster | None = None,
    ) -> None:
        self.listing = listing if listing is not None else MemoryListing()
        self._formats = dict(formats)
        self._by_config = {fmt.config_type: fmt for fmt in self._formats.values()}
        self._audience = audience
        self._journal = journal
        self._commits = GroupCommit(journal)  # every room's appends: one round trip per turn
        self._now_ms = now_ms
        self._id_factory = id_factory
        self._rooms: dict[str, Auction] = {}
        self._loading: dict[str, asyncio.Future[Auction | None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.cluster = cluster
        self.refused: dict[str, str] = {}  # auction id -> why its journal was refused

    def __iter__(self) -> Iterator[Auction]:
        return iter(list(self._rooms.values()))

    def __len__(self) -> int:
        return len(self._rooms)

    async def recover(self) -> int:
        """Rebuild every unfinished auction this process may write; returns how many.

        Raises ``JournalUnavailable`` if what was read cannot be proven durable: a server must
        not start writing (and showing) auctions on a state a crash of Redis could still undo.
        An auction whose journal fails verification (``ChainBroken``) is refused, with an error
        in the log naming the entry, and listed in ``refused``; the others start.
        """
        ids = await self._journal.unfinished_ids()
        read: list[tuple[str, list[tuple[int, bytes]]]] = []
        for auction_id in sorted(ids):
            if self.cluster is not None and not await self.cluster.leases.acquire(auction_id):
                continue  # another process writes it; followed when someone here needs it
            read.append((auction_id, await self._journal.read(auction_id, durable=False)))
        if read:
            await self._journal.fence()  # one proof for every stream read above
        recovered = 0
        for auction_id, entries in read:
            try:
                auction = await self._build(auction_id, entries, writer=True)
            except ChainBroken as broken:
                self._refuse(broken)
                if self.cluster is not None:
                    await self._release_quietly(auction_id)
                continue
            recovered += 1
            self._durable(auction)  # the listing may have missed the last change before a crash
        log.info("recovered %d of %d unfinished auctions from the journal", recovered, len(ids))
        return recovered

    def _refuse(self, broken: ChainBroken) -> None:
        """Refused, not misread; logged once per finding (each later ask reads and checks again,
        so a journal an operator restored is served as soon as it verifies)."""
        if self.refused.get(broken.auction_id) != str(broken):
            log.error("auction %s refused: its journal failed verification: %s",
                      broken.auction_id, broken)
        self.refused[broken.auction_id] = str(broken)

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
        self.refused.pop(auction_id, None)  # it verifies (again): restored
        return room

    async def _release_quietly(self, auction_id: str) -> None:
        try:
            await self.cluster.leases.release(auction_id)
        except Exception as exc:  # Redis away too: the lease expires on its own
            log.warning("could not release the lease of %s: %s", auction_id, exc)

    async def _load(self, auction_id: str, *, writer: bool) -> Auction | None:
        entries = await self._journal.read(auction_id)  # durable: the default
        return await self._build(auction_id, entries, writer=writer)

    async def _build(
        self, auction_id: str, entries: list[tuple[int, bytes]], *, writer: bool
    ) -> Auction | None:
        """The auction from its durable journal entries, written here or followed."""
        if not entries:
            return None
        fmt, events, head = from_journal(self._formats, auction_id, entries)  # verifies the chain
        auction = self._serve(fmt, fmt.replay(auction_id, events), events, writer=writer, head=head)
        if not writer:
            await self.cluster.follow(auction)
        return auction

    def _serve(
        self, fmt: Format, state: Any, events: list[Any], *, writer: bool, head: Chain | None = None
    ) -> Auction:
        auction = Auction(fmt, state, events, self._audience, head)
        auction.mode = self._room(auction) if writer else self._replica(auction)
        self._rooms[state.auction_id] = auction
        if writer:
            auction.mode.start()
            if self.cluster is not None:
                self.cluster.serve(auction)
        return auction

    def _room(self, auction: Auction) -> Room:
        return Room(auction, self._commits, self._now_ms, on_durable=self._durable)

    def _replica(self, auction: Auction) -> Replica:
        return Replica(auction, self.cluster.bus, fence=self._journal.fence)

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
        room.start()
        log.info("took over auction %s at seq %d", handle.auction_id, room.state.seq)

    async def demote(self, handle: Auction) -> None:
        """This process lost the lease of an auction it wrote: stop writing, follow it."""
        room = handle.mode
        if not isinstance(room, Room):
            return
        await room.stop()
        handle.mode = self._replica(handle)
        log.warning("lost the lease of auction %s at seq %d: following it", handle.auction_id,
                    room.state.seq)

    async def create(self, actor: Actor, config: Any) -> tuple[Auction | None, Result]:
        """A new event of the format whose configuration ``config`` is, written here."""
        fmt = self._by_config[type(config)]
        auction_id = self._id_factory()
        if self.cluster is not None and not await self.cluster.leases.acquire(auction_id):
            return None, Result(failure=Failure.WRITER_UNAVAILABLE)
        room = self._serve(fmt, fmt.new_state(auction_id), [], writer=True)
        result = await room.submit(fmt.create(actor, auction_id, config))
        if not result.ok:
            del self._rooms[auction_id]
            await room.stop()
            if self.cluster is not None:
                self.cluster.unserve(room)
                await self.cluster.leases.release(auction_id)
            return None, result
        return room, result

    def _durable(self, auction: Auction) -> None:
        """After a durable write: keep the listing in step, and mark a finished auction so that
        it is not replayed at the next start. Both happen after the journal, in this order, so a
        crash between them is repaired by the replay at start (``recover`` lists again)."""
        fmt, state = auction.format, auction.state
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
                updated_at=auction.log[-1].at if auction.log else summary.created_at,
                seq=state.seq,
            )
        task = asyncio.get_running_loop().create_task(self._list(auction, entry, finished))
        auction.listing = task
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _list(self, auction: Auction, entry: ListingEntry | None, finished: bool) -> None:
        try:
            if entry is not None:
                await self.listing.put(entry)
            if finished:
                await self._journal.mark_finished(auction.auction_id)
        except Exception as exc:  # the next change, or the replay at the next start, repairs it
            auction.listed_as = None
            log.warning("could not list %s: %s", auction.auction_id, exc)

    async def close(self) -> None:
        for room in list(self._rooms.values()):
            room.audience.shut_down()
            await room.stop()
        for task in list(self._background):
            await task
