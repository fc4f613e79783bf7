"""The room (one writer per auction) and fan-out, on the in-memory journal twin."""

from __future__ import annotations

import asyncio

import msgspec

from bidserver import wire
from bidserver.engine.reverse import replay, state_bytes
from bidserver.engine.reverse.commands import CreateAuction, InviteSupplier, PlaceBid, StartAuction
from bidserver.engine.reverse.values import Actor, AuctionConfig, Decrement, DecrementKind, LotSpec, Role
from bidserver.store.journal import MemoryJournal
from bidserver.runtime.room import Room

from .support import events_of, writer

BUYER = Actor(Role.BUYER, "org-b")
S1 = Actor(Role.SUPPLIER, "s1")
S2 = Actor(Role.SUPPLIER, "s2")
CONFIG = AuctionConfig(
    title="t",
    currency="EUR",
    lots=(LotSpec(lot_id="L1", title="lot", ceiling=10_000),),
    duration_ms=60_000,
    decrement=Decrement(DecrementKind.AMOUNT, 10),
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now


async def open_room(journal=None, clock=None, config=CONFIG, interval_s=0.0) -> Room:
    journal = journal or MemoryJournal()
    room = writer(journal, clock or Clock(), auction_id="a1", interval_s=interval_s)
    room.start()
    for command in (
        CreateAuction(actor=BUYER, at=0, auction_id="a1", config=config),
        InviteSupplier(actor=BUYER, at=0, supplier="s1"),
        InviteSupplier(actor=BUYER, at=0, supplier="s2"),
        StartAuction(actor=BUYER, at=0),
    ):
        assert (await room.submit(command)).ok
    return room


def bid(actor: Actor, amount: int, bid_id: str) -> PlaceBid:
    return PlaceBid(actor=actor, at=0, lot_id="L1", amount=amount, bid_id=bid_id)


async def test_concurrent_bids_are_one_group_commit_in_one_order():
    journal = MemoryJournal()
    room = await open_room(journal)
    appends_before = journal.append_calls
    results = await asyncio.gather(
        *(room.submit(bid(S1 if i % 2 else S2, 9_000 - 20 * i, f"b{i}")) for i in range(50))
    )
    assert all(r.ok for r in results)
    assert journal.append_calls - appends_before == 1  # everything waiting went in one write
    stored = events_of(await journal.read("a1"))
    assert state_bytes(replay("a1", stored)) == state_bytes(room.state)
    await room.stop()


async def test_journal_failure_acknowledges_nothing_and_changes_nothing():
    journal = MemoryJournal()
    room = await open_room(journal)
    assert (await room.submit(bid(S1, 9_000, "b1"))).ok
    before = state_bytes(room.state)
    journal.available = False
    result = await room.submit(bid(S2, 8_000, "b2"))
    assert result.failure is wire.Failure.JOURNAL_UNAVAILABLE
    assert state_bytes(room.state) == before
    journal.available = True
    assert (await room.submit(bid(S2, 8_000, "b2"))).ok  # the resend is decided afresh
    await room.stop()


async def test_a_write_that_landed_despite_an_error_is_found_by_the_resend():
    journal = MemoryJournal()
    room = await open_room(journal)
    journal.fail_after_write = 1  # the write lands, the reply is lost
    lost = await room.submit(bid(S1, 9_000, "b1"))
    assert lost.failure is wire.Failure.JOURNAL_UNAVAILABLE
    resent = await room.submit(bid(S1, 9_000, "b1"))
    answer = wire.bid_result("b1", resent)
    assert answer.status == "accepted" and answer.duplicate
    assert sum(1 for b in room.state.bids if b == "b1") == 1
    await room.stop()


async def test_rejected_bid_ids_answer_the_same_on_resend():
    journal = MemoryJournal()
    room = await open_room(journal)
    first = await room.submit(bid(S1, 20_000, "x"))
    assert first.rejection.reason == "above_ceiling"
    again = await room.submit(bid(S1, 20_000, "x"))
    assert again.rejection == first.rejection
    await room.stop()
    # From the journal alone (a restart, a take-over): the same answer, and the id is used up.
    rebuilt = writer(journal, Clock(), entries=await journal.read("a1"))
    rebuilt.start()
    assert (await rebuilt.submit(bid(S1, 20_000, "x"))).rejection == first.rejection
    reused = await rebuilt.submit(bid(S1, 9_000, "x"))
    assert reused.rejection.reason == "duplicate_bid_id"
    await rebuilt.stop()


async def test_a_refusal_is_answered_once_its_record_is_durable_in_the_same_group_commit():
    journal = GatedJournal()
    room = await open_room(journal=journal)
    journal.gate.clear()
    first = asyncio.ensure_future(room.submit(bid(S1, 9_000, "b0")))
    await asyncio.wait_for(journal.writing.wait(), 5)
    refused = asyncio.ensure_future(room.submit(bid(S2, 20_000, "too-high")))
    accepted = asyncio.ensure_future(room.submit(bid(S2, 8_000, "b1")))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not refused.done()  # decided, not yet durable: not answered
    journal.gate.set()
    results = await asyncio.gather(first, refused, accepted)
    assert results[1].rejection.reason == "above_ceiling" and results[2].ok
    assert journal.batches[-2:] == [1, 2]  # the refusal's record rode with the bid after it
    assert [type(e).__name__ for e in events_of(await journal.read("a1"))[-2:]] == [
        "BidRefused", "BidAccepted"]
    await room.stop()


async def test_a_refusal_that_cannot_be_recorded_is_not_answered_as_one():
    journal = MemoryJournal()
    room = await open_room(journal)
    journal.available = False
    result = await room.submit(bid(S1, 20_000, "x"))
    assert result.failure is wire.Failure.JOURNAL_UNAVAILABLE and result.rejection is None
    journal.available = True
    assert (await room.submit(bid(S1, 20_000, "x"))).rejection.reason == "above_ceiling"
    await room.stop()


async def test_the_timer_closes_the_lot_on_the_server_clock():
    clock = Clock()
    room = await open_room(clock=clock, config=msgspec.structs.replace(CONFIG, duration_ms=30))
    assert (await room.submit(bid(S1, 9_000, "b1"))).ok
    clock.now += 31  # the engine's clock passes the end; the loop timer fires after ~30 ms
    for _ in range(200):
        if room.state.phase == "closed":
            break
        await asyncio.sleep(0.01)
    assert room.state.phase == "closed"
    assert room.state.lots["L1"].award is not None
    await room.stop()


class GatedJournal(MemoryJournal):
    """A journal whose writes wait for the test to open the gate (a slow fsync, on demand)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.writing = asyncio.Event()
        self.batches: list[int] = []

    async def append(self, auction_id, first_seq, entries, awards=()):
        self.writing.set()
        await self.gate.wait()
        self.writing.clear()
        self.batches.append(len(entries))
        await super().append(auction_id, first_seq, entries, awards)


async def test_deciding_goes_on_during_a_write_and_nothing_shows_before_it_is_durable():
    journal = GatedJournal()
    room = await open_room(journal=journal)
    journal.gate.clear()
    first = asyncio.ensure_future(room.submit(bid(S1, 9_000, "b0")))
    await asyncio.wait_for(journal.writing.wait(), 5)  # b0's write is in flight
    later = [asyncio.ensure_future(room.submit(bid(S2, 8_990 - 10 * i, f"c{i}"))) for i in range(5)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert room._ahead.seq == room.state.seq + 6  # decided ahead ...
    assert "b0" not in room.state.bids and not first.done()  # ... but not visible, not answered
    journal.gate.set()
    results = await asyncio.gather(first, *later)
    assert all(r.ok for r in results)
    assert journal.batches[-2:] == [1, 5]  # the five decided meanwhile: one write
    assert state_bytes(room.state) == state_bytes(room._ahead)
    assert state_bytes(room.state) == state_bytes(replay("a1", room.log))
    await room.stop()


async def test_a_failed_write_voids_what_was_decided_on_top_of_it():
    journal = GatedJournal()
    room = await open_room(journal=journal)
    before = state_bytes(room.state)
    journal.gate.clear()
    first = asyncio.ensure_future(room.submit(bid(S1, 9_000, "b0")))
    await asyncio.wait_for(journal.writing.wait(), 5)
    on_top = asyncio.ensure_future(room.submit(bid(S2, 8_000, "b1")))
    for _ in range(5):
        await asyncio.sleep(0)
    journal.available = False
    journal.gate.set()
    results = await asyncio.gather(first, on_top)
    assert [r.failure for r in results] == [wire.Failure.JOURNAL_UNAVAILABLE] * 2
    assert state_bytes(room.state) == before and state_bytes(room._ahead) == before
    journal.available = True
    again = await room.submit(bid(S2, 8_000, "b1"))  # the resend decides afresh
    assert again.ok and room.state.bids["b1"].amount == 8_000 and "b0" not in room.state.bids
    await room.stop()


async def test_a_stopping_room_finishes_its_write_and_answers_what_it_did_not_decide_not_decided():
    """Losing the lease (or shutting down): what is decided gets its real outcome, what was only
    queued is ``not_decided`` (resend the same bid id), never an unlisted reason."""
    journal = GatedJournal()
    room = await open_room(journal=journal)
    journal.gate.clear()
    in_flight = asyncio.ensure_future(room.submit(bid(S1, 9_000, "b0")))
    await asyncio.wait_for(journal.writing.wait(), 5)
    decided = asyncio.ensure_future(room.submit(bid(S2, 8_000, "b1")))
    for _ in range(5):
        await asyncio.sleep(0)
    stopping = asyncio.ensure_future(room.stop())
    for _ in range(5):
        await asyncio.sleep(0)  # deciding has stopped; the write is still in flight
    queued = asyncio.ensure_future(room.submit(bid(S2, 7_000, "b2")))
    journal.gate.set()
    await stopping
    results = await asyncio.gather(in_flight, decided, queued)
    assert [r.ok for r in results[:2]] == [True, True]
    assert results[2].failure is wire.Failure.NOT_DECIDED
    assert wire.bid_result("b2", results[2]).detail == "not acknowledged; resend the same bid_id"
    assert set(room.state.bids) == {"b0", "b1"}
    assert events_of(await journal.read("a1"))[-1].bid_id == "b1"


async def test_a_write_that_does_not_finish_while_stopping_is_an_unknown_outcome(monkeypatch):
    monkeypatch.setattr("bidserver.runtime.room.STOP_WRITE_WAIT_S", 0.05)
    journal = GatedJournal()
    room = await open_room(journal=journal)
    journal.gate.clear()
    in_flight = asyncio.ensure_future(room.submit(bid(S1, 9_000, "b0")))
    await asyncio.wait_for(journal.writing.wait(), 5)
    await room.stop()
    assert (await in_flight).failure is wire.Failure.JOURNAL_UNAVAILABLE  # may have landed: resend


async def test_a_bid_is_judged_at_the_servers_decision_time_not_the_time_it_carries():
    clock = Clock()
    room = await open_room(clock=clock)
    end = room.state.lots["L1"].end_at
    clock.now = end  # the bid reaches the room at the end: late, whatever it says of itself
    sent_in_time = msgspec.structs.replace(bid(S1, 9_000, "b1"), at=end - 500)
    assert (await room.submit(sent_in_time)).rejection.reason == "lot_closed"
    await room.stop()


async def test_time_never_goes_backwards_across_a_restart_on_a_clock_that_is_behind():
    """A take-over by a process whose clock is behind must not stamp a later bid earlier (it would
    rank first among equal bids, and move soft-close decisions)."""
    journal = MemoryJournal()
    clock = Clock()
    room = await open_room(journal, clock)
    clock.now += 5_000
    assert (await room.submit(bid(S1, 9_000, "b1"))).ok
    await room.stop()
    behind = Clock()
    behind.now = clock.now - 3_000
    again = writer(journal, behind, entries=await journal.read("a1"))
    again.start()
    assert (await again.submit(bid(S2, 8_000, "b2"))).ok
    times = [r.at for r in sorted(again.state.bids.values(), key=lambda r: r.seq)]
    assert times == sorted(times) and times[-1] == clock.now
    await again.stop()
