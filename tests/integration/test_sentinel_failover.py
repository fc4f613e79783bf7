"""``bidserver serve`` on a replicated Redis behind Sentinel (a master, two replicas, three
Sentinels, all real, on loopback), and the master killed (``kill -9``) mid-bidding: the
Sentinels promote a replica, the same server process goes on taking bids on it (no restart), the
bids sent meanwhile are answered ``journal_unavailable`` and resent, and every bid ever
acknowledged is in the promoted master's journal exactly once (lost = 0, dup = 0)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis

from ..store.servers import SERVICE, replicated, sentinel_url, sentinels, tcp_port
from .conftest import BUYER, SUPPLIERS, auction_config, create_auction
from .harness import LiveClient, ServerProcess, journal_events, lot_view, token, wait_until
from .test_cluster import bid_until_answered

pytestmark = pytest.mark.slow

# Each bidder stands for many suppliers' traffic: the per-socket limit would measure the limiter.
UNLIMITED_RATE = {"BIDSERVER_RATE_LIMIT_PER_S": "100000", "BIDSERVER_RATE_LIMIT_BURST": "100000"}


def long_bidding() -> dict:
    """An auction open long enough for a failover, bid down one unit at a time."""
    return auction_config(duration_ms=600_000, decrement={"kind": "amount", "value": 1},
                          lots=[{"lot_id": "L1", "title": "Salt", "ceiling": 1_000_000}])


async def promoted_master(sentinel_ports: list[int], dead_port: int) -> str:
    """The promoted master's URL, once the first Sentinel names another than ``dead_port``: a
    Sentinel that did not lead the failover hears of it from the others a few seconds later."""

    def named() -> str | None:
        with redis.Redis(port=sentinel_ports[0], decode_responses=True) as sentinel:
            host, port = sentinel.sentinel_get_master_addr_by_name(SERVICE)
        return None if int(port) == dead_port else f"redis://{host}:{port}/0"

    return await wait_until(lambda: asyncio.to_thread(named), 30, "the Sentinels to agree", poll=0.1)


AFTER_THE_KILL = 20  # bids each supplier gets acknowledged after the kill


class ResendingBidder:
    """One supplier bidding lower and lower, one bid at a time; a bid answered
    ``journal_unavailable`` is sent again with the same id, as the protocol asks."""

    def __init__(self, client: LiveClient, start: int, step: int = len(SUPPLIERS)) -> None:
        self.client = client
        self.amount = start
        self.step = step  # the auction's number of bidders: no two bid the same amount
        self.acked: dict[str, float] = {}  # bid id -> when its acceptance arrived
        self.refused = 0

    async def bid_until(self, done) -> None:
        while not done(self):
            bid_id = str(uuid.uuid4())
            while True:
                answer = await self.client.bid("L1", self.amount, bid_id)
                if answer["status"] == "accepted":
                    self.acked[bid_id] = time.monotonic()
                    break
                assert answer["reason"] == "journal_unavailable", answer
                self.refused += 1
                await asyncio.sleep(0.05)  # the client's back-off
            self.amount -= self.step


async def assert_journaled_once(redis_url: str, auction_id: str,
                                bidders: list[ResendingBidder]) -> None:
    """Every bid acknowledged to ``bidders`` is in the auction's journal (lost: 0), and no bid
    is in it twice (duplicated: 0)."""
    events = await journal_events(redis_url, auction_id)
    accepted = [e["bid_id"] for e in events if e["type"] == "bid_accepted"]
    acked = [bid_id for b in bidders for bid_id in b.acked]
    assert sorted(set(accepted) & set(acked)) == sorted(acked)  # lost: 0
    assert len(accepted) == len(set(accepted))  # duplicated: 0


async def test_a_killed_master_is_replaced_under_bidding_without_a_restart(tmp_path):
    with replicated(tmp_path / "redis", replicas=2) as (master, _), \
            sentinels(tmp_path / "sentinels", tcp_port(master)) as ports:
        server = ServerProcess(
            sentinel_url(ports), tmp_path / "server", single_machine=False,
            env=UNLIMITED_RATE,
        )
        server.start()
        try:
            assert server.metrics().value("bidserver_journal_replicas") == 1
            config = long_bidding()
            buyer, auction_id = await create_auction(server, config)
            assert (await buyer.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
            bidders = [
                ResendingBidder(await LiveClient(server, auction_id, token("supplier", s)).connect(),
                                900_000 - i)
                for i, s in enumerate(SUPPLIERS)
            ]
            await asyncio.gather(*(b.bid_until(lambda b: len(b.acked) >= 10) for b in bidders))

            master.kill()
            killed = time.monotonic()
            await asyncio.wait_for(asyncio.gather(*(
                b.bid_until(lambda b: sum(t > killed for t in b.acked.values()) >= AFTER_THE_KILL)
                for b in bidders)), timeout=90)
            first = min(t for b in bidders for t in b.acked.values() if t > killed)
            print(f"kill -9 of the master: first bid accepted {first - killed:.2f} s later, "
                  f"{sum(b.refused for b in bidders)} answered journal_unavailable meanwhile")

            promoted = await promoted_master(ports, tcp_port(master))
            await assert_journaled_once(promoted, auction_id, bidders)
            for bidder in bidders:
                await bidder.client.close()
        finally:
            server.stop()


async def test_two_processes_follow_the_failover_writer_follower_and_bus(tmp_path):
    """``--cluster`` on Sentinel: process a writes the auction, process b follows it and
    forwards its supplier's bids over the command bus. The master killed, both keep their
    leases, their bus and their stream following on the promoted replica: b's supplier bids
    again (resending while Redis is away) and b's watcher sees the new price."""
    with replicated(tmp_path / "redis", replicas=2) as (master, _), \
            sentinels(tmp_path / "sentinels", tcp_port(master)) as ports:
        env = {"BIDSERVER_LEASE_TTL_MS": "1000"}
        a, b = (ServerProcess(sentinel_url(ports), tmp_path / n, ("--cluster",), env,
                              single_machine=False) for n in "ab")
        a.start()
        b.start()
        try:
            buyer, auction_id = await create_auction(a, auction_config(visibility="full_board"))
            assert (await buyer.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
            supplier = await LiveClient(b, auction_id, token("supplier", next(iter(SUPPLIERS)))).connect()
            watcher = await LiveClient(b, auction_id, token("observer", BUYER)).connect()
            first = await supplier.bid("L1", 99_000)
            assert first["status"] == "accepted", first

            master.kill()
            killed = time.monotonic()
            again = await bid_until_answered(supplier, 98_000, timeout=60)
            assert again["status"] == "accepted", again
            print(f"--cluster on Sentinel: a bid through the follower accepted "
                  f"{time.monotonic() - killed:.2f} s after the kill")
            await watcher.wait_view(lambda v: lot_view(v, "L1")["leading_price"] == 98_000, 30)
            events = await journal_events(await promoted_master(ports, tcp_port(master)), auction_id)
            accepted = [e["bid_id"] for e in events if e["type"] == "bid_accepted"]
            assert accepted == [first["bid_id"], again["bid_id"]]  # lost 0, dup 0
            for client in (supplier, watcher):
                await client.close()
        finally:
            a.stop()
            b.stop()
