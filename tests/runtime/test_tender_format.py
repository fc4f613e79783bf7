"""The sealed tender runs on the runtime through the format contract alone: created from its
configuration, its sealed bids journalled (hash-chained envelopes) and answered with receipts, a
late bid's refusal journalled too, rebuilt byte for byte after a restart, and the buyer's live-room
cursor never counting a submission; a presented key share held in the room's memory only, never in
the journal or a snapshot, and presented again after a restart."""

from __future__ import annotations

import asyncio

import msgspec

from bidserver.engine.formats import FORMATS
from bidserver.engine.tender import FORMAT, Phase
from bidserver.engine.tender.commands import InviteSupplier, PresentShare, Publish
from bidserver.engine.tender.records import TenderReceipt
from bidserver.engine.values import Actor, Role
from bidserver.runtime.registry import Rooms
from bidserver.sealing.shamir import share_from_text
from bidserver.store.journal import MemoryJournal
from bidserver.store.snapshots import MemorySnapshots

from ..engine.tender.builders import (
    BUYER, DEADLINE, OPENING, SHARES, T0, bid, config, declare, officer, supplier, tick,
)



async def published(rooms: Rooms, now: list[int]):
    """A tender created in ``rooms``, its officers and evaluators declared free of conflicts,
    sup-a and sup-b invited, published at T0 (``now[0]``)."""
    tender, created = await rooms.create(BUYER, config())
    assert created.ok
    for user in (*tender.state.config.officers, *tender.state.config.evaluators):
        assert (await tender.submit(declare(user, at=0))).ok  # no conflict (``tender.conflicts``)
    for party in ("sup-a", "sup-b"):
        assert (await tender.submit(InviteSupplier(actor=BUYER, at=0, supplier=party))).ok
    now[0] = T0
    assert (await tender.submit(Publish(actor=BUYER, at=0))).ok
    return tender

async def test_a_tender_is_journalled_answered_and_rebuilt_by_the_runtime():
    now = [T0 - 1]
    journal = MemoryJournal()
    rooms = Rooms(journal, lambda: now[0], FORMATS)
    tender = await published(rooms, now)
    assert tender.format is FORMAT
    listed_to_buyer = tender.cursors.at(BUYER, tender.state.seq)

    now[0] = T0 + 5
    result = await tender.submit(bid("sup-a", "a1", {"L1": 4_000_000}, at=0))
    assert result.ok and isinstance(result.receipt, TenderReceipt)
    assert (result.receipt.received_at, result.receipt.supplier) == (T0 + 5, "sup-a")
    assert (await tender.submit(bid("sup-b", "b1", {"L1": 3_900_000}, at=0))).ok
    assert tender.cursors.at(BUYER, tender.state.seq) == listed_to_buyer  # nothing it was listed
    assert tender.cursors.at(supplier("sup-a"), tender.state.seq) == 3  # created, published, its bid

    now[0] = DEADLINE
    late = await tender.submit(bid("sup-b", "b2", {"L1": 1}, at=0))
    assert late.rejection.reason == "deadline_passed" and late.events  # its record, journalled
    assert (await tender.submit(tick(0))).ok
    seq, state = tender.state.seq, FORMAT.state_bytes(tender.state)
    await rooms.close()

    again = await Rooms(journal, lambda: now[0], FORMATS).get(tender.auction_id)
    assert again.format is FORMAT and again.state.seq == seq
    assert FORMAT.state_bytes(again.state) == state
    # the late attempt, the end of the enquiries and the deadline
    assert again.cursors.at(Actor(Role.BUYER, "org-buyer"), seq) == listed_to_buyer + 3


async def _at_the_opening(journal, snapshots, now):
    """A tender with two bids (sealed for another tender's id: they open as failed, which does
    not matter here), its opening time come, served by a fresh ``Rooms``."""
    rooms = Rooms(journal, lambda: now[0], FORMATS, snapshots=snapshots, snapshot_every=1)
    tender = await published(rooms, now)
    for party, price in (("sup-a", 4_000_000), ("sup-b", 3_900_000)):
        assert (await tender.submit(bid(party, f"{party}-1", {"L1": price}, at=0))).ok
    now[0] = OPENING
    assert (await tender.submit(tick(0))).ok
    return rooms, tender


def present(user: str, index: int) -> PresentShare:
    return PresentShare(actor=officer(user), at=0, share=SHARES[index])


async def test_two_officers_presenting_at_once_open_the_tender():
    """Both are decided by the one writer, the second seeing the first's share in its memory."""
    now = [T0 - 1]
    rooms, tender = await _at_the_opening(MemoryJournal(), MemorySnapshots(), now)
    now[0] = OPENING + 1
    results = await asyncio.gather(tender.submit(present("off-1", 0)),
                                   tender.submit(present("off-2", 1)))
    assert all(result.ok for result in results)
    assert tender.state.opened_by == ("off-1", "off-2")
    await rooms.close()


async def test_a_presented_share_is_in_no_journal_entry_nor_snapshot_and_is_presented_again():
    now = [T0 - 1]
    journal, snapshots = MemoryJournal(), MemorySnapshots()
    rooms, tender = await _at_the_opening(journal, snapshots, now)
    now[0] = OPENING + 1
    assert (await tender.submit(present("off-1", 0))).ok
    seq = tender.state.seq
    async with asyncio.timeout(5):  # the snapshot of the state with off-1's fingerprint
        while (data := await snapshots.load(tender.auction_id)) is None \
                or msgspec.json.decode(data)["seq"] != seq:
            await asyncio.sleep(0.005)
    written = b"".join(entry for _, entry in await journal.read(tender.auction_id)) + data
    value = share_from_text(SHARES[0]).value
    assert b"share_accepted" in written
    assert not any(secret in written for secret in (SHARES[0].encode(), value.hex().encode(), value))
    await rooms.close()

    again = await Rooms(journal, lambda: now[0], FORMATS, snapshots=snapshots).get(tender.auction_id)
    assert set(again.state.shares) == {"off-1"}  # journaled; its share held by nobody now
    now[0] = OPENING + 2
    assert (await again.submit(present("off-2", 1))).ok
    assert again.state.phase is Phase.OPENING
    result = await again.submit(present("off-1", 0))  # the same share again
    assert result.ok and again.state.opened_by == ("off-1", "off-2")
