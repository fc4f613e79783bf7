"""A whole reverse auction over real sockets, a real server process and a real Redis: one
redis-server, then a Redis Cluster (3 masters with a replica each)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time

from .conftest import BUYER, ON_BOTH_BACKENDS, SUPPLIERS, auction_config, create_auction
from .harness import LiveClient, award_releases, lot_view, token

pytestmark = ON_BOTH_BACKENDS

S1, S2, S3 = SUPPLIERS


def _identities_except(supplier: str) -> list[str]:
    others = [s for s in SUPPLIERS if s != supplier]
    return others + [SUPPLIERS[s] for s in others] + [BUYER]


def assert_no_leak(client: LiveClient, supplier: str) -> None:
    """Nothing a supplier received names another supplier, the buyer, or the hidden reserve."""
    for message in client.messages:
        raw = json.dumps(message)
        for secret in _identities_except(supplier):
            assert secret not in raw, (secret, message)
        assert '"reserve": 98000' not in raw


async def test_full_auction_rank_only_soft_close_and_award(server, journal_url):
    config = auction_config(
        duration_ms=4000,
        soft_close={"window_ms": 1500, "extension_ms": 2000, "trigger": "any_bid", "max_extensions": 2},
    )
    buyer_api, auction_id = await create_auction(server, config)
    buyer = await LiveClient(server, auction_id, token("buyer", BUYER)).connect()
    s1, s2, s3 = [
        await LiveClient(server, auction_id, token("supplier", s, SUPPLIERS[s])).connect()
        for s in (S1, S2, S3)
    ]
    r = await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")
    assert r.status_code == 200, r.text
    for client in (buyer, s1, s2, s3):
        await client.wait_view(lambda v: v["phase"] == "open")

    # Bids and the reasons of refusals.
    a = await s1.bid("L1", 99000)
    assert a["status"] == "accepted" and a["rank"] == 1
    b = await s2.bid("L1", 98000)
    assert b["status"] == "accepted" and b["rank"] == 1
    await s1.wait_view(lambda v: lot_view(v, "L1")["your_rank"] == 2)
    too_high = await s3.bid("L1", 101000)
    assert (too_high["status"], too_high["reason"], too_high["max_amount"]) == (
        "rejected", "above_ceiling", 100000)
    small = await s1.bid("L1", 98800)
    assert (small["reason"], small["max_amount"]) == ("decrement_too_small", 98500)
    tie = await s3.bid("L1", 98000)
    assert tie["reason"] == "tie_not_allowed"
    c = await s3.bid("L1", 97900)
    assert c["status"] == "accepted" and c["rank"] == 1
    await s2.wait_view(lambda v: lot_view(v, "L1")["your_rank"] == 2)

    # Rank only: suppliers see their own rank and best, never the leading price or a board.
    for client in (s1, s2, s3):
        lot = lot_view(client.view, "L1")
        assert lot["leading_price"] is None and lot["board"] is None
    buyer_lot = lot_view(await buyer.wait_view(lambda v: v["seq"] >= s3.seq), "L1")
    assert buyer_lot["leading_price"] == 97900
    assert [e["supplier"] for e in buyer_lot["board"]] == [S3, S2, S1]

    # Soft close: a bid inside the window moves the end by the extension.
    end_before = lot_view(s2.view, "L1")["end_at"]
    welcome = s2.messages[0]
    offset_ms = welcome["server_time"] - time.time() * 1000  # rough; the window is 1.5 s wide
    wait_s = (end_before - 1000 - (time.time() * 1000 + offset_ms)) / 1000
    await asyncio.sleep(max(0.0, wait_s))
    d = await s2.bid("L1", 97000)
    assert d["status"] == "accepted", d
    extended = await s1.wait_for(
        lambda m: m["type"] == "update"
        and any(e["type"] == "lot_extended" for e in m["events"])
    )
    new_end = lot_view(extended["view"], "L1")["end_at"]
    assert new_end == end_before + 2000

    # The close, on the server's clock, and the automatic award to the lowest bid.
    for client in (buyer, s1, s2, s3):
        await client.wait_view(lambda v: lot_view(v, "L1")["award"] is not None, timeout=15)
    assert lot_view(s2.view, "L1")["award"]["yours"] is True
    assert lot_view(s1.view, "L1")["award"]["yours"] is False
    assert lot_view(buyer.view, "L1")["award"]["supplier"] == S2

    # The award, read back from the awards stream as a contract-signing service would.
    [(fields, release)] = await award_releases(journal_url, auction_id)
    assert fields["award_id"] == f"{auction_id}:L1"
    award = release["awards"][0]
    assert award["value"] == {"amount": 970.0, "currency": "EUR"} or award["value"]["amount"] == 970
    assert award["suppliers"][0]["id"] == S2

    # The buyer's CSV export; suppliers may not have it.
    r = await buyer_api.call("GET", f"/api/auctions/{auction_id}/results.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["supplier"], row["amount"], row["awarded"]) for row in rows] == [
        (S2, "970.00", "yes"), (S3, "979.00", ""), (S1, "990.00", "")]

    for supplier, client in zip((S1, S2, S3), (s1, s2, s3)):
        assert_no_leak(client, supplier)
    for client in (buyer, s1, s2, s3):
        await client.close()


async def test_full_board_is_anonymised(server):
    buyer_api, auction_id = await create_auction(server, auction_config(visibility="full_board"))
    clients = {
        s: await LiveClient(server, auction_id, token("supplier", s, SUPPLIERS[s])).connect()
        for s in SUPPLIERS
    }
    observer = await LiveClient(server, auction_id, token("observer", BUYER)).connect()
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    for amount, supplier in zip((99000, 98000, 97000), SUPPLIERS):
        assert (await clients[supplier].bid("L1", amount))["status"] == "accepted"
    for supplier, client in clients.items():
        view = await client.wait_view(lambda v: len(lot_view(v, "L1")["board"] or []) == 3)
        lot = lot_view(view, "L1")
        assert [e["alias"] for e in lot["board"]] == ["Supplier 3", "Supplier 2", "Supplier 1"]
        assert all(e["supplier"] is None for e in lot["board"])
        assert lot["leading_price"] == 97000
        assert_no_leak(client, supplier)
    view = await observer.wait_view(lambda v: len(lot_view(v, "L1")["board"] or []) == 3)
    assert all(e["supplier"] is None for e in lot_view(view, "L1")["board"])
    observer_denied = await observer.bid("L1", 90000)
    assert observer_denied["reason"] == "forbidden"
    for client in [*clients.values(), observer]:
        await client.close()
