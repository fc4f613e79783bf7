"""``examples/award_consumer.py`` against a real ``bidserver serve``: by default it finds the
embedded journal of the data directory (not some Redis on localhost:6379), waits for it, says
what it does, and when the Redis dies and the server restarts it, reconnects and goes on."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from itertools import count
from pathlib import Path

import redis.asyncio as aioredis

from bidserver.store.awards import DEFAULT_PREFIX
from bidserver.store.connect import redis_client
from bidserver.store.journal import AwardRecord
from bidserver.store.keyspace import KeySpace
from bidserver.store.redis_journal import RedisJournal

from ..store.chained import sealed
from ..store.cluster_servers import redis_cluster
from .conftest import SUPPLIERS, auction_config, create_auction
from .harness import Api, ServerProcess, token

EXAMPLE = Path(__file__).parents[2] / "examples" / "award_consumer.py"
# The example, run as a command, imports the bidserver of this checkout (not another installed).
CHECKOUT = {"PYTHONPATH": str(EXAMPLE.parents[1])}
S1 = next(iter(SUPPLIERS))


async def _until(predicate, what: str, timeout: float = 30.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():
                await asyncio.sleep(0.05)  # poll interval
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


async def _awarded_auction(server: ServerProcess) -> str:
    """An auction whose only lot closes within a second and is awarded (bid below reserve)."""
    buyer, auction_id = await create_auction(server, auction_config(duration_ms=800),
                                             suppliers={S1: "Alpha"})
    assert (await buyer.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    bid = {"bid_id": "b1", "lot_id": "L1", "amount": 97_500}
    placed = await Api(server, token("supplier", S1)).call(
        "POST", f"/api/auctions/{auction_id}/bids", bid)
    assert placed.status_code == 201, placed.text
    return auction_id


async def test_the_consumer_finds_the_embedded_journal_and_survives_its_restart(tmp_path):
    data = tmp_path / "data"
    socket_url = f"unix://{data / 'redis' / 'redis.sock'}"
    log_path = tmp_path / "consumer.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")}
    with open(log_path, "wb") as log:
        consumer = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--data-dir", str(data), "--consumer", "c1"],
            env={**env, **CHECKOUT, "AWARD_SIGNING_KEY": "k", "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.DEVNULL, stderr=log,
        )
    server = ServerProcess("", data)

    async def logged(text: str, times: int = 1) -> bool:
        assert consumer.poll() is None, log_path.read_text()
        return log_path.read_text().count(text) >= times

    try:
        await _until(lambda: logged(f"waiting for Redis at {socket_url}"), "it waits")
        server.start()
        await _until(lambda: logged(f"connected to {socket_url}"), "it connects")
        r = aioredis.from_url(socket_url)
        try:
            first = await _awarded_auction(server)
            await _until(lambda: r.hexists("contracts:signatures", f"{first}:L1"), "signed")

            os.kill(int((data / "redis" / "embedded.pid").read_text()), signal.SIGKILL)
            await _until(lambda: logged(f"lost Redis at {socket_url}"), "it notices")
            await _until(lambda: logged(f"connected to {socket_url}", times=2), "it reconnects")
            second = await _awarded_auction(server)
            await _until(lambda: r.hexists("contracts:signatures", f"{second}:L1"), "signed")
            assert await r.hlen("contracts:signatures") == 2
        finally:
            await r.aclose()
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=10) == 0
        assert "Traceback" not in log_path.read_text()
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
        server.stop()


async def test_the_consumer_follows_every_shard_of_a_cluster_and_survives_a_failover(tmp_path):
    """On a Redis Cluster (``--redis-url redis+cluster://...``) it reads the 16 shards' awards
    streams, and goes on when a master dies and its replica takes over. ``serve`` does not run
    on a cluster yet, so the awards are appended with ``RedisJournal`` as the server would."""
    with redis_cluster(tmp_path / "cluster") as cluster:
        log_path = tmp_path / "consumer.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")}
        with open(log_path, "wb") as log:
            consumer = subprocess.Popen(
                [sys.executable, str(EXAMPLE), "--redis-url", cluster.url, "--consumer", "c1"],
                env={**env, **CHECKOUT, "AWARD_SIGNING_KEY": "k", "PYTHONUNBUFFERED": "1"},
                stdout=subprocess.DEVNULL, stderr=log,
            )

        async def logged(text: str) -> bool:
            assert consumer.poll() is None, log_path.read_text()
            return text in log_path.read_text()

        keys = KeySpace(DEFAULT_PREFIX, sharded=True)
        r = redis_client(cluster.url)
        try:
            await _until(lambda: logged(f"connected to {cluster.url}"), "it connects")
            first = await _award_in_every_shard(cluster.url, keys, "a")
            await _until(lambda: _all_signed(r, first), "every shard's award signed")

            dead = cluster.master_of_key(keys.shard_key(0, "awards"))
            cluster.kill(dead)
            await asyncio.to_thread(cluster.wait_promoted, dead)  # every node says ok until then
            await asyncio.to_thread(cluster.wait_ok)
            assert cluster.master_of_key(keys.shard_key(0, "awards")) != dead
            second = await _award_in_every_shard(cluster.url, keys, "b")
            await _until(lambda: _all_signed(r, second), "every shard's award signed again")
            assert sum([await r.hlen(h) for h in SIGNATURES_OF_SHARDS]) == 32
        finally:
            await r.aclose()
        consumer.send_signal(signal.SIGTERM)
        try:
            assert consumer.wait(timeout=10) == 0
        finally:
            if consumer.poll() is None:
                consumer.kill()
                consumer.wait()
        assert "Traceback" not in log_path.read_text()


async def _award_in_every_shard(url: str, keys: KeySpace, tag: str) -> list[str]:
    """One awarded auction per shard, appended as the server's journal would; their award ids."""
    journal = RedisJournal(url)
    await journal.connect()
    award_ids = []
    try:
        for shard in range(keys.shards):
            auction_id = next(f"{tag}-{n}" for n in count() if keys.shard(f"{tag}-{n}") == shard)
            award = AwardRecord(f"{auction_id}:L1", auction_id, "L1", b"{}")
            await journal.append(auction_id, 1, sealed(1, 1), [award])
            award_ids.append(award.award_id)
    finally:
        await journal.close()
    return award_ids


# The example's hashes of signatures on a cluster: one per shard, in the shard's slot.
SIGNATURES_OF_SHARDS = KeySpace("contracts", sharded=True).of_every_shard("signatures")


async def _all_signed(r, award_ids: list[str]) -> bool:
    signed = set()
    for signatures in SIGNATURES_OF_SHARDS:
        signed |= {k.decode() for k in await r.hkeys(signatures)}
    return signed >= set(award_ids)
