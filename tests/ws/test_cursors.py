"""What rank only must not reveal: a supplier's live room is the same whoever else takes part.

The journal's seq counts invitations and every supplier's bids; a supplier's cursor counts only
what its live room lists (``runtime.cursors``), and an audience gets an update only when
something it may see changed. So with the same own actions at the same times, and the same rank,
a rank-only supplier's frames (welcome, updates, bid results, resumes) are byte for byte the same
whether 2 or 20 other suppliers are invited and bid.
"""

from __future__ import annotations

import msgspec

from bidserver.auth import Principal
from bidserver.engine.reverse.commands import (
    CreateAuction, ExtendAuction, InviteSupplier, PlaceBid, StartAuction, Tick,
)
from bidserver.engine.reverse.values import (
    SYSTEM, Actor, AuctionConfig, Decrement, DecrementKind, LotSpec, Role, Visibility,
)
from bidserver.ratelimit import TokenBucket
from bidserver.store.journal import MemoryJournal
from bidserver.ws.fanout import Connection
from bidserver.ws.session import Session

from ..runtime.support import writer
from ..runtime.test_room import BUYER, Clock
from .test_fanout import RecordingSink, wait_for

ME = Actor(Role.SUPPLIER, "me")
CONFIG = AuctionConfig(
    title="t", currency="EUR", lots=(LotSpec(lot_id="L1", title="lot", ceiling=10_000),),
    duration_ms=60_000, decrement=Decrement(DecrementKind.AMOUNT, 10),
    visibility=Visibility.RANK_ONLY,
)


class Me:
    """The supplier's sockets, as the live room drives them (``Session``: bids and answers)."""

    def __init__(self, room, clock: Clock) -> None:
        self.room, self.clock = room, clock
        self.sinks: list[RecordingSink] = []

    def connect(self, since: int | None = None) -> Session:
        sink = RecordingSink()
        self.sinks.append(sink)
        conn = Connection(ME, sink)
        self.room.auction.audience.join(conn, since)
        return Session(
            conn, self.room.auction, Principal(Role.SUPPLIER, "me", "u"), TokenBucket(100, 100),
            max_bytes=4096, now_ms=self.clock, pause=lambda: None, resume=lambda: None,
        )

    def last_seq(self) -> int:
        return max(m["seq"] for s in self.sinks for m in s.messages() if m["type"] != "bid_result")

    def frames(self) -> list[list[bytes]]:
        return [[out.data for out in sink.frames] for sink in self.sinks]


async def bid_as(session: Session, amount: int, bid_id: str) -> None:
    """A bid from the supplier's socket, and its ``bid_result`` back on that socket."""
    sink = session.conn.sink

    def answered() -> int:
        return sum(m["type"] == "bid_result" for m in sink.messages())

    before = answered()
    message = {"type": "bid", "bid_id": bid_id, "lot_id": "L1", "amount": amount}
    session.on_message(msgspec.json.encode(message).decode())  # a text frame
    await wait_for(lambda: answered() > before)


async def world(others: int) -> list[list[bytes]]:
    """One auction: ``me`` invited first, then ``others`` suppliers, who all bid worse than me."""
    clock = Clock()
    room = writer(MemoryJournal(), clock, auction_id="a1")
    room.start()
    them = [Actor(Role.SUPPLIER, f"other{i}") for i in range(others)]

    async def submit(command) -> None:
        assert (await room.submit(command)).ok, command

    async def they_bid(round_: int) -> None:
        for i, other in enumerate(them):
            amount = 9_900 - 200 * round_ - 10 * i  # never below 9,000: I stay first
            await submit(PlaceBid(actor=other, at=0, lot_id="L1", amount=amount, bid_id=f"r{round_}-{i}"))

    await submit(CreateAuction(actor=BUYER, at=0, auction_id="a1", config=CONFIG))
    me = Me(room, clock)
    await submit(InviteSupplier(actor=BUYER, at=0, supplier="me"))
    for other in them:
        await submit(InviteSupplier(actor=BUYER, at=0, supplier=other.party))
    first = me.connect()  # before the opening
    await submit(StartAuction(actor=BUYER, at=0))
    await they_bid(0)
    await bid_as(first, 9_000, "mine-1")
    await they_bid(1)
    first.conn.closed = True
    room.auction.audience.leave(first.conn)
    away_from = me.last_seq()
    await they_bid(2)
    await submit(ExtendAuction(actor=BUYER, at=0, by_ms=1_000))  # listed to me: urgent
    await they_bid(3)
    again = me.connect(since=away_from)
    me.connect(since=0)
    await bid_as(again, 8_900, "mine-2")
    await they_bid(4)
    clock.now += 120_000
    await submit(Tick(actor=SYSTEM, at=0))  # closes and awards the lot to me
    await room.stop()
    return me.frames()


async def test_a_rank_only_suppliers_frames_do_not_depend_on_the_others():
    few, many = await world(2), await world(20)
    types = [[msgspec.json.decode(f)["type"] for f in sink] for sink in few]
    assert types[0][:2] == ["welcome", "update"]  # the opening
    assert "bid_result" in types[0] and "bid_result" in types[1]
    assert types[1][:2] == ["welcome", "update"]  # resumed: the extension it missed
    assert few == many
