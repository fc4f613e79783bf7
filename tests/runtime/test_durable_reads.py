"""What is read back from the journal and then shown or answered must be durable, not merely
stored: the room's reload after a write with an unknown outcome, recovery at start, lazy loads and
take-overs (``bidserver.runtime.room``, ``bidserver.runtime.registry``). On the memory twin (its
``fences_fail`` hook plays a WAITAOF that cannot confirm) and on a real WAITAOF server."""

from __future__ import annotations

import asyncio

import pytest

from bidserver import wire
from bidserver.engine.reverse import replay, state_bytes
from bidserver.engine.reverse.commands import CreateAuction, InviteSupplier, PlaceBid, StartAuction
from bidserver.store.journal import JournalUnavailable, MemoryJournal
from bidserver.store.redis_journal import RedisJournal
from bidserver.engine.formats import FORMATS
from bidserver.runtime import registry
from bidserver.runtime.registry import Rooms
from bidserver.runtime.room import Room

from .support import BUYER, S1, clock, config, events_of, live_audience, replica, writer

CONFIG = config()



def bid(amount: int, bid_id: str) -> PlaceBid:
    return PlaceBid(actor=S1, at=0, lot_id="L1", amount=amount, bid_id=bid_id)


async def open_room(journal, auction_id: str = "a1") -> Room:
    room = writer(journal, clock, auction_id=auction_id, interval_s=0.0)
    room.start()
    for command in (
        CreateAuction(actor=BUYER, at=0, auction_id=auction_id, config=CONFIG),
        InviteSupplier(actor=BUYER, at=0, supplier="s1"),
        StartAuction(actor=BUYER, at=0),
    ):
        assert (await room.submit(command)).ok
    return room


async def journal_with_auctions(*auction_ids: str) -> MemoryJournal:
    journal = MemoryJournal()
    for auction_id in auction_ids:
        room = await open_room(journal, auction_id)
        assert (await room.submit(bid(9_000, f"{auction_id}-b1"))).ok
        await room.stop()
    return journal


def answer(room: Room, command: PlaceBid, result) -> wire.BidResult:
    return wire.bid_result(command.bid_id, result)


# ---------------------------------------------------------------- the room's reload


async def test_a_landed_write_is_not_answered_accepted_before_it_is_proven_durable():
    journal = MemoryJournal()
    room = await open_room(journal)
    journal.fail_after_write = 1  # the write lands, its confirmation is lost ...
    journal.fences_fail = True  # ... and its durability cannot be proven yet
    lost = await room.submit(bid(9_000, "b1"))
    assert lost.failure is wire.Failure.JOURNAL_UNAVAILABLE

    resent = await room.submit(bid(9_000, "b1"))
    assert resent.failure is wire.Failure.JOURNAL_UNAVAILABLE  # not "accepted, duplicate"
    assert "b1" not in room.state.bids  # nor shown

    journal.fences_fail = False
    resent = await room.submit(bid(9_000, "b1"))
    result = answer(room, bid(9_000, "b1"), resent)
    assert (result.status, result.duplicate) == ("accepted", True)
    await room.stop()


async def test_on_a_waitaof_server_a_write_whose_fsync_is_unconfirmed_is_not_trusted(
    waitaof_server,
):
    """Real server: WAITAOF fails (AOF switched off under the journal), so the bid's write lands
    in memory only. The resend must not be told "accepted" until its durability is proven."""
    journal = RedisJournal(waitaof_server.url, waitaof_timeout_ms=500)
    assert await journal.connect() == "waitaof"
    room = await open_room(journal)
    await journal.redis.config_set("appendonly", "no")

    lost = await room.submit(bid(9_000, "b1"))
    assert lost.failure is wire.Failure.JOURNAL_UNAVAILABLE
    landed = await journal.redis.xlen(journal.stream_key("a1"))
    assert landed == room.state.seq + 1  # it did land, in memory
    resent = await room.submit(bid(9_000, "b1"))
    assert resent.failure is wire.Failure.JOURNAL_UNAVAILABLE
    assert "b1" not in room.state.bids

    await journal.redis.config_set("appendonly", "yes")  # fsyncs resume (after a rewrite)
    async with asyncio.timeout(15):
        while (resent := await room.submit(bid(9_000, "b1"))).failure is not None:
            await asyncio.sleep(0.05)  # poll interval while the AOF rewrite completes
    result = answer(room, bid(9_000, "b1"), resent)
    assert (result.status, result.duplicate) == ("accepted", True)
    await room.stop()
    await journal.close()


