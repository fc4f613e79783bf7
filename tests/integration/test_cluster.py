"""Two bidserver processes on one Redis and on a Redis Cluster (``serve --redis-url
redis+cluster://... --cluster``): one writer per auction, every participant served by either
process, and the survivor takes an auction over when its writer is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import pytest

from .conftest import BUYER, SUPPLIERS, auction_config, create_auction
from ..procs import children, name
from .harness import Api, LiveClient, ServerProcess, lot_view, token

S1, S2, S3 = SUPPLIERS
LEASE_MS = "1000"


@pytest.fixture
def pair(redis_url, tmp_path):
    """Two ``serve --cluster`` processes, on one Redis and on a Redis Cluster."""
    env = {"BIDSERVER_LEASE_TTL_MS": LEASE_MS}
    a = ServerProcess(redis_url, tmp_path / "a", ("--cluster",), env)
    b = ServerProcess(redis_url, tmp_path / "b", ("--cluster",), env)
    a.start()
    b.start()
    yield a, b
    a.stop()
    b.stop()


def loaded(server: ServerProcess, mode: str) -> float:
    """Auctions the server writes (``writer``) or follows (``replica``), from its metrics."""
    return server.metrics().value("bidserver_auctions_loaded", mode=mode)


async def bid_until_answered(client: LiveClient, amount: int, timeout: float = 15.0) -> dict:
    """Resend the same bid id while the writer is unavailable (what a client does)."""
    bid_id = str(uuid.uuid4())
    deadline = time.monotonic() + timeout
    while True:
        result = await client.bid("L1", amount, bid_id)
        if result.get("reason") not in ("writer_unavailable", "journal_unavailable", "not_decided"):
            return result
        assert time.monotonic() < deadline, "no writer took the auction over"
        await asyncio.sleep(0.1)


async def test_participants_on_either_process_bid_and_see_the_same_board(pair):
    a, b = pair
    buyer_api, auction_id = await create_auction(a, auction_config(visibility="full_board"))
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    s1 = await LiveClient(b, auction_id, token("supplier", S1)).connect()  # follows
    s2 = await LiveClient(a, auction_id, token("supplier", S2)).connect()  # writes
    watcher = await LiveClient(b, auction_id, token("observer", BUYER)).connect()
    assert loaded(a, "writer") == 1 and loaded(b, "replica") == 1

    first = await s1.bid("L1", 99_000)  # forwarded from b to a, answered back
    assert (first["status"], first["rank"]) == ("accepted", 1)
    second = await s2.bid("L1", 98_000)
    assert (second["status"], second["rank"]) == ("accepted", 1)
    small = await s1.bid("L1", 98_800)  # improves its own bid by less than the decrement
    assert (small["reason"], small["max_amount"]) == ("decrement_too_small", 98_500)
    again = await s1.bid("L1", 99_000, first["bid_id"])  # a resend through b: the same bid
    assert again["duplicate"] and again["seq"] == first["seq"]

    await s1.wait_view(lambda v: lot_view(v, "L1")["your_rank"] == 2)
    await watcher.wait_view(lambda v: lot_view(v, "L1")["leading_price"] == 98_000)
    buyer_b = Api(b, token("buyer", BUYER))
    assert (await buyer_b.call("POST", f"/api/auctions/{auction_id}/pause", {"reason": "check"})).status_code == 200
    await s2.wait_view(lambda v: v["phase"] == "paused")
    history = (await buyer_b.call("GET", f"/api/auctions/{auction_id}/bids")).json()["bids"]
    assert {r["bid_id"]: r["status"] for r in history} == {
        first["bid_id"]: "accepted", second["bid_id"]: "accepted", small["bid_id"]: "refused"}
    for client in (s1, s2, watcher):
        await client.close()


async def test_the_survivor_takes_over_when_the_writer_is_killed(pair):
    a, b = pair
    buyer_api, auction_id = await create_auction(a, auction_config())
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    s1 = await LiveClient(b, auction_id, token("supplier", S1)).connect()
    acked = [await s1.bid("L1", 99_000)]
    assert acked[0]["status"] == "accepted"
    a.kill9()

    taken = await bid_until_answered(s1, 98_000)  # b becomes the writer within the lease time
    assert taken["status"] == "accepted"
    acked.append(taken)
    assert loaded(b, "writer") == 1
    history = (await Api(b, token("buyer", BUYER)).call(
        "GET", f"/api/auctions/{auction_id}/bids")).json()["bids"]
    assert [r["bid_id"] for r in history] == [r["bid_id"] for r in acked]
    # A supplier's seq is its cursor (the events listed to it: the creation and the opening),
    # the same from the process that took over: it does not count the bids.
    assert [r["seq"] for r in history] == [6, 7] and [r["seq"] for r in acked] == [2, 2]
    await s1.close()


async def test_workers_share_one_port_and_a_dead_worker_is_replaced(redis_server, tmp_path):
    server = ServerProcess(redis_server.url, tmp_path / "w", ("--workers", "2"))
    server.start()
    try:
        _, auction_id = await create_auction(server, auction_config())
        children = _children(server.proc.pid)
        assert len(children) == 2
        os.kill(children[0], signal.SIGKILL)
        deadline = time.monotonic() + 15
        while True:
            now = _children(server.proc.pid)
            if len(now) == 2 and children[0] not in now:
                break
            assert time.monotonic() < deadline, f"worker not replaced: {now}"
            await asyncio.sleep(0.05)
        # Whichever worker answers, the auction is there (taken over or followed).
        for _ in range(6):
            r = await Api(server, token("buyer", BUYER)).call("GET", f"/api/auctions/{auction_id}")
            assert r.status_code == 200, r.text
    finally:
        server.stop()
    assert _children(server.proc.pid) == []


def _children(pid: int) -> list[int]:
    """The supervisor's workers (its embedded Redis, if any, aside)."""
    return [c for c in children(pid) if "redis" not in name(c)]
