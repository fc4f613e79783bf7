"""Journal before acknowledge: kill -9 of the server, and Redis going away and coming back."""

from __future__ import annotations

import asyncio
import uuid

import websockets

from .conftest import BUYER, SUPPLIERS, auction_config, create_auction
from .harness import Api, LiveClient, lot_view, merged_view, token

S1, S2, S3 = SUPPLIERS


async def _bid_stream(client: LiveClient, start: int, step: int, count: int, acked: dict) -> None:
    """Bids downwards as fast as acknowledgements come; records every acknowledged bid id."""
    amount = start
    for _ in range(count):
        bid_id = str(uuid.uuid4())
        try:
            result = await client.bid("L1", amount, bid_id)
        except (AssertionError, TimeoutError, websockets.ConnectionClosed):  # the server died
            return
        if result["status"] == "accepted":
            acked[bid_id] = (amount, result["seq"])
        elif result["reason"] == "rate_limited":  # the connection's limit (20/s): pace, retry
            await asyncio.sleep(0.05)
            continue
        else:
            raise AssertionError(result)
        amount -= step


async def test_kill_9_loses_no_acknowledged_bid(server, redis_server):
    config = auction_config(
        decrement={"kind": "amount", "value": 1},
        lots=[{"lot_id": "L1", "title": "Road salt", "ceiling": 1_000_000}],
        tie_rule="rank_by_time",
    )
    buyer_api, auction_id = await create_auction(server, config)
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    clients = [
        await LiveClient(server, auction_id, token("supplier", s)).connect() for s in SUPPLIERS
    ]
    acked: dict[str, tuple[int, int]] = {}
    tasks = [
        asyncio.create_task(_bid_stream(c, 900_000 - i, 3, 10_000, acked))
        for i, c in enumerate(clients)
    ]
    # Let some bids land, then kill the server in the middle of bidding.
    async def enough_bids() -> None:
        while len(acked) < 100:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(enough_bids(), 20)
    before = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
    server.kill9()
    await asyncio.wait_for(asyncio.gather(*tasks), 15)
    last_seqs = [c.seq for c in clients]

    server.start()
    history = (await buyer_api.call("GET", f"/api/auctions/{auction_id}/bids")).json()["bids"]
    stored = {row["bid_id"]: (row["amount"], row["seq"]) for row in history}
    stored_by = {row["bid_id"]: row["supplier"] for row in history}
    missing = {b: v for b, v in acked.items() if stored.get(b) != v}
    assert not missing, f"{len(missing)} acknowledged bids lost"
    after = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
    assert lot_view(after, "L1")["end_at"] == lot_view(before, "L1")["end_at"]
    # The order book holds exactly the journal's bids, best first.
    board = lot_view(after, "L1")["board"]
    best = {}
    for row in history:
        if not row["voided"] and row["amount"] < best.get(row["supplier"], (1 << 62,))[0]:
            best[row["supplier"]] = (row["amount"], row["seq"])
    assert [e["supplier"] for e in board] == sorted(best, key=lambda s: best[s])

    # Clients resume from their last sequence number and miss nothing.
    for supplier, client, last in zip(SUPPLIERS, clients, last_seqs):
        resumed = LiveClient(server, auction_id, client.bearer)
        await resumed.connect(since=last)
        assert resumed.seq == after["seq"]
        if last == after["seq"]:
            await resumed.close()
            continue
        catch_up = await resumed.wait_for(lambda m: m["type"] == "update")
        assert catch_up["first_seq"] == last + 1
        # Every event after `last` but accepted bids: those are in the view and in "you".
        bid_seqs = {seq for _, seq in stored.values()}
        listed = [seq for seq in range(last + 1, after["seq"] + 1) if seq not in bid_seqs]
        assert [e["seq"] for e in catch_up["events"]] == listed
        assert catch_up["seq"] == after["seq"]
        own = [r["amount"] for r in history if r["supplier"] == supplier and not r["voided"]]
        assert catch_up["you"]["lots"][0].get("best") == (min(own) if own else None)
        assert resumed.view == merged_view(catch_up["view"], catch_up["you"])
        await resumed.close()
    for client in clients:
        await client.close()


async def test_redis_down_refuses_bids_then_bidding_goes_on(server, redis_server):
    buyer_api, auction_id = await create_auction(server, auction_config())
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    assert (await s1.bid("L1", 99000))["status"] == "accepted"

    redis_server.stop()
    refused = await s1.bid("L1", 98000, "bid-during-outage")
    assert (refused["status"], refused["reason"]) == ("rejected", "journal_unavailable")
    health = await Api(server, "").call("GET", "/healthz")
    assert health.status_code == 503 and health.json()["journal"] == "down"
    http_bid = await Api(server, token("supplier", S1)).call(
        "POST", f"/api/auctions/{auction_id}/bids",
        {"bid_id": "http-during-outage", "lot_id": "L1", "amount": 97500},
    )
    assert http_bid.status_code == 503 and http_bid.json()["reason"] == "journal_unavailable"
    view = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
    assert lot_view(view, "L1")["leading_price"] == 99000  # nothing changed

    redis_server.start()
    again = await s1.bid("L1", 98000, "bid-during-outage")  # the same id, resent
    assert again["status"] == "accepted" and again["rank"] == 1
    assert (await s1.bid("L1", 97000))["status"] == "accepted"
    health = await Api(server, "").call("GET", "/healthz")
    assert health.status_code == 200
    await s1.close()
