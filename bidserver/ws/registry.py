"""The registry of rooms: creates auctions, rebuilds them from the journal, and finds them.

At start every auction the journal does not mark finished is rebuilt by replaying its stream, and
its timers resume (a lot whose end passed while the server was down closes on the first tick).
Finished auctions are loaded on demand, so reading an old auction's results still works.

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

from .. import wire
from ..engine import AuctionState, replay
from ..engine.commands import Command, CreateAuction, PlaceBid
from ..engine.events import Event, decode_event
from ..engine.values import Actor, AuctionConfig
from ..store.group_commit import GroupCommit
from ..store.journal import Journal
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
        self._load_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self.cluster = cluster

    def __iter__(self) -> Iterator[Auction]:
        return iter(list(self._rooms.values()))

    def __len__(self) -> int:
        return len(self._rooms)

    async def recover(self) -> int:
        """Rebuild every unfinished auction this process may write; returns how many."""
        ids = await self._journal.unfinished_ids()
        taken = 0
        for auction_id in sorted(ids):
            if self.cluster is not None and not await self.cluster.leases.acquire(auction_id):
                continue  # another process writes it; followed when someone here needs it
            await self._load(auction_id, writer=True)
            taken += 1
        log.info("recovered %d of %d unfinished auctions from the journal", taken, len(ids))
        return taken

    async def get(self, auction_id: str) -> Auction | None:
        room = self._rooms.get(auction_id)
        if room is not None:
            return room
        async with self._load_lock:
            room = self._rooms.get(auction_id)
            if room is None:
                writer = self.cluster is None or await self.cluster.leases.acquire(auction_id)
                room = await self._load(auction_id, writer=writer)
                if room is None and writer and self.cluster is not None:
                    await self.cluster.leases.release(auction_id)
        return room

    async def _load(self, auction_id: str, *, writer: bool) -> Auction | None:
        entries = await self._journal.read(auction_id)
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
        handle.impl = self._room(state, events, handle) if writer else FollowerRoom(
            state, events, self.cluster.bus, handle.broadcaster
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

    async def promote(self, handle: Auction) -> None:
        """This process now holds the lease of a followed auction: catch up, then write it."""
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
        handle.impl = FollowerRoom(room.state, room.log, self.cluster.bus, handle.broadcaster)
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
