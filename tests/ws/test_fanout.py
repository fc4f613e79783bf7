"""Fan-out: one encoding per audience, shared frames, exact personal ranks, conflation, laggards."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from bidserver.engine.reverse.commands import ExtendAuction, PlaceBid
from bidserver.engine.reverse.events import BidAccepted, SupplierInvited
from bidserver.engine.reverse.values import Actor, BidRule, Role, Visibility
from bidserver.ws.fanout import Connection, QueuedSink
from bidserver.ws.frames import Outgoing, text_frame

from ..runtime.test_room import BUYER, CONFIG, S1, S2, bid, open_room

OBSERVER = Actor(Role.OBSERVER, "o1")


class RecordingSink:
    """A sink that keeps what it is given; ``limit`` frames, then it reports lagging."""

    def __init__(self, limit: int = 1_000) -> None:
        self.frames: list[Outgoing] = []
        self.limit = limit
        self.closed_with: tuple[int, str] | None = None

    def write(self, out: Outgoing) -> bool:
        if len(self.frames) >= self.limit:
            return False
        self.frames.append(out)
        return True

    def close_soon(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)

    def messages(self) -> list[dict]:
        return [msgspec.json.decode(out.data) for out in self.frames]


def join(room, actor: Actor, since: int | None = None, limit: int = 1_000):
    sink = RecordingSink(limit)
    conn = Connection(actor, sink)
    room.auction.audience.join(conn, since)
    return conn, sink


async def test_each_audience_is_encoded_once_and_each_supplier_gets_its_exact_rank():
    room = await open_room()
    (_, a1), (_, a2), (_, b) = join(room, S1), join(room, S1), join(room, S2)
    _, watcher = join(room, OBSERVER)
    amounts = {"s1": [], "s2": []}
    for i in range(10):
        who = S1 if i % 2 else S2
        amount = 9_000 - 10 * i
        amounts[who.party].append(amount)
        assert (await room.submit(bid(who, amount, f"b{i}"))).ok
    assert len(b.frames) == len(watcher.frames) == 11
    # Rank only: s2's first bid, before s1 had bid, changed nothing s1 may see (no update).
    assert len(a1.frames) == len(a2.frames) == 10
    # The same Outgoing object (one encoding, one frame) for every socket of one audience.
    assert all(x is y for x, y in zip(a1.frames, a2.frames) if x.data.startswith(b'{"type":"update"'))
    for sink, party in ((a1, "s1"), (b, "s2")):
        last = sink.messages()[-1]
        mine = min(amounts[party])
        rank = 1 if mine == min(amounts["s1"] + amounts["s2"]) else 2
        assert last["you"]["lots"] == [
            {"lot_id": "L1", "best": mine, "rank": rank, "max_bid": mine - 10}  # improve_own
        ]
        assert last["view"]["lots"][0]["your_rank"] is None  # personal figures only in "you"
    assert watcher.messages()[-1]["you"] is None


async def test_a_supplier_is_listed_bids_entered_for_it_and_never_sees_another_supplier():
    room = await open_room()
    _, s1 = join(room, S1)
    assert (await room.submit(bid(S1, 9_000, "mine"))).ok  # answered by its bid_result
    phoned = PlaceBid(actor=BUYER, at=0, lot_id="L1", amount=8_900, bid_id="phoned", on_behalf_of="s1")
    assert (await room.submit(phoned)).ok
    assert (await room.submit(bid(S2, 8_000, "theirs"))).ok
    listed = [e for m in s1.messages()[1:] for e in m["events"]]
    assert [(e["bid_id"], e["yours"]) for e in listed if e["type"] == "bid_accepted"] == [
        ("phoned", True)
    ]
    assert s1.messages()[-1]["you"]["lots"] == [
        {"lot_id": "L1", "best": 8_900, "rank": 2, "max_bid": 8_890}
    ]
    assert b"s2" not in b"".join(out.data for out in s1.frames)
    await room.stop()


async def test_a_supplier_is_sent_its_new_limits_when_the_leader_moves():
    """Under "beat the leading bid" another supplier's bid moves everyone's ``max_bid``: the
    update carries the new ``you`` to each supplier, also one that has not bid."""
    config = msgspec.structs.replace(
        CONFIG, bid_rule=BidRule.BEAT_LEADER, visibility=Visibility.RANK_AND_LEADING_PRICE,
        fat_finger_bp=5_000,
    )
    room = await open_room(config=config)
    _, s1 = join(room, S1)
    assert s1.messages()[0]["you"]["lots"] == [
        {"lot_id": "L1", "max_bid": 10_000, "confirm_below": 5_000}
    ]
    assert (await room.submit(bid(S2, 9_000, "theirs"))).ok
    await wait_for(lambda: len(s1.frames) == 2)
    assert s1.messages()[-1]["you"]["lots"] == [
        {"lot_id": "L1", "max_bid": 8_990, "confirm_below": 5_000}
    ]
    assert (await room.submit(bid(S1, 8_000, "mine"))).ok
    await wait_for(lambda: len(s1.frames) == 3)
    assert s1.messages()[-1]["you"]["lots"] == [
        {"lot_id": "L1", "best": 8_000, "rank": 1, "max_bid": 7_990, "confirm_below": 4_000}
    ]
    await room.stop()


@pytest.mark.parametrize("since", [0, 3])
async def test_join_with_since_sends_everything_listed_after_it(since):
    room = await open_room()
    for i in range(3):
        await room.submit(bid(S1 if i % 2 else S2, 9_000 - 10 * i, f"b{i}"))
    _, sink = join(room, OBSERVER, since)  # an observer's cursor is the journal's seq
    welcome, update = sink.messages()
    assert welcome["type"] == "welcome" and welcome["seq"] == room.state.seq
    assert update["first_seq"] == since + 1 and update["seq"] == room.state.seq
    expected = [
        seq for seq in range(since + 1, room.state.seq + 1)
        if not isinstance(room.log.range(seq, 1)[0], SupplierInvited)
        and not isinstance(room.log.range(seq, 1)[0], BidAccepted)  # bids are in the view
    ]
    assert [e["seq"] for e in update["events"]] == expected
    await room.stop()


@pytest.mark.parametrize("since", [0, 1])
async def test_a_suppliers_cursor_counts_only_what_it_is_listed(since):
    room = await open_room()
    for i in range(3):
        await room.submit(bid(S1 if i % 2 else S2, 9_000 - 10 * i, f"b{i}"))
    _, sink = join(room, S2, since)
    welcome, update = sink.messages()
    # Listed to s2: the auction's creation and its opening; not the invitations, not the bids.
    assert welcome["seq"] == 2 and welcome["view"]["seq"] is None
    assert (update["first_seq"], update["seq"]) == (since + 1, 2)
    listed = [(e["seq"], e["type"]) for e in update["events"]]
    assert listed == [(1, "auction_created"), (2, "auction_opened")][since:]
    assert len(join(room, S2, 2)[1].frames) == 1  # up to date: the welcome alone
    await room.stop()


async def test_a_quiet_room_updates_at_once_a_burst_is_conflated_urgent_events_never_wait():
    room = await open_room(interval_s=60.0)  # a long interval: only what is not held flushes
    _, sink = join(room, OBSERVER)
    first = room.state.seq
    for i in range(3):  # one at a time: the room is quiet, each goes out at once
        assert (await room.submit(bid(S1 if i % 2 else S2, 9_000 - 10 * i, f"b{i}"))).ok
    assert [u["seq"] for u in sink.messages()[1:]] == [first + 1, first + 2, first + 3]
    room.auction.decided += 100_000  # as if a burst of bids had just been decided
    for i in range(3, 6):
        assert (await room.submit(bid(S1 if i % 2 else S2, 9_000 - 10 * i, f"b{i}"))).ok
    assert len(sink.frames) == 4  # held for the next slot, a minute away
    assert (await room.submit(ExtendAuction(actor=BUYER, at=0, by_ms=1000))).ok  # urgent
    last = sink.messages()[-1]
    assert len(sink.frames) == 5
    assert last["first_seq"] == first + 4 and last["seq"] == room.state.seq
    assert [e["type"] for e in last["events"]] == ["lot_extended"]  # the bids are in the view
    assert last["view"]["lots"][0]["leading_price"] == 9_000 - 50
    await room.stop()


async def test_the_buyer_gets_every_event():
    room = await open_room()
    _, sink = join(room, BUYER)
    first = room.state.seq
    for i in range(4):
        assert (await room.submit(bid(S1 if i % 2 else S2, 9_000 - 10 * i, f"b{i}"))).ok
    seqs = [e["seq"] for m in sink.messages()[1:] for e in m["events"]]
    assert seqs == list(range(first + 1, room.state.seq + 1))
    await room.stop()


async def test_a_lagging_socket_is_cut_off_and_stalls_nobody():
    room = await open_room()
    fast_conn, fast = join(room, OBSERVER)
    slow_conn, slow = join(room, OBSERVER, limit=3)
    for i in range(10):
        assert (await room.submit(bid(S1, 9_000 - 10 * i, f"b{i}"))).ok
    assert len(fast.frames) == 11
    assert slow.closed_with == (4408, "lagging") and slow_conn.closed and len(slow.frames) == 3
    assert not fast_conn.closed
    await room.stop()


class SlowSocket:
    """A peer that never reads: every send blocks forever."""

    def __init__(self) -> None:
        self.closed_with = None
        self.sent: list[str] = []

    async def send(self, frame: str) -> None:
        self.sent.append(frame)
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = code


class FastSocket(SlowSocket):
    async def send(self, frame: str) -> None:
        self.sent.append(frame)


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_queued_sink_drains_in_order_and_closes_a_laggard_with_4408():
    room = await open_room()
    fast_sock, slow_sock = FastSocket(), SlowSocket()
    fast = Connection(OBSERVER, QueuedSink(fast_sock.send, fast_sock.close, limit=4))
    slow = Connection(OBSERVER, QueuedSink(slow_sock.send, slow_sock.close, limit=4))
    for conn in (fast, slow):
        room.auction.audience.join(conn, None)
    for i in range(8):
        assert (await room.submit(bid(S2, 9_000 - 10 * i, f"b{i}"))).ok
        await wait_for(lambda: len(fast_sock.sent) == i + 2)
    assert [msgspec.json.decode(f)["type"] for f in fast_sock.sent] == ["welcome"] + ["update"] * 8
    assert slow.closed and len(slow_sock.sent) == 1  # stuck in its first send, then cut off
    assert not fast.closed
    fast.sink.cancel(), slow.sink.cancel()
    await room.stop()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 200_000])
def test_text_frame_is_a_valid_unmasked_frame(size):
    payload = ("é" * size).encode()[:size]
    data = text_frame(payload)
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    assert frame.opcode is Opcode.TEXT and frame.fin and frame.data == payload


async def test_a_big_audience_is_written_in_slices_and_updates_meanwhile_follow(monkeypatch):
    from bidserver.ws import fanout

    monkeypatch.setattr(fanout, "SLICE", 2)
    room = await open_room()
    sinks = [join(room, OBSERVER)[1] for _ in range(5)]
    assert (await room.submit(bid(S1, 9_000, "b0"))).ok
    assert sum(len(s.frames) for s in sinks) == 5  # welcomes only: the update waits its turn
    assert (await room.submit(bid(S2, 8_990, "b1"))).ok  # published while writing: follows
    await wait_for(lambda: all(len(s.frames) == 3 for s in sinks))
    for sink in sinks:
        updates = sink.messages()[1:]
        assert [u["seq"] for u in updates] == [room.state.seq - 1, room.state.seq]
        assert sink.frames[1] is sinks[0].frames[1]  # one shared frame per update
    await room.stop()


async def test_while_bids_pour_in_a_long_delivery_is_followed_by_a_rest(monkeypatch):
    from bidserver.ws import fanout

    monkeypatch.setattr(fanout, "SLICE", 2)
    room = await open_room()
    sinks = [join(room, OBSERVER)[1] for _ in range(5)]
    assert (await room.submit(bid(S1, 9_000, "b0"))).ok
    room.auction.decided += 10_000  # as if thousands of bids were decided during the delivery
    await wait_for(lambda: all(len(s.frames) == 2 for s in sinks))
    assert room.auction.audience._pacing.rest_until > float("-inf")  # a rest as long as the delivery
    quiet_room = await open_room()
    quiet = [join(quiet_room, OBSERVER)[1] for _ in range(5)]
    assert (await quiet_room.submit(bid(S1, 9_000, "b0"))).ok
    await wait_for(lambda: all(len(s.frames) == 2 for s in quiet))
    assert quiet_room.auction.audience._pacing.rest_until == float("-inf")  # nothing to make room for
    await room.stop()
    await quiet_room.stop()
