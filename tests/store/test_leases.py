"""Leases on a real Redis, one Redis and a Redis Cluster alike: one holder at a time, renewal,
expiry, release; on a cluster each lease in its auction's slot, many renewed across shards."""

from __future__ import annotations

import asyncio

from redis.crc import key_slot

from bidserver.store.connect import is_cluster_url, redis_client
from bidserver.store.keyspace import KeySpace
from bidserver.store.leases import Leases


async def test_one_holder_at_a_time_until_it_expires_or_is_released(redis_url):
    redis = redis_client(redis_url)
    keys = KeySpace("t1", sharded=is_cluster_url(redis_url))
    a = Leases(redis, "node-a", keys, ttl_ms=300)
    b = Leases(redis, "node-b", keys, ttl_ms=300)
    assert await a.acquire("x") and await a.acquire("x")  # taking it again keeps it
    assert not await b.acquire("x")
    assert await a.owners(["x", "y"]) == {"x": "node-a", "y": None}
    assert await a.renew(["x"]) == set()
    assert await b.renew(["x"]) == {"x"}  # b does not hold it
    deadline = asyncio.get_running_loop().time() + 5
    while not await b.acquire("x"):  # a stops renewing: the lease expires
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert await a.renew(["x"]) == {"x"}
    await a.release("x")  # not a's: nothing happens
    assert (await a.owners(["x"]))["x"] == "node-b"
    await b.release("x")
    assert await a.acquire("x")
    await redis.aclose()


async def test_many_leases_across_shards_are_renewed_and_looked_up_together(redis_url):
    redis = redis_client(redis_url)
    keys = KeySpace("t2", sharded=is_cluster_url(redis_url))
    a = Leases(redis, "node-a", keys, ttl_ms=5000)
    b = Leases(redis, "node-b", keys, ttl_ms=5000)
    ids = [f"auction-{i}" for i in range(40)]
    assert len({keys.shard(i) for i in ids}) == keys.shards  # every shard (16 on a cluster)
    for auction_id in ids[:30]:
        assert await a.acquire(auction_id)
    assert await b.acquire(ids[30])
    assert await a.renew(ids[:31]) == {ids[30]}
    owners = await b.owners(ids)
    assert owners == {i: "node-a" if n < 30 else "node-b" if n == 30 else None
                      for n, i in enumerate(ids)}
    await redis.aclose()


def test_a_lease_is_named_as_ever_on_one_redis_and_in_its_auctions_slot_on_a_cluster():
    assert KeySpace("p").owner("x") == "p:owner:x"
    sharded = KeySpace("p", sharded=True)
    for auction_id in ("x", "y", "an-auction"):
        assert (key_slot(sharded.owner(auction_id).encode())
                == key_slot(sharded.stream(auction_id).encode()))
