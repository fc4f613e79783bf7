"""The HTTP reads tell a rank-only supplier no more than its live room does: the `seq` beside its
view, of its bid history and of each history row is its cursor (docs/protocol.md, "Your cursor"),
the same whether 1 or 6 others are invited and bid, never the journal's seq."""

from __future__ import annotations

import pytest

from .test_api import BUYER, CONFIG, auth

RANK_ONLY = {**CONFIG, "visibility": "rank_only", "bid_rule": "improve_own",
             "lots": [{"lot_id": "L1", "title": "A4 paper", "ceiling": 50000}]}
ME = auth("supplier", "me")


def _reads(client, others: int) -> list:
    r = client.post("/api/auctions", json={"config": RANK_ONLY}, headers=BUYER)
    base = f"/api/auctions/{r.json()['view']['auction_id']}"
    names = ["me", *(f"other{i}" for i in range(others))]
    for name in names:
        assert client.post(f"{base}/invitations", json={"supplier": name}, headers=BUYER).is_success
    assert client.post(f"{base}/start", headers=BUYER).is_success

    def they_bid(round_: int) -> None:
        for i in range(others):  # always worse than mine: my rank stays 1
            bid = {"bid_id": f"r{round_}-{i}", "lot_id": "L1", "amount": 49000 - 1000 * round_ - i}
            assert client.post(f"{base}/bids", json=bid, headers=auth("supplier", f"other{i}")).is_success

    reads = []
    they_bid(0)
    mine = client.post(f"{base}/bids", json={"bid_id": "m1", "lot_id": "L1", "amount": 45000}, headers=ME)
    reads.append(mine.json()["seq"])
    they_bid(1)
    view = client.get(base, headers=ME).json()
    shown = {k: v for k, v in view["view"].items() if k != "auction_id"}  # two auctions
    shown["lots"] = [{k: v for k, v in lot.items() if k != "end_at"} for lot in shown["lots"]]
    reads.append((view["seq"], shown))  # (end_at: the test client runs on the real clock)
    history = client.get(f"{base}/bids", headers=ME).json()
    history["bids"] = [{k: v for k, v in row.items() if k != "at"} for row in history["bids"]]
    reads.append(history)
    return reads


@pytest.mark.parametrize("others", [6])
def test_a_rank_only_suppliers_reads_do_not_depend_on_the_others(client, others):
    alone, crowded = _reads(client, 1), _reads(client, others)
    assert crowded == alone
    history = crowded[-1]
    assert history["seq"] == crowded[1][0] and [row["seq"] for row in history["bids"]] == [crowded[0]]


def test_the_buyer_still_reads_the_journal_seq(client):
    _reads(client, 2)
    auction = client.get("/api/auctions", headers=BUYER).json()["auctions"][0]["auction_id"]
    # created, 3 invitations, opened, 2 + 1 + 2 bids
    assert client.get(f"/api/auctions/{auction}", headers=BUYER).json()["seq"] == 10
