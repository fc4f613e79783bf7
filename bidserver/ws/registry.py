"""The registry of rooms: creates auctions, rebuilds them from the journal, and finds them.

At start every auction the journal does not mark finished is rebuilt by replaying its stream, and
its timers resume (a lot whose end passed while the server was down closes on the first tick).
Finished auctions are loaded on demand, so reading an old auction's results still works.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterator

from ..engine import AuctionState, replay
from ..engine.commands import CreateAuction
from ..engine.events import decode_event
from ..engine.values import Actor, AuctionConfig
from ..store.journal import Journal
from .. import wire
from .room import Result, Room

log = logging.getLogger(__name__)


def new_auction_id() -> str:
    return "a" + secrets.token_hex(8)


class Rooms:
    def __init__(
        self,
        journal: Journal,
        now_ms: Callable[[], int],
        *,
        id_factory: Callable[[], str] = new_auction_id,
        fanout_interval_s: float = 0.05,
    ) -> None:
        self._fanout_interval_s = fanout_interval_s
        self._journal = journal
        self._now_ms = now_ms
        self._id_factory = id_factory
        self._rooms: dict[str, Room] = {}
        self._load_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    def __iter__(self) -> Iterator[Room]:
        return iter(list(self._rooms.values()))

    def __len__(self) -> int:
        return len(self._rooms)

    async def recover(self) -> int:
        """Rebuild every unfinished auction from its stream; returns how many."""
        ids = await self._journal.unfinished_ids()
        for auction_id in sorted(ids):
            await self._load(auction_id)
        log.info("recovered %d unfinished auctions from the journal", len(ids))
        return len(ids)

    async def get(self, auction_id: str) -> Room | None:
        room = self._rooms.get(auction_id)
        if room is not None:
            return room
        async with self._load_lock:
            room = self._rooms.get(auction_id)
            if room is None:
                room = await self._load(auction_id)
        return room

    async def _load(self, auction_id: str) -> Room | None:
        entries = await self._journal.read(auction_id)
        if not entries:
            return None
        events = [decode_event(data) for _, data in entries]
        room = self._make_room(replay(auction_id, events), events)
        return room

    def _make_room(self, state: AuctionState, events: list) -> Room:
        room = Room(
            state,
            events,
            self._journal,
            self._now_ms,
            on_finished=self._finished,
            fanout_interval_s=self._fanout_interval_s,
        )
        self._rooms[state.auction_id] = room
        room.start()
        return room

    async def create(self, actor: Actor, config: AuctionConfig) -> tuple[Room | None, Result]:
        auction_id = self._id_factory()
        room = self._make_room(AuctionState.new(auction_id), [])
        result = await room.submit(
            CreateAuction(actor=actor, at=0, auction_id=auction_id, config=config)
        )
        if not result.ok:
            del self._rooms[auction_id]
            await room.stop()
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
