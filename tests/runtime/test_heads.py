"""Signed tree heads of the auctions a process writes: at once on a phase change, within the
interval otherwise, never in a bid's way, retried when the store fails, continued by the next
writer from the stored head."""

from __future__ import annotations

import asyncio
import logging
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bidserver.engine.formats import FORMATS
from bidserver.engine.reverse.commands import (
    CancelAuction, InviteSupplier, PauseAuction, PlaceBid, StartAuction,
)
from bidserver.runtime.heads import HeadSigner
from bidserver.runtime.registry import Rooms
from bidserver.store.chain import verify as verify_chain
from bidserver.store.head_store import HeadRecord, MemoryTreeHeads
from bidserver.store.journal import MemoryJournal
from bidserver.store.merkle import leaf_of, root
from bidserver.store.tree_heads import head_problem, key_id, public_raw

from .support import BUYER, S1, clock, config

KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
LONG_S = 3600.0  # an interval no test waits for


async def eventually(predicate, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


async def signed_up_to(store, auction_id: str, seq: int) -> HeadRecord | None:
    last = await store.last(auction_id)
    return last if last is not None and last.head.tree_size == seq else None


async def assert_proves_the_journal(journal, record: HeadRecord) -> None:
    """The head is good, and its root is the Merkle root of the journal's first entries."""
    head = record.head
    assert head_problem(head, KEYS) is None
    entries = await journal.read(head.auction_id)
    envelopes = verify_chain(head.auction_id, entries[: head.tree_size])
    assert root([leaf_of(e.hash) for e in envelopes]).hex() == head.root_hash
    assert record.entry_hash == envelopes[-1].hash


def rooms_signing(journal, store, every_s: float = LONG_S) -> Rooms:
    signer = HeadSigner(store, journal, KEY, clock, every_s=every_s)
    return Rooms(journal, clock, FORMATS, heads=signer)


async def started(rooms: Rooms):
    auction, result = await rooms.create(BUYER, config())
    assert result.ok
    for command in (InviteSupplier(actor=BUYER, at=0, supplier="s1"),
                    StartAuction(actor=BUYER, at=0)):
        assert (await auction.submit(command)).ok
    return auction


async def test_a_phase_change_is_signed_at_once():
    journal, store = MemoryJournal(), MemoryTreeHeads()
    rooms = rooms_signing(journal, store)
    try:
        auction = await started(rooms)  # created, invited, opened: the opening is a phase change
        aid = auction.auction_id
        first = await eventually(lambda: signed_up_to(store, aid, 3), what="the opening's head")
        await assert_proves_the_journal(journal, first)
        assert await store.keys() == {first.head.key_id: public_raw(KEY.public_key())}

        for n, amount in enumerate((9_000, 8_000), start=1):
            assert (await auction.submit(PlaceBid(actor=S1, at=0, lot_id="L1", amount=amount,
                                                  bid_id=f"b{n}"))).ok
        assert (await auction.submit(PauseAuction(actor=BUYER, at=0, reason="a question"))).ok
        paused = await eventually(lambda: signed_up_to(store, aid, 6), what="the pause's head")
        await assert_proves_the_journal(journal, paused)
        assert [r.head.tree_size for r in await store.read(aid)] == [3, 6]
    finally:
        await rooms.close()


async def test_other_writes_are_signed_within_the_interval():
    journal, store = MemoryJournal(), MemoryTreeHeads()
    rooms = rooms_signing(journal, store, every_s=0.05)
    try:
        auction, _ = await rooms.create(BUYER, config())
        assert (await auction.submit(InviteSupplier(actor=BUYER, at=0, supplier="s1"))).ok
        head = await eventually(lambda: signed_up_to(store, auction.auction_id, 2))
        await assert_proves_the_journal(journal, head)
    finally:
        await rooms.close()


async def test_close_signs_what_is_due():
    journal, store = MemoryJournal(), MemoryTreeHeads()
    rooms = rooms_signing(journal, store)
    auction, _ = await rooms.create(BUYER, config())  # no phase change: due in an hour
    await rooms.close()
    await assert_proves_the_journal(journal, await store.last(auction.auction_id))


class StalledHeads(MemoryTreeHeads):
    """A store whose writes hang until ``release`` is set (a stalled Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def append(self, record, after_size):
        await self.release.wait()
        await super().append(record, after_size)


async def test_a_stalled_store_holds_no_bid_back():
    journal, store = MemoryJournal(), StalledHeads()
    rooms = rooms_signing(journal, store)
    try:
        auction = await started(rooms)  # the opening's head hangs from here on
        for n in range(1, 4):
            result = await asyncio.wait_for(auction.submit(
                PlaceBid(actor=S1, at=0, lot_id="L1", amount=9_000 - n * 100, bid_id=f"b{n}")), 2)
            assert result.ok
        cancelled = await asyncio.wait_for(
            auction.submit(CancelAuction(actor=BUYER, at=0, reason="budget")), 2)
        assert cancelled.ok
        store.release.set()
        head = await eventually(lambda: signed_up_to(store, auction.auction_id, 7))
        await assert_proves_the_journal(journal, head)
    finally:
        await rooms.close()


async def test_a_failing_store_is_retried_and_never_fails_a_command(caplog):
    journal, store = MemoryJournal(), MemoryTreeHeads()
    store.available = False
    rooms = rooms_signing(journal, store)
    try:
        with caplog.at_level(logging.WARNING, logger="bidserver.runtime.heads"):
            auction = await started(rooms)
            await eventually(lambda: "could not sign a tree head" in caplog.text)
        assert (await auction.submit(PlaceBid(actor=S1, at=0, lot_id="L1", amount=9_000,
                                              bid_id="b1"))).ok
        store.available = True
        head = await eventually(lambda: signed_up_to(store, auction.auction_id, 4))
        await assert_proves_the_journal(journal, head)
    finally:
        await rooms.close()


async def test_the_next_writer_continues_from_the_stored_head():
    journal, store = MemoryJournal(), MemoryTreeHeads()
    rooms = rooms_signing(journal, store)
    auction = await started(rooms)
    aid = auction.auction_id
    await eventually(lambda: signed_up_to(store, aid, 3))
    await rooms.close()

    again = rooms_signing(journal, store)  # a restart
    try:
        await again.recover()
        resumed = await again.get(aid)
        assert (await resumed.submit(PauseAuction(actor=BUYER, at=0, reason="x"))).ok
        head = await eventually(lambda: signed_up_to(store, aid, 4))
        await assert_proves_the_journal(journal, head)
        assert [r.head.tree_size for r in await store.read(aid)] == [3, 4]
    finally:
        await again.close()


async def test_a_stored_head_with_edited_hints_is_rebuilt_from_entry_1(caplog):
    journal, store = MemoryJournal(), MemoryTreeHeads()
    rooms = rooms_signing(journal, store)
    auction = await started(rooms)
    aid = auction.auction_id
    record = await eventually(lambda: signed_up_to(store, aid, 3))
    await rooms.close()
    # Someone with access to the store replaces the frontier kept with the head.
    store._heads[aid][-1] = HeadRecord(head=record.head, entry_hash=record.entry_hash,
                                       frontier=tuple("00" * 32 for _ in record.frontier))

    again = rooms_signing(journal, store)
    try:
        resumed = await again.get(aid)
        with caplog.at_level(logging.ERROR, logger="bidserver.runtime.heads"):
            assert (await resumed.submit(PauseAuction(actor=BUYER, at=0, reason="x"))).ok
            head = await eventually(lambda: signed_up_to(store, aid, 4))
        assert "does not hold its own root" in caplog.text
        await assert_proves_the_journal(journal, head)
    finally:
        await again.close()


async def test_a_head_another_writer_stored_meanwhile_is_continued():
    journal, store = MemoryJournal(), MemoryTreeHeads()
    rooms = rooms_signing(journal, store)
    try:
        auction = await started(rooms)
        aid = auction.auction_id
        await eventually(lambda: signed_up_to(store, aid, 3))
        assert (await auction.submit(PlaceBid(actor=S1, at=0, lot_id="L1", amount=9_000,
                                              bid_id="b1"))).ok
        other = HeadSigner(store, journal, KEY, clock, every_s=0.01)  # a take-over's writer
        other.noted(auction, [])
        await eventually(lambda: signed_up_to(store, aid, 4))
        await other.close()

        assert (await auction.submit(PauseAuction(actor=BUYER, at=0, reason="x"))).ok
        head = await eventually(lambda: signed_up_to(store, aid, 5), timeout=10)
        await assert_proves_the_journal(journal, head)
        assert [r.head.tree_size for r in await store.read(aid)] == [3, 4, 5]
    finally:
        await rooms.close()
