"""/metrics on real server processes: what a real bid leaves there, and with ``--workers 2`` every
worker's numbers whichever worker answers the scrape (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import httpx
import pytest

from .conftest import BUYER, SUPPLIERS, auction_config, create_auction
from .harness import Api, LiveClient, ServerProcess, token, wait_until

S1, S2, S3 = SUPPLIERS

pytestmark = pytest.mark.slow


async def open_auction(server: ServerProcess) -> str:
    buyer, auction_id = await create_auction(server, auction_config())
    assert (await buyer.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    return auction_id


async def test_a_real_bid_shows_on_the_metrics(server):
    auction_id = await open_auction(server)
    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    assert (await s1.bid("L1", 99_000))["status"] == "accepted"
    refused = await s1.bid("L1", 200_000)  # above the ceiling
    http_bid = await Api(server, token("supplier", S2)).call(
        "POST", f"/api/auctions/{auction_id}/bids", {"bid_id": "h1", "lot_id": "L1", "amount": 98_000}
    )
    assert http_bid.status_code == 201

    scraped = server.metrics()
    assert scraped.value("bidserver_bids_total", status="accepted") == 2
    assert scraped.value("bidserver_bids_total", status="rejected", reason=refused["reason"]) == 1
    assert scraped.value("bidserver_ack_seconds_count") >= 3  # the bids, and the buyer's commands
    assert scraped.value("bidserver_ack_seconds_bucket", le="+Inf") == scraped.value(
        "bidserver_ack_seconds_count")
    assert scraped.value("bidserver_journal_append_seconds_count") >= 2
    assert scraped.value("bidserver_fanout_sweep_seconds_count") >= 1  # s1 watched its bids
    assert scraped.value("bidserver_open_sockets") == 1
    assert scraped.value("bidserver_auctions_loaded", mode="writer") == 1
    assert scraped.value("bidserver_redis_up") == 1
    assert scraped.value("bidserver_timer_failures_total") == 0
    assert scraped.value("bidserver_laggard_closes_total") == 0

    await s1.close()

    async def socket_gone() -> bool:
        return server.metrics().value("bidserver_open_sockets") == 0

    await wait_until(socket_gone, 10, "the socket counted out")
    # Anonymous probes say whether to send traffic, nothing about the auctions.
    ready = httpx.get(f"{server.base_url}/readyz", timeout=5)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert httpx.get(f"{server.base_url}/metrics", timeout=5).status_code == 401


async def test_two_workers_count_together_whichever_answers(redis_server, tmp_path):
    server = ServerProcess(redis_server.url, tmp_path / "workers", ("--workers", "2"))
    server.start()
    try:
        auction_id = await open_auction(server)
        accepted = 0
        # Each live client is a new connection: the kernel gives it to either worker. Bid from
        # new connections until both workers hold one (the gauges are per worker: a pid label).
        clients = []

        async def both_workers_hold_a_socket() -> bool:
            nonlocal accepted
            client = await LiveClient(server, auction_id, token("supplier", S1)).connect()
            clients.append(client)
            assert (await client.bid("L1", 99_000 - 500 * accepted))["status"] == "accepted"
            accepted += 1
            sockets = server.metrics().by("bidserver_open_sockets", "pid")
            return sum(1 for n in sockets.values() if n) == 2

        await wait_until(both_workers_hold_a_socket, 20, "sockets on both workers")

        async def all_counted() -> bool:  # each worker adds its counts at least once a second
            scraped = server.metrics()
            return (scraped.value("bidserver_bids_total", status="accepted") == accepted
                    and scraped.value("bidserver_open_sockets") == len(clients))

        await wait_until(all_counted, 10, "every worker's bids on one scrape")
        for _ in range(4):  # whichever worker answers, the same totals
            assert server.metrics().value("bidserver_bids_total", status="accepted") == accepted
        for client in clients:
            await client.close()
    finally:
        server.stop()
    assert (tmp_path / "workers" / "metrics").is_dir()  # in the data directory