# ---------------------------------------------------------------- the registry


async def test_recovery_proves_every_stream_it_read_with_one_fence():
    journal = await journal_with_auctions("a1", "a2", "a3")
    fences = journal.fence_calls
    rooms = Rooms(journal, clock, FORMATS, audience=live_audience(clock))
    assert await rooms.recover() == 3
    assert journal.fence_calls == fences + 1  # one proof for all of them, not one per auction
    assert {room.auction_id for room in rooms} == {"a1", "a2", "a3"}
    await rooms.close()


async def test_recovery_that_cannot_prove_durability_starts_nothing_until_it_can(monkeypatch):
    monkeypatch.setattr(registry, "RECOVERY_RETRY_S", 0.01)  # the back-off's first wait
    journal = await journal_with_auctions("a1", "a2")
    journal.fences_fail = True
    rooms = Rooms(journal, clock, FORMATS, audience=live_audience(clock))
    recovery = asyncio.ensure_future(rooms.recover())
    fences = journal.fence_calls
    async with asyncio.timeout(10):
        while journal.fence_calls < fences + 2:  # refused, and tried again
            await asyncio.sleep(0.005)
    assert len(rooms) == 0 and rooms.recovering == {"done": 0, "of": 2}
    with pytest.raises(JournalUnavailable):  # nor served on demand
        await rooms.get("a1")
    journal.fences_fail = False
    assert await asyncio.wait_for(recovery, 10) == 2
    assert {room.auction_id for room in rooms} == {"a1", "a2"} and rooms.recovering is None
    await rooms.close()


async def test_a_lazy_load_is_a_durable_read():
    journal = await journal_with_auctions("a1")
    await journal.mark_finished("a1")  # finished: loaded on demand
    rooms = Rooms(journal, clock, FORMATS, audience=live_audience(clock))
    assert await rooms.recover() == 0
    journal.fences_fail = True
    with pytest.raises(JournalUnavailable):
        await rooms.get("a1")
    assert len(rooms) == 0
    journal.fences_fail = False
    room = await rooms.get("a1")
    assert room is not None and "a1-b1" in room.state.bids
    await rooms.close()


class GatedFences(MemoryJournal):
    """Fences wait for the test (an fsync that takes its time)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.waiting = 0

    async def fence(self, auction_ids=None) -> None:
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        await super().fence(auction_ids)


async def test_lazy_loads_of_different_auctions_do_not_wait_for_each_other():
    journal = GatedFences()
    for auction_id in ("a1", "a2"):
        room = await open_room(journal, auction_id)
        await room.stop()
    rooms = Rooms(journal, clock, FORMATS, audience=live_audience(clock))
    journal.gate.clear()
    first = asyncio.ensure_future(rooms.get("a1"))
    again = asyncio.ensure_future(rooms.get("a1"))  # the same auction: shares the first load
    async with asyncio.timeout(5):
        while journal.waiting < 1:
            await asyncio.sleep(0)
    second = asyncio.ensure_future(rooms.get("a2"))
    async with asyncio.timeout(5):
        while journal.waiting < 2:  # a2's load reached its own fence while a1's waits
            await asyncio.sleep(0)
    assert journal.waiting == 2 and not first.done()
    journal.gate.set()
    a1, a1_again, a2 = await asyncio.gather(first, again, second)
    assert a1 is a1_again and a2.auction_id == "a2"
    await rooms.close()


async def test_a_take_over_writes_only_on_a_proven_state():
    journal = await journal_with_auctions("a1")
    stored = events_of(await journal.read("a1"))
    rooms = Rooms(journal, clock, FORMATS, audience=live_audience(clock))
    behind = (await journal.read("a1"))[:-1]  # the replica has not seen the last bid yet
    follower = replica(clock, None, journal.fence, entries=behind)  # no commands forwarded here
    handle = follower.auction

    journal.fences_fail = True
    with pytest.raises(JournalUnavailable):
        await rooms.promote(handle)
    assert handle.mode is follower and "a1-b1" not in follower.state.bids

    journal.fences_fail = False
    await rooms.promote(handle)
    assert isinstance(handle.mode, Room) and "a1-b1" in handle.state.bids
    assert state_bytes(handle.state) == state_bytes(replay("a1", stored))
    await handle.stop()
