"""A command forwarded to the process that writes its auction keeps its sender's team roles: the
writer decides it for the same person, never for its side's defaults (a buyer's auditor would
otherwise act as the whole procurement team the moment its command crossed to another process)."""

from __future__ import annotations

import asyncio

from bidserver.engine.reverse.commands import CreateAuction, InviteSupplier, PlaceBid, StartAuction
from bidserver.engine.values import Actor, Role, TeamRole
from bidserver.runtime.bus import CommandBus, Reply
from bidserver.runtime.pubsub import pubsub_for
from bidserver.store.connect import is_cluster_url, redis_client
from bidserver.store.journal import MemoryJournal
from bidserver.store.keyspace import KeySpace

from .support import BUYER, clock, config, writer


async def test_a_forwarded_command_keeps_the_senders_team_roles(redis_url):
    room = writer(MemoryJournal(), clock)
    room.start()
    for command in (CreateAuction(actor=BUYER, at=0, auction_id="a1", config=config()),
                    InviteSupplier(actor=BUYER, at=0, supplier="s1"),
                    StartAuction(actor=BUYER, at=0)):
        assert (await room.submit(command)).ok
    redis = redis_client(redis_url)
    keys = KeySpace("t", sharded=is_cluster_url(redis_url))
    writing = CommandBus(pubsub_for(redis, redis_url), "w", keys)
    following = CommandBus(pubsub_for(redis, redis_url), "f", keys)
    await writing.start()
    await following.start()
    writing.serve(room.auction)
    decided: list[object] = []
    original = room.auction.submit_nowait

    def seen(command, callback) -> None:  # what the writer decodes, as it decodes it
        decided.append(command)
        original(command, callback)

    room.auction.submit_nowait = seen
    try:
        async def forwarded(command) -> Reply:
            answer: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
            following.forward("a1", "w", command, answer.set_result)
            reply = await asyncio.wait_for(answer, 5)
            assert reply is not None, "the writer did not answer"
            return reply

        auditor = Actor(Role.BUYER, "org-b", "ann", frozenset({TeamRole.AUDITOR}))
        phoned = PlaceBid(actor=auditor, at=0, lot_id="L1", amount=9_000, bid_id="p1",
                          on_behalf_of="s1")
        reply = await forwarded(phoned)
        assert decided[-1] == phoned and decided[-1].actor.roles == {TeamRole.AUDITOR}
        assert reply.rejection is not None and reply.rejection.reason == "forbidden"
        assert "p1" not in room.auction.state.bids

        manager = Actor(Role.BUYER, "org-b", "max", frozenset({TeamRole.PROCUREMENT_MANAGER}))
        reply = await forwarded(PlaceBid(actor=manager, at=0, lot_id="L1", amount=9_000,
                                         bid_id="p2", on_behalf_of="s1"))
        assert reply.rejection is None and reply.count == 1
        assert decided[-1].actor == manager
        assert room.auction.state.bids["p2"].entered_by == "org-b"
    finally:
        await following.close()
        await writing.close()
        await room.stop()
        await redis.aclose()
