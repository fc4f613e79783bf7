"""Leases on a real Redis: one holder at a time, renewal, expiry, release."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bidserver.store.leases import Leases


async def test_one_holder_at_a_time_until_it_expires_or_is_released(redis_server):
    redis = Redis.from_url(redis_server.url)
    a = Leases(redis, "node-a", prefix="t1", ttl_ms=300)
    b = Leases(redis, "node-b", prefix="t1", ttl_ms=300)
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
