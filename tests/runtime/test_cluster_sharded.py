"""``serve --cluster`` on a real Redis Cluster: a command about an auction travels on its shard's
slot only (sharded pub/sub, issue 13), and after the master of a followed auction's slot is
killed and its replica promoted, the lease, the command bus and the follower work again without
restarting anything; commands during the failover are refused in time, never left hanging."""

from __future__ import annotations

import asyncio
import time
import uuid

from redis.crc import key_slot

from bidserver.engine.reverse.commands import InviteSupplier, PlaceBid, StartAuction
from bidserver.runtime.bus import FORWARD_TIMEOUT_S
from bidserver.runtime.replica import CATCH_UP_TIMEOUT_S

from ..store.cluster_servers import redis_cluster as private_cluster
from .processes import node
from .support import BUYER, S1, config

# The longest a forwarded command may take to be answered or refused.
ANSWER_BOUND_S = FORWARD_TIMEOUT_S + CATCH_UP_TIMEOUT_S + 1.0


async def started_auction(rooms) -> str:
    auction, created = await rooms.create(BUYER, config())
    assert created.ok
    for command in (InviteSupplier(actor=BUYER, at=0, supplier="s1"), StartAuction(actor=BUYER, at=0)):
        assert (await auction.submit(command)).ok
    return auction.auction_id


def bid(amount: int, bid_id: str | None = None) -> PlaceBid:
    return PlaceBid(actor=S1, at=0, lot_id="L1", amount=amount, bid_id=bid_id or str(uuid.uuid4()))


async def test_a_command_travels_on_its_auctions_shard_slot_only(redis_cluster):
    async with node(redis_cluster.url) as a, node(redis_cluster.url) as b:
        auction_id = await started_auction(a.rooms)
        followed = await b.rooms.get(auction_id)
        assert not followed.writer
        keys = a.cluster.keys
        home = redis_cluster.master_of_key(keys.stream(auction_id))
        channel = keys.command_channel(keys.shard(auction_id), a.cluster.node)
        assert key_slot(channel.encode()) == key_slot(keys.stream(auction_id).encode())
        with redis_cluster.client(home) as c:  # the writer listens on that slot's master
            assert c.execute_command("PUBSUB", "SHARDNUMSUB", channel) == [channel.encode(), 1]
        masters = redis_cluster.masters()
        for port in masters:
            with redis_cluster.client(port) as c:
                c.config_resetstat()

        assert (await followed.submit(bid(9_000))).ok  # forwarded by b, answered by a

        published = {}
        for port in masters:
            with redis_cluster.client(port) as c:
                stats = c.info("commandstats")
            assert "cmdstat_publish" not in stats  # nothing broadcast to every node
            published[port] = stats.get("cmdstat_spublish", {}).get("calls", 0)
        assert published == {p: 2 if p == home else 0 for p in masters}  # the command, its answer


async def bid_until_accepted(handle, amount: int, timeout_s: float = 30.0) -> list[str]:
    """Resend the same bid until accepted, as a client does; the refusals met meanwhile, each
    in time."""
    refusals = []
    bid_id = str(uuid.uuid4())
    deadline = time.monotonic() + timeout_s
    while True:
        started = time.monotonic()
        async with asyncio.timeout(ANSWER_BOUND_S):
            result = await handle.submit(bid(amount, bid_id))
        if result.ok:
            return refusals
        assert result.failure is not None, result  # unavailable, not a decision
        refusals.append(result.failure.value)
        assert time.monotonic() < deadline, f"still refused: {refusals[-5:]}"
        await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - started)))


async def test_leases_bus_and_followers_recover_when_a_master_fails_over(tmp_path):
    with private_cluster(tmp_path / "cluster") as cluster:
        async with node(cluster.url, ttl_ms=10_000) as a, node(cluster.url, ttl_ms=10_000) as b:
            auction_id = await started_auction(a.rooms)
            followed = await b.rooms.get(auction_id)
            assert (await followed.submit(bid(9_900))).ok
            key = a.cluster.keys.stream(auction_id)
            old = cluster.master_of_key(key)

            cluster.kill(old)
            async with asyncio.timeout(ANSWER_BOUND_S):  # refused, in time, during the failover
                during = await followed.submit(bid(9_000))
            assert during.failure is not None, during
            await asyncio.to_thread(cluster.wait_promoted, old)
            cluster.wait_ok()

            # The bus and the follower: a bid through b reaches a and comes back, shown by b.
            await bid_until_accepted(followed, 9_800)
            assert followed.state.seq == (await a.rooms.get(auction_id)).state.seq
            # The lease: still a's, renewed on the promoted master.
            assert await a.cluster.leases.renew([auction_id]) == set()
            assert await b.cluster.leases.owners([auction_id]) == {auction_id: a.cluster.node}
            assert (await a.rooms.get(auction_id)).writer and not followed.writer

            cluster.restart(old)  # back as the promoted master's replica
            cluster.wait_ok()
            await bid_until_accepted(followed, 9_700)
