"""A sealed tender's live room: another supplier's submissions change nothing a supplier is sent,
not even when: the fan-out holds no update of a tender back for a burst of commands (everyone's
commands make the burst; ``Format.paced``). What a supplier is sent before the deadline, byte for
byte, whoever else bids: tests/http/test_tender_secrecy.py."""

from __future__ import annotations

from bidserver.engine.formats import FORMATS
from bidserver.engine.tender.commands import UpdateTender
from bidserver.runtime.registry import Rooms
from bidserver.store.journal import MemoryJournal
from bidserver.ws.fanout import Broadcaster, Connection

from ..engine.tender.builders import BUYER, T0, bid, config, declare, officer, supplier
from ..runtime.test_tender_format import published
from .test_fanout import RecordingSink


async def test_a_suppliers_update_is_never_held_back_by_other_suppliers_bids():
    now = [T0 - 1]
    rooms = Rooms(MemoryJournal(), lambda: now[0], FORMATS,
                  audience=lambda auction: Broadcaster(auction, lambda: now[0], interval_s=60.0))
    tender = await published(rooms, now)
    mine = RecordingSink()
    tender.audience.join(Connection(supplier("sup-a"), mine), None)
    assert (await tender.submit(bid("sup-b", "b1", {"L1": 3_900_000}, at=0))).ok
    assert len(mine.frames) == 1  # the welcome: another's bid sends nothing
    tender.decided += 100_000  # as if the others had just made a burst of commands
    assert (await tender.submit(bid("sup-a", "a1", {"L1": 4_000_000}, at=0))).ok
    assert [m["type"] for m in mine.messages()] == ["welcome", "update"]  # at once, not in 60 s
    assert [e["type"] for e in mine.messages()[1]["events"]] == ["bid_submitted"]
    await rooms.close()


async def test_a_named_officer_who_has_not_declared_no_conflict_is_refused_the_buyers_audience():
    """The buyer's people share one view in the live room (``audience_view``), which shows the
    opened bids: a user the tender names who has not declared "no conflict" is not let in
    (``Format.live_refusal``), and one the configuration names after they joined (a draft's
    update) is closed before anything more is sent to them."""
    now = [T0 - 1]
    rooms = Rooms(MemoryJournal(), lambda: now[0], FORMATS,
                  audience=lambda auction: Broadcaster(auction, lambda: now[0], interval_s=0.0))
    tender, created = await rooms.create(BUYER, config())
    assert created.ok
    undeclared = RecordingSink()
    tender.audience.join(Connection(officer("off-1"), undeclared), None)
    assert undeclared.frames == [] and undeclared.closed_with == (4403, "declaration_required")

    newcomer, clerk = RecordingSink(), RecordingSink()
    tender.audience.join(Connection(officer("newcomer"), newcomer), None)
    tender.audience.join(Connection(BUYER, clerk), None)
    named = config(officers=("off-1", "off-2", "newcomer"))
    assert (await tender.submit(UpdateTender(actor=BUYER, at=0, config=named))).ok
    assert newcomer.closed_with == (4403, "declaration_required")
    assert [m["type"] for m in newcomer.messages()] == ["welcome"]  # and no update
    assert [m["type"] for m in clerk.messages()] == ["welcome", "update"]
    assert (await tender.submit(declare("off-1", at=0))).ok
    declared = RecordingSink()
    tender.audience.join(Connection(officer("off-1"), declared), None)
    assert declared.closed_with is None and declared.messages()[0]["type"] == "welcome"
    await rooms.close()
