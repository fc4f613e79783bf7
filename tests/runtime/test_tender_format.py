"""The sealed tender runs on the runtime through the format contract alone: created from its
configuration, its sealed bids journalled (hash-chained envelopes) and answered with receipts, a
late bid's refusal journalled too, rebuilt byte for byte after a restart, and the buyer's live-room
cursor never counting a submission."""

from __future__ import annotations

from bidserver.engine.formats import FORMATS
from bidserver.engine.tender import FORMAT
from bidserver.engine.tender.commands import InviteSupplier, Publish
from bidserver.engine.tender.records import TenderReceipt
from bidserver.engine.values import Actor, Role
from bidserver.runtime.registry import Rooms
from bidserver.store.journal import MemoryJournal

from ..engine.tender.builders import BUYER, DEADLINE, T0, bid, config, supplier, tick


async def test_a_tender_is_journalled_answered_and_rebuilt_by_the_runtime():
    now = [T0 - 1]
    journal = MemoryJournal()
    rooms = Rooms(journal, lambda: now[0], FORMATS)
    tender, created = await rooms.create(BUYER, config())
    assert created.ok and tender.format is FORMAT
    for party in ("sup-a", "sup-b"):
        assert (await tender.submit(InviteSupplier(actor=BUYER, at=0, supplier=party))).ok
    now[0] = T0
    assert (await tender.submit(Publish(actor=BUYER, at=0))).ok
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
