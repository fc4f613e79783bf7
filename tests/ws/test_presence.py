"""The suppliers' presence in the buyer's live room (``ws.presence``), with the tracker alone in the
process: who is told, what, and how often."""

from __future__ import annotations

from bidserver.engine.reverse.commands import CreateAuction, InviteSupplier, StartAuction
from bidserver.engine.reverse.values import Actor, Role
from bidserver.runtime.presence import Presence
from bidserver.store.journal import MemoryJournal

from ..runtime.support import BUYER, S1, S2, config, writer
from ..runtime.test_room import Clock
from .test_fanout import OBSERVER, join, wait_for


async def presence_room(clock: Clock, interval_s: float = 0.0, suppliers=("s1", "s2")):
    presence = Presence(clock)
    room = writer(MemoryJournal(), clock, presence=presence, interval_s=interval_s)
    room.start()
    commands = [CreateAuction(actor=BUYER, at=0, auction_id="a1", config=config())]
    commands += [InviteSupplier(actor=BUYER, at=0, supplier=s) for s in suppliers]
    for command in [*commands, StartAuction(actor=BUYER, at=0)]:
        assert (await room.submit(command)).ok
    return room


def presences(sink) -> list[dict]:
    return [m for m in sink.messages() if m["type"] == "presence"]


async def test_the_buyer_is_told_who_is_connected_and_when_each_left():
    clock = Clock()
    room = await presence_room(clock)
    _, buyer = join(room, BUYER)
    welcome, first = buyer.messages()
    assert welcome["type"] == "welcome" and first == {
        "type": "presence", "server_time": clock.now,
        "suppliers": [{"supplier": "s1", "online": False, "last_seen": None},
                      {"supplier": "s2", "online": False, "last_seen": None}],
    }
    clock.now += 1_000
    s1, s1_sink = join(room, S1)
    assert presences(buyer)[-1]["suppliers"][0] == {
        "supplier": "s1", "online": True, "last_seen": clock.now}
    clock.now += 1_000
    left_at = clock.now
    s1.closed = True
    room.auction.audience.leave(s1)
    clock.now += 1_000
    await wait_for(lambda: len(presences(buyer)) == 3)
    assert presences(buyer)[-1]["suppliers"][0] == {
        "supplier": "s1", "online": False, "last_seen": left_at}
    await room.stop()


async def test_suppliers_and_observers_are_never_told():
    room = await presence_room(Clock())
    _, s1 = join(room, S1)
    _, observer = join(room, OBSERVER)
    join(room, S2)
    join(room, BUYER)
    assert not presences(s1) and not presences(observer)
    assert b"s2" not in b"".join(out.data for out in s1.frames)
    await room.stop()


async def test_many_reconnecting_suppliers_make_a_few_messages_encoded_once():
    clock = Clock()
    suppliers = [f"s{i}" for i in range(200)]
    room = await presence_room(clock, interval_s=0.05, suppliers=suppliers)
    _, one = join(room, BUYER)
    _, two = join(room, Actor(Role.BUYER, BUYER.party, "a colleague"))
    for supplier in suppliers:
        join(room, Actor(Role.SUPPLIER, supplier))

    def all_online() -> bool:
        last = presences(one)[-1]["suppliers"]
        return len(last) == 200 and all(s["online"] for s in last)

    await wait_for(all_online)
    assert len(presences(one)) <= 3  # the welcome's, the first change at once, the rest together

    def told(sink) -> list:  # after the one each socket got after its welcome
        return [out for out in sink.frames if out.data.startswith(b'{"type":"presence"')][1:]

    mine, theirs = told(one), told(two)
    assert mine and len(mine) == len(theirs)
    assert all(x is y for x, y in zip(mine, theirs))  # one encoding for both sockets
    await room.stop()


async def test_an_invitation_adds_the_supplier_to_the_list():
    room = await presence_room(Clock(), suppliers=("s1",))
    _, buyer = join(room, BUYER)
    assert (await room.submit(InviteSupplier(actor=BUYER, at=0, supplier="s9"))).ok
    await wait_for(lambda: len(presences(buyer)) == 2)
    assert [s["supplier"] for s in presences(buyer)[-1]["suppliers"]] == ["s1", "s9"]
    await room.stop()
