"""A room's wait for the journal is bounded (``GroupCommit(timeout_s=...)``): a write that does
not return in time is answered ``journal_unavailable``, never "accepted"; if it lands later, the
room takes it from the journal before deciding anything else, so the resend of the same bid id is
answered with the original result and the auction never diverges from its journal."""

from __future__ import annotations

import asyncio

from bidserver import wire
from bidserver.engine.reverse import replay, state_bytes
from bidserver.engine.reverse.commands import CreateAuction, InviteSupplier, PlaceBid, StartAuction
from bidserver.runtime.room import Room
from bidserver.store.group_commit import GroupCommit
from bidserver.store.journal import MemoryJournal

from .support import BUYER, S1, S2, clock, config, events_of, writer

BOUND_S = 0.05


class LateJournal(MemoryJournal):
    """While ``gate`` is closed, a write is sent but lands only once the test opens it: the
    caller's giving up does not stop it (as bytes already on their way to Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()

    async def append_many(self, requests):
        if self.gate.is_set():
            return await super().append_many(requests)
        return await asyncio.shield(self._late(requests))

    async def _late(self, requests):
        await self.gate.wait()
        return await super().append_many(requests)


async def _open(journal: LateJournal) -> Room:
    room = writer(GroupCommit(journal, timeout_s=BOUND_S), clock, auction_id="a1")
    room.start()
    for command in (
        CreateAuction(actor=BUYER, at=0, auction_id="a1", config=config()),
        InviteSupplier(actor=BUYER, at=0, supplier="s1"),
        InviteSupplier(actor=BUYER, at=0, supplier="s2"),
        StartAuction(actor=BUYER, at=0),
    ):
        assert (await room.submit(command)).ok
    return room


def bid(actor, amount: int, bid_id: str) -> PlaceBid:
    return PlaceBid(actor=actor, at=0, lot_id="L1", amount=amount, bid_id=bid_id)


async def test_a_write_that_lands_after_the_bound_is_answered_unavailable_then_found():
    journal = LateJournal()
    room = await _open(journal)
    durable_seq = room.state.seq
    journal.gate.clear()
    loop = asyncio.get_running_loop()
    started = loop.time()
    late = await room.submit(bid(S1, 9_000, "b1"))
    assert late.failure is wire.Failure.JOURNAL_UNAVAILABLE
    assert loop.time() - started < BOUND_S * 10
    assert room.state.seq == durable_seq  # nothing applied, nothing shown

    journal.gate.set()  # the write lands after all
    async with asyncio.timeout(5):
        while len(await journal.read("a1")) == durable_seq:
            await asyncio.sleep(0.001)  # poll interval
    resent = await room.submit(bid(S1, 9_000, "b1"))
    answer = wire.bid_result("b1", resent)
    assert (answer.status, answer.duplicate, answer.seq) == ("accepted", True, durable_seq + 1)
    assert (await room.submit(bid(S2, 8_000, "b2"))).ok  # the writer goes on from the journal
    stored = events_of(await journal.read("a1"))
    assert [e.bid_id for e in stored if type(e).__name__ == "BidAccepted"] == ["b1", "b2"]
    assert state_bytes(replay("a1", stored)) == state_bytes(room.state)
    await room.stop()


async def test_a_stalled_reload_is_bounded_too():
    journal = LateJournal()
    room = await _open(journal)
    journal.gate.clear()
    assert (await room.submit(bid(S1, 9_000, "b1"))).failure is wire.Failure.JOURNAL_UNAVAILABLE
    stalled = journal.read

    async def never(*args, **kwargs):
        await asyncio.Event().wait()

    journal.read = never  # the reload before the next decision gets no answer either
    loop = asyncio.get_running_loop()
    started = loop.time()
    again = await room.submit(bid(S1, 9_000, "b1"))
    assert again.failure is wire.Failure.JOURNAL_UNAVAILABLE
    assert loop.time() - started < BOUND_S * 10
    journal.read = stalled
    journal.gate.set()
    resent = await room.submit(bid(S1, 9_000, "b1"))
    assert wire.bid_result("b1", resent).status == "accepted"
    await room.stop()
