"""Snapshots: taken as the auction grows, used at the next load with only the journal after them,
and refused (the whole journal replayed instead, with a log line) when they are not what they
claim: damaged, stale, of another auction, or not matching the journal entry they name."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import pytest
from redis.crc import key_slot

from bidserver.engine.formats import FORMATS
from bidserver.engine.reverse import state_bytes
from bidserver.engine.reverse.commands import InviteSupplier, PlaceBid, StartAuction
from bidserver.runtime import registry, snapshots
from bidserver.runtime.journaling import ChainBroken
from bidserver.runtime.registry import Rooms
from bidserver.store.journal import MemoryJournal
from bidserver.store.snapshots import MemorySnapshots, RedisSnapshots

from .support import BUYER, S1, S2, clock, config, events_of, live_audience

CONFIG = config(title="Snap", ceiling=100_000)



@pytest.mark.parametrize(
    ("every", "seq", "last", "due"),
    [(0, 10**6, 0, False), (10, 9, 0, False), (10, 10, 0, True), (10, 19, 10, False),
     (10, 20, 10, True), (10, 39, 20, False), (10, 40, 20, True), (1000, 3000, 2000, False)],
)
def test_snapshots_come_at_growing_intervals(every, seq, last, due):
    assert snapshots.due(every, seq, last) is due


@pytest.fixture(autouse=True)
def quiet_soon(monkeypatch):
    """A due snapshot waits for a quiet auction: here, for 10 ms without a write."""
    monkeypatch.setattr(registry, "SNAPSHOT_QUIET_S", 0.01)


async def bids(auction, first: int, last: int) -> None:
    for i in range(first, last):
        bidder = S1 if i % 2 else S2
        bid = PlaceBid(actor=bidder, at=0, lot_id="L1", amount=90_000 - 100 * i, bid_id=f"b{i}")
        assert (await auction.submit(bid)).ok


async def snapshot_at(store, auction_id: str, seq: int) -> None:
    async with asyncio.timeout(5):
        while (data := await store.load(auction_id)) is None or msgspec.json.decode(data)["seq"] != seq:
            await asyncio.sleep(0.005)


async def auction_with_bids(journal, store, every: int = 5) -> tuple[Rooms, str]:
    """35 events: a snapshot at 30 (taken once the auction was quiet), then 5 more."""
    rooms = Rooms(journal, clock, FORMATS, audience=live_audience(clock), snapshots=store,
                  snapshot_every=every)
    auction, result = await rooms.create(BUYER, CONFIG)
    assert result.ok
    for command in (InviteSupplier(actor=BUYER, at=0, supplier="s1"),
                    InviteSupplier(actor=BUYER, at=0, supplier="s2"),
                    StartAuction(actor=BUYER, at=0)):
        assert (await auction.submit(command)).ok
    await bids(auction, 0, 26)
    await snapshot_at(store, auction.auction_id, 30)
    await bids(auction, 26, 31)  # not due again before 60
    return rooms, auction.auction_id


async def reload(journal, store):
    rooms = Rooms(journal, clock, FORMATS, audience=live_audience(clock), snapshots=store)
    auction = await rooms.get(next(iter(await journal.auction_ids())))
    return rooms, auction


async def test_a_due_snapshot_waits_for_a_quiet_moment(monkeypatch):
    monkeypatch.setattr(registry, "SNAPSHOT_QUIET_S", 3600)
    journal, store = MemoryJournal(), MemorySnapshots()
    rooms = Rooms(journal, clock, FORMATS, snapshots=store, snapshot_every=5)
    auction, _ = await rooms.create(BUYER, CONFIG)
    for command in (InviteSupplier(actor=BUYER, at=0, supplier="s1"),
                    InviteSupplier(actor=BUYER, at=0, supplier="s2"),
                    StartAuction(actor=BUYER, at=0)):
        assert (await auction.submit(command)).ok
    await bids(auction, 0, 6)
    assert auction.snapshot_due is not None and await store.load(auction.auction_id) is None
    monkeypatch.setattr(registry, "SNAPSHOT_MAX_DELAY_S", 0)  # ... and no longer than this
    await bids(auction, 6, 7)
    assert auction.snapshot_seq == 11 and auction.snapshot_due is None  # taken at once
    await snapshot_at(store, auction.auction_id, 11)
    await rooms.close()


async def test_a_load_starts_from_the_newest_snapshot_and_the_journal_after_it():
    journal, store = MemoryJournal(), MemorySnapshots()
    rooms, auction_id = await auction_with_bids(journal, store)
    expected = state_bytes(rooms._rooms[auction_id].state)
    await rooms.close()

    again, auction = await reload(journal, store)
    assert auction.snapshot_seq == 30 and auction.log.base == 30 and len(auction.log) == 5
    assert state_bytes(auction.state) == expected  # the same state as a full replay gives
    assert (await auction.submit(PlaceBid(actor=S1, at=0, lot_id="L1", amount=1_000, bid_id="z"))).ok
    await again.close()


def tampered(data: bytes, **changes) -> bytes:
    snapshot = msgspec.json.decode(data)
    snapshot.update(changes)
    return msgspec.json.encode(snapshot)


def restamped(data: bytes, edit) -> bytes:
    """The state edited and its digest recomputed: only the journal can tell."""
    import hashlib

    snapshot = msgspec.json.decode(data)
    state = edit(snapshot["state"])
    raw = msgspec.json.encode(state)
    return tampered(data, state=state, state_sha256=hashlib.sha256(raw).hexdigest())


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda data: data[:-7], "unreadable"),
        (lambda data: tampered(data, state_sha256="0" * 64), "does not match its digest"),
        (lambda data: tampered(data, head_hash="f" * 64), "does not match journal entry 30"),
        (lambda data: tampered(data, auction_id="a-other"), "of auction 'a-other'"),
        (lambda data: tampered(data, seq=999), "no entry 999"),
        (lambda data: tampered(data, format="toy_tally"), "format 'toy_tally' is not run here"),
        (lambda data: restamped(data, lambda state: {**state, "seq": 3}), "at seq 3, not 30"),
    ],
)
async def test_a_snapshot_that_is_not_what_it_claims_is_refused_and_the_journal_replayed(
    caplog, damage, why
):
    journal, store = MemoryJournal(), MemorySnapshots()
    rooms, auction_id = await auction_with_bids(journal, store)
    expected = state_bytes(rooms._rooms[auction_id].state)
    await rooms.close()
    store.replace(auction_id, damage(await store.load(auction_id)))

    with caplog.at_level(logging.WARNING, logger="bidserver.runtime.snapshots"):
        again, auction = await reload(journal, store)
    assert auction.snapshot_seq == 0 and auction.log.base == 0  # the whole journal, replayed
    assert state_bytes(auction.state) == expected
    assert f"snapshot of auction {auction_id} refused" in caplog.text and why in caplog.text
    await again.close()


@pytest.mark.parametrize("where", ["redis_server", "redis_cluster"])
async def test_redis_keeps_the_newest_snapshot(request, where):
    from bidserver.store.redis_journal import RedisJournal

    journal = RedisJournal(request.getfixturevalue(where).url, replicas=None)
    await journal.connect()
    for store in (MemorySnapshots(), RedisSnapshots(journal)):
        assert await store.load("a1") is None
        assert await store.save("a1", 20, b"twenty") is True
        assert await store.save("a1", 10, b"ten") is False  # a late, older write changes nothing
        assert await store.save("a1", 40, b"forty") is True
        assert await store.load("a1") == b"forty"
    if journal.keys.sharded:  # beside the auction's journal, in its shard's slot
        assert journal.snapshot_key("a1").startswith("bidserver:{")
        assert key_slot(journal.snapshot_key("a1").encode()) == key_slot(
            journal.stream_key("a1").encode())
    else:
        assert await journal.redis.keys("bidserver:snapshot:*") == [b"bidserver:snapshot:a1"]
    await journal.close()


async def test_a_resume_from_before_the_snapshot_gets_every_event_it_missed():
    from bidserver.ws.fanout import Connection

    journal, store = MemoryJournal(), MemorySnapshots()
    rooms, _ = await auction_with_bids(journal, store)
    await rooms.close()
    again, auction = await reload(journal, store)

    class Sink:
        frames: list

        def __init__(self) -> None:
            self.frames = []

        def write(self, out) -> bool:
            self.frames.append(msgspec.json.decode(out.text))
            return True

        def close_soon(self, code, reason) -> None: ...

    held = Sink()  # joined as loaded: the events from the snapshot on are held
    auction.audience.join(Connection(BUYER, held), since=2)
    welcome, update = held.frames
    assert welcome["seq"] == 35 and welcome["view"]["lots"][0]["leading_price"] == 87_000
    assert (update["first_seq"], update["seq"]) == (31, 35)
    assert [e["seq"] for e in update["events"]] == list(range(31, 36))

    await again.hold_from(auction, 2)  # what the live room does first for such a resume
    assert auction.log.base == 2 and len(auction.log) == 33
    resumed = Sink()
    auction.audience.join(Connection(BUYER, resumed), since=2)
    _, update = resumed.frames
    assert (update["first_seq"], update["seq"]) == (3, 35)  # every event it missed
    assert [e["seq"] for e in update["events"]] == list(range(3, 36))
    await again.hold_from(auction, 0)  # from the very start, on top of that
    assert auction.log.base == 0
    assert list(auction.log) == events_of(await journal.read(auction.auction_id))
    await again.close()


async def test_a_suppliers_cursor_is_the_same_after_a_restart_from_a_snapshot():
    from bidserver.ws.fanout import Connection

    journal, store = MemoryJournal(), MemorySnapshots()
    rooms, auction_id = await auction_with_bids(journal, store)
    live = await rooms.get(auction_id)
    before = {seq: live.cursors.at(S1, seq) for seq in range(live.state.seq + 1)}
    await rooms.close()
    again, auction = await reload(journal, store)
    assert auction.log.base == 30
    with pytest.raises(LookupError):  # counted from the first event: not held yet
        auction.cursors.at(S1, auction.state.seq)
    start = auction.cursors.needs_from(S1, None)
    assert start == 0 and auction.cursors.needs_from(BUYER, None) is None
    await again.hold_from(auction, start)  # what the live room does first for a supplier
    assert {seq: auction.cursors.at(S1, seq) for seq in before} == before
    frames = []

    class Sink:
        def write(self, out) -> bool:
            frames.append(msgspec.json.decode(out.text))
            return True

        def close_soon(self, code, reason) -> None: ...

    auction.audience.join(Connection(S1, Sink()), since=0)
    welcome, update = frames
    assert welcome["seq"] == before[auction.state.seq] == update["seq"] == len(update["events"])
    assert [e["seq"] for e in update["events"]] == list(range(1, welcome["seq"] + 1))
    await again.close()


async def test_a_resume_refuses_journal_entries_that_do_not_lead_to_the_snapshot():
    journal, store = MemoryJournal(), MemorySnapshots()
    rooms, auction_id = await auction_with_bids(journal, store)
    await rooms.close()
    again, auction = await reload(journal, store)
    entries = await journal.read(auction_id)
    envelope = msgspec.json.decode(entries[9][1])  # entry 10, before the snapshot at 30
    envelope["event"]["amount"] = 1
    journal.replace(auction_id, 10, msgspec.json.encode(envelope))
    with pytest.raises(ChainBroken) as refused:
        await again.hold_from(auction, 2)
    assert refused.value.seq == 10 and auction.log.base == 30  # nothing held from it
    await again.close()
