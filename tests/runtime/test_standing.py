"""``runtime.standing.set_standing``: a supplier's standing reaches the event's room wherever the
event is written, in this process or forwarded to the writer over Redis (two processes' runtimes
on one real Redis and on a Redis Cluster, wired as ``app`` wires them), and says what became of it."""

from __future__ import annotations

import asyncio

import msgspec

from bidserver.engine.formats import FORMATS
from bidserver.engine.rejections import Reason
from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse.commands import InviteSupplier, PlaceBid, StartAuction
from bidserver.runtime.registry import Rooms
from bidserver.runtime.standing import set_standing

from .processes import node
from .support import BUYER, S1, config
from .toy import TOY


async def restricted_in(rooms: Rooms, event_id: str, supplier: str) -> bool:
    """Whether ``rooms``' copy of the event has ``supplier`` restricted, within 5 s."""
    async with asyncio.timeout(5):
        while supplier not in (await rooms.get(event_id)).state.restricted:
            await asyncio.sleep(0.01)
    return True


async def test_the_standing_reaches_the_event_here_and_through_another_process(redis_url):
    async with node(redis_url) as a, node(redis_url) as b:
        auction, created = await a.rooms.create(BUYER, config())
        assert created.ok
        for command in (InviteSupplier(actor=BUYER, at=0, supplier="s1"),
                        InviteSupplier(actor=BUYER, at=0, supplier="s2"),
                        StartAuction(actor=BUYER, at=0)):
            assert (await auction.submit(command)).ok
        event_id = auction.auction_id

        here = await set_standing(a.rooms, event_id, "s1", True, "suspended", "licence withdrawn")
        assert here.ok and [type(e) for e in here.events] == [ev.SupplierRestricted]
        assert auction.state.restricted["s1"].detail == "licence withdrawn"

        followed = await b.rooms.get(event_id)  # b follows it: a writes it
        assert not followed.writer
        forwarded = await set_standing(b.rooms, event_id, "s2", True, "blacklisted", "fraud")
        assert forwarded.ok and [e.supplier for e in forwarded.events] == ["s2"]
        assert auction.state.restricted["s2"].reason == "blacklisted"  # decided by the writer
        assert await restricted_in(b.rooms, event_id, "s2")  # and shown by the follower

        again = await set_standing(b.rooms, event_id, "s2", True, "blacklisted", "fraud")
        assert again.ok and again.events == []  # nothing changed: nothing written
        bid = PlaceBid(actor=S1, at=0, lot_id="L1", amount=9_000, bid_id="b1")
        assert (await followed.submit(bid)).rejection.reason is Reason.SUPPLIER_RESTRICTED

        back = await set_standing(b.rooms, event_id, "s1", False, "lifted", "")
        assert [type(e) for e in back.events] == [ev.SupplierReinstated]
        assert (await followed.submit(msgspec.structs.replace(bid, bid_id="b2"))).ok

        stranger = await set_standing(b.rooms, event_id, "s9", True, "suspended", "")
        assert stranger.rejection.reason is Reason.NOT_INVITED
        none = await set_standing(a.rooms, "no-such-event", "s1", True, "suspended", "")
        assert none.rejection.reason is Reason.UNKNOWN_AUCTION


async def test_an_event_of_a_format_without_suppliers_standing_says_so(redis_server):
    async with node(redis_server.url, {**FORMATS, TOY.name: TOY}) as a:
        event, created = await a.rooms.create(BUYER, TOY.config_type(title="t"))
        assert created.ok
        result = await set_standing(a.rooms, event.auction_id, "s1", True, "suspended", "")
        assert result.rejection.reason is Reason.FORBIDDEN and TOY.name in result.rejection.detail

