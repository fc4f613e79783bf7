"""A follower shows another process's auction from its journal stream: only once what it read is
proven durable (``follower.apply_batch``: one journal fence per read, then apply). On the memory
twin and on real servers: WAITAOF (``appendfsync everysec``) and AOF ``always`` (no fence sent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from bidserver.engine.reverse import replay, state_bytes
from bidserver.engine.reverse.commands import CreateAuction, InviteSupplier, PlaceBid, StartAuction
from bidserver.store.journal import Journal, JournalUnavailable, MemoryJournal
from bidserver.store.redis_journal import RedisJournal
from bidserver.runtime.replica import Replica, apply_batch

from ..store.servers import everysec_server
from .support import BUYER, S1, clock, config, events_of, replica, writer

CONFIG = config()



async def write_auction(journal: Journal, auction_id: str, bids: int = 2) -> None:
    """Another process's writer: an auction with a few bids in the journal."""
    room = writer(journal, clock, auction_id=auction_id, interval_s=0.0)
    room.start()
    commands = [
        CreateAuction(actor=BUYER, at=0, auction_id=auction_id, config=CONFIG),
        InviteSupplier(actor=BUYER, at=0, supplier="s1"),
        StartAuction(actor=BUYER, at=0),
    ] + [
        PlaceBid(actor=S1, at=0, lot_id="L1", amount=9_000 - 10 * i, bid_id=f"b{i}")
        for i in range(bids)
    ]
    for command in commands:
        assert (await room.submit(command)).ok
    await room.stop()


def follower(auction_id: str, fence) -> Replica:
    return replica(clock, None, fence, auction_id=auction_id)  # no commands are forwarded here


async def xread_all(redis: Redis, journal: RedisJournal, followers: list[Replica]):
    """What the cluster's follow loop reads: one XREAD over every followed stream."""
    streams = {journal.stream_key(f.auction_id): f"{f.state.seq}-0" for f in followers}
    by_key = {journal.stream_key(f.auction_id).encode(): f for f in followers}
    found = await redis.xread(streams, count=5000)
    return [
        (by_key[key], [(int(i.split(b"-", 1)[0]), fields[b"e"]) for i, fields in entries])
        for key, entries in found
    ]


# ---------------------------------------------------------------- the memory twin


async def test_one_fence_per_read_then_every_replica_applies_its_entries():
    journal = MemoryJournal()
    for auction_id in ("a1", "a2"):
        await write_auction(journal, auction_id)
    followers = [follower(a, journal.fence) for a in ("a1", "a2")]
    batch = [(f, await journal.read(f.auction_id, durable=False)) for f in followers]
    fences = journal.fence_calls

    await apply_batch(batch)
    assert journal.fence_calls == fences + 1
    for f in followers:
        stored = events_of(await journal.read(f.auction_id, durable=False))
        assert state_bytes(f.state) == state_bytes(replay(f.auction_id, stored))
        assert "b1" in f.state.bids


async def test_what_cannot_be_proven_durable_is_not_applied():
    journal = MemoryJournal()
    await write_auction(journal, "a1")
    replica = follower("a1", journal.fence)
    entries = await journal.read("a1", durable=False)
    journal.fences_fail = True
    with pytest.raises(JournalUnavailable):
        await replica.apply_durable(entries)
    assert replica.state.seq == 0 and list(replica.log) == []  # nothing shown, nothing to answer from
    journal.fences_fail = False
    await replica.apply_durable(entries)  # the next read from the same place
    assert replica.state.seq == len(entries)


async def test_an_empty_read_costs_no_fence_and_a_stopped_replica_ignores_entries():
    journal = MemoryJournal()
    await write_auction(journal, "a1")
    replica = follower("a1", journal.fence)
    fences = journal.fence_calls
    await apply_batch([(replica, [])])
    assert journal.fence_calls == fences
    await replica.stop()  # taken over: its state now belongs to the Room
    await apply_batch([(replica, await journal.read("a1", durable=False))])
    assert replica.state.seq == 0


# ---------------------------------------------------------------- real servers


async def test_on_waitaof_another_writers_batch_is_shown_once_fenced(tmp_path: Path):
    with everysec_server(tmp_path / "everysec") as server:
        writer = RedisJournal(server.url)
        reader = RedisJournal(server.url)  # the following process's journal
        assert await writer.connect() == await reader.connect() == "waitaof"
        follow = Redis.from_url(server.url)  # its XREAD connection
        for auction_id in ("a1", "a2"):
            await write_auction(writer, auction_id)
        followers = [follower(a, reader.fence) for a in ("a1", "a2")]

        batch = await xread_all(follow, reader, followers)
        assert len(batch) == 2
        await apply_batch(batch)
        assert await reader.redis.get(reader.fence_key) == b"1"  # one fence for both streams
        assert all("b1" in f.state.bids for f in followers)

        await write_auction(writer, "a3")
        late = follower("a3", reader.fence)
        batch = await xread_all(follow, reader, [late])
        await reader.redis.config_set("appendonly", "no")  # its fsync can no longer be proven
        with pytest.raises(JournalUnavailable):
            await apply_batch(batch)
        assert late.state.seq == 0
        await follow.aclose()
        await writer.close()
        await reader.close()


async def test_on_aof_always_following_sends_no_fence(redis_server):
    writer = RedisJournal(redis_server.url)
    reader = RedisJournal(redis_server.url)
    assert await writer.connect() == await reader.connect() == "aof_always"
    follow = Redis.from_url(redis_server.url)
    await write_auction(writer, "a1")
    replica = follower("a1", reader.fence)
    await reader.redis.config_resetstat()
    await apply_batch(await xread_all(follow, reader, [replica]))
    assert "b1" in replica.state.bids
    stats = await reader.redis.info("commandstats")
    assert "cmdstat_waitaof" not in stats and "cmdstat_incr" not in stats
    await follow.aclose()
    await writer.close()
    await reader.close()
