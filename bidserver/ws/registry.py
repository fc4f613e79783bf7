"""The registry of rooms: creates auctions, rebuilds them from the journal, and finds them.

At start every auction the journal does not mark finished is rebuilt by replaying its stream, and
its timers resume (a lot whose end passed while the server was down closes on the first tick).
Finished auctions are loaded on demand, so reading an old auction's results still works.

Every stream read here is shown and answered from afterwards, so it must be durable, not merely
present (see ``Journal.read``): lazy loads and take-overs use durable reads; recovery reads every
stream first and proves them all with one ``fence`` (one fsync wait at start, not one per
auction). Lazy loads of different auctions do not wait for each other (each may wait for a fence).

Each auction is served through a stable ``Auction`` handle whose implementation is the ``Room``
when this process writes the auction, or a ``FollowerRoom`` when another process does (with a
``Cluster``: several processes on one Redis). Sockets and their audiences belong to the handle's
broadcaster, so they stay connected when this process takes an auction over or hands it back.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from .. import wire
from ..engine import AuctionState, replay
from ..engine.commands import Command, CreateAuction, PlaceBid
from ..engine.events import Event, decode_event
from ..engine.values import Actor, AuctionConfig
from ..store.group_commit import GroupCommit
from ..store.journal import Journal, JournalError
from .fanout import Broadcaster
from .follower import FollowerRoom
from .room import Result, Room

if TYPE_CHECKING:
    from .cluster import Cluster

log = logging.getLogger(__name__)


def new_auction_id() -> str:
    return "a" + secrets.token_hex(8)


class Auction:
    """One auction as this process serves it: written here (``Room``) or followed."""

    def __init__(self, impl: Room | FollowerRoom, broadcaster: Broadcaster) -> None:
        self.impl = impl
        self.broadcaster = broadcaster

    @property
    def auction_id(self) -> str:
        return self.impl.auction_id

    @property
    def state(self) -> AuctionState:
        return self.impl.state

    @property
    def log(self) -> list[Event]:
        return self.impl.log

    @property
    def writer(self) -> bool:
        return isinstance(self.impl, Room)

    async def submit(self, command: Command) -> Result:
        return await self.impl.submit(command)

    def submit_nowait(self, command: Command, callback: Callable[[Command, Result], None]) -> None:
        self.impl.submit_nowait(command, callback)

    def bid_result(self, command: PlaceBid, result: Result) -> wire.BidResult:
        return self.impl.bid_result(command, result)

    async def stop(self) -> None:
        await self.impl.stop()


# What ``Rooms.get`` raises when the auction must be read and the store is away (the journal, or
# Redis itself for the cluster's leases): "unavailable, retry later" at every edge, not a bug.
LOAD_ERRORS = (JournalError, RedisError)


class Rooms:
    def __init__(
        self,
        journal: Journal,
        now_ms: Callable[[], int],
        *,
        id_factory: Callable[[], str] = new_auction_id,
        fanout_interval_s: float = 0.05,
        cluster: Cluster | None = None,
    ) -> None:
        self._fanout_interval_s = fanout_interval_s
        self._journal = journal
        self._commits = GroupCommit(journal)  # every room's appends: one round trip per turn
        self._now_ms = now_ms
        self._id_factory = id_factory
        self._rooms: dict[str, Auction] = {}
        self._loading: dict[str, asyncio.Future[Auction | None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.cluster = cluster

    def __iter__(self) -> Iterator[Auction]:
        return iter(list(self._rooms.values()))

    def __len__(self) -> int:
        return len(self._rooms)

    async def recover(self) -> int:
        """Rebuild every unfinished auction this process may write; returns how many.

        Raises ``JournalUnavailable`` if what was read cannot be proven durable: a server must
        not start writing (and showing) auctions on a state a crash of Redis could still undo.
        """
        ids = await self._journal.unfinished_ids()
        read: list[tuple[str, list[tuple[int, bytes]]]] = []
        for auction_id in sorted(ids):
            if self.cluster is not None and not await self.cluster.leases.acquire(auction_id):
                continue  # another process writes it; followed when someone here needs it
            read.append((auction_id, await self._journal.read(auction_id, durable=False)))
        if read:
            await self._journal.fence()  # one proof for every stream read above
        for auction_id, entries in read:
            await self._build(auction_id, entries, writer=True)
        log.info("recovered %d of %d unfinished auctions from the journal", len(read), len(ids))
        return len(read)

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
        except Exception:  # not read, or not proven durable: let another process try
            if leased:
                await self._release_quietly(auction_id)
            raise
        if room is None and leased:  # no such auction: nothing to write
            await self.cluster.leases.release(auction_id)
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
        events = [decode_event(data) for _, data in entries]
        state = replay(auction_id, events)
        handle = self._handle(state, events, writer=writer)
        if not writer:
            await self.cluster.follow(handle)
        return handle

    def _handle(self, state: AuctionState, events: list[Event], *, writer: bool) -> Auction:
        handle = Auction(None, None)  # type: ignore[arg-type]
        handle.broadcaster = Broadcaster(
            self._now_ms,
            lambda: (handle.impl.state, handle.impl.log),
            interval_s=self._fanout_interval_s,
            activity=lambda: handle.impl.decided,
        )
        handle.impl = self._room(state, events, handle) if writer else self._follower(
            state, events, handle
        )
        self._rooms[state.auction_id] = handle
        if writer:
            handle.impl.start()
            if self.cluster is not None:
                self.cluster.serve(handle)
        return handle

    def _room(self, state: AuctionState, events: list[Event], handle: Auction) -> Room:
        return Room(
            state,
            events,
            self._commits,
            self._now_ms,
            on_finished=self._finished,
            fanout_interval_s=self._fanout_interval_s,
            broadcaster=handle.broadcaster,
        )

    def _follower(self, state: AuctionState, events: list[Event], handle: Auction) -> FollowerRoom:
        return FollowerRoom(
            state, events, self.cluster.bus, handle.broadcaster, fence=self._journal.fence
        )

    async def promote(self, handle: Auction) -> None:
        """This process now holds the lease of a followed auction: catch up, then write it.

        The catch-up read is durable: its fence also covers everything the replica applied
        before it, so the new writer never builds on, nor answers from, what a crash could undo.
        If it fails (``JournalUnavailable``), the handle keeps its replica and nothing is written.
        """
        follower = handle.impl
        if not isinstance(follower, FollowerRoom):
            return
        entries = await self._journal.read(handle.auction_id, after_seq=follower.state.seq)
        follower.apply(entries)
        room = self._room(follower.state, follower.log, handle)
        await follower.stop()
        handle.impl = room
        room.start()
        log.info("took over auction %s at seq %d", handle.auction_id, room.state.seq)

    async def demote(self, handle: Auction) -> None:
        """This process lost the lease of an auction it wrote: stop writing, follow it."""
        room = handle.impl
        if not isinstance(room, Room):
            return
        await room.stop()
        handle.impl = self._follower(room.state, room.log, handle)
        log.warning("lost the lease of auction %s at seq %d: following it", handle.auction_id,
                    room.state.seq)

    async def create(self, actor: Actor, config: AuctionConfig) -> tuple[Auction | None, Result]:
        auction_id = self._id_factory()
        if self.cluster is not None and not await self.cluster.leases.acquire(auction_id):
            return None, Result(failure=wire.Failure.WRITER_UNAVAILABLE)
        room = self._handle(AuctionState.new(auction_id), [], writer=True)
        result = await room.submit(
            CreateAuction(actor=actor, at=0, auction_id=auction_id, config=config)
        )
        if not result.ok:
            del self._rooms[auction_id]
            await room.stop()
            if self.cluster is not None:
                self.cluster.unserve(room)
                await self.cluster.leases.release(auction_id)
            return None, result
        return room, result

    def _finished(self, room: Room) -> None:
        task = asyncio.get_running_loop().create_task(self._mark_finished(room.auction_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _mark_finished(self, auction_id: str) -> None:
        try:
            await self._journal.mark_finished(auction_id)
        except Exception as exc:  # only costs a replay at the next start
            log.warning("could not mark %s finished: %s", auction_id, exc)

    async def close(self) -> None:
        for room in list(self._rooms.values()):
            room.broadcaster.close_all(
                wire.failure_close_code(wire.Failure.SHUTTING_DOWN), wire.Failure.SHUTTING_DOWN
            )
            await room.stop()
        for task in list(self._background):
            await task
