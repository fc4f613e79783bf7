"""``bidserver serve`` on a Redis Cluster (3 masters with a replica each, all real, on loopback)
and one master killed (``kill -9``) under 100 bidding suppliers: 20 auctions of 5 suppliers,
spread over the shards. The killed master's replica is promoted, and, once the killed node is back
as its replica (started again as a supervisor would; every bid waits for a replica), the same
server process, never restarted, takes bids again on the promoted master. Meanwhile bids on that
master's auctions are answered ``journal_unavailable`` and resent; the other auctions go on. Every
bid ever acknowledged is in its auction's journal exactly once (lost = 0, dup = 0)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bidserver.store.keyspace import KeySpace

from ..store.cluster_servers import redis_cluster
from .conftest import create_auction
from .harness import JOURNAL_PREFIX, LiveClient, ServerProcess, token
from .test_sentinel_failover import (
    UNLIMITED_RATE, ResendingBidder, assert_journaled_once, long_bidding,
)

pytestmark = pytest.mark.slow

AUCTIONS, PER_AUCTION = 20, 5
BEFORE, AFTER = 3, 3  # bids each supplier gets acknowledged before the kill, and after it


async def test_kill_9_of_a_master_under_100_bidders_loses_no_acknowledged_bid(tmp_path):
    with redis_cluster(tmp_path / "redis") as cluster:
        server = ServerProcess(
            cluster.url, tmp_path / "server", single_machine=False,
            env=UNLIMITED_RATE,
        )
        server.start()
        try:
            assert server.metrics().value("bidserver_journal_replicas") == 1
            config = long_bidding()
            auctions: dict[str, list[ResendingBidder]] = {}
            for n in range(AUCTIONS):
                suppliers = {f"sup-{n}-{i}": f"Supplier {n}.{i}" for i in range(PER_AUCTION)}
                buyer, auction_id = await create_auction(server, config, suppliers)
                started = await buyer.call("POST", f"/api/auctions/{auction_id}/start")
                assert started.status_code == 200, started.text
                auctions[auction_id] = [
                    ResendingBidder(await LiveClient(server, auction_id, token("supplier", s))
                                    .connect(), 900_000 - i, step=PER_AUCTION)
                    for i, s in enumerate(suppliers)
                ]
            bidders = [b for group in auctions.values() for b in group]
            assert len(bidders) == 100
            await asyncio.gather(*(b.bid_until(lambda b: len(b.acked) >= BEFORE) for b in bidders))

            keys = KeySpace(JOURNAL_PREFIX, sharded=True)
            victim = cluster.master_of_key(keys.stream(next(iter(auctions))))
            hit = [a for a in auctions if cluster.master_of_key(keys.stream(a)) == victim]
            cluster.kill(victim)
            killed = time.monotonic()
            await asyncio.to_thread(cluster.wait_promoted, victim)
            promoted = time.monotonic()
            cluster.restart(victim)  # its supervisor starts it again: the promoted one's replica
            await asyncio.wait_for(asyncio.gather(*(
                b.bid_until(lambda b: sum(t > killed for t in b.acked.values()) >= AFTER)
                for b in bidders)), timeout=120)
            first = min(t for a in hit for b in auctions[a] for t in b.acked.values() if t > killed)
            refused = sum(b.refused for a in hit for b in auctions[a])
            others = sum(b.refused for a in auctions if a not in hit for b in auctions[a])
            print(f"kill -9 of a master under 100 bidders: promotion after {promoted - killed:.2f} s, "
                  f"first bid accepted on its {len(hit)} auctions {first - killed:.2f} s after the "
                  f"kill; {refused} answered journal_unavailable there and resent, {others} on the "
                  f"other {AUCTIONS - len(hit)} auctions")
            assert others == 0  # the other masters' auctions never stopped

            for auction_id, group in auctions.items():  # from whichever node serves it now
                await assert_journaled_once(cluster.url, auction_id, group)
            for bidder in bidders:
                await bidder.client.close()
        finally:
            server.stop()
