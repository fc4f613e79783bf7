"""A tender that goes on as a live reverse auction (EU Art. 35) over the HTTP API, on a real
Redis journal (a clock the test moves): sealed bids, the opening, the qualification, then
``POST /api/tenders/{id}/auction`` creates, invites and starts the auction with the qualified
bidders' sealed prices as opening bids; a retry finds the same auction; a bid beats an opening
bid, the lot closes and is awarded in the auction, and the tender names it."""

from __future__ import annotations

import time

import pytest


from .test_tenders import (
    BUYER, HOUR, SHARES, T0, TENDER, auth, declare, published_tender, sealed_body,
)

NAMES = {"sup-a": "Alpha Salt GmbH", "sup-b": "Beta Minerals", "sup-c": "Gamma Ltd"}
PRICES = {"sup-a": 4_000_000, "sup-b": 4_500_000, "sup-c": 3_900_000}
RULES = {"duration_ms": 10 * 60_000, "decrement": {"kind": "amount", "value": 10_000},
         "visibility": "full_board"}


@pytest.fixture
def client(on_redis):
    with on_redis() as client:
        yield client


def view_when(client, event_id: str, done, timeout_s: float = 10.0) -> dict:
    """The buyer's view of the event once ``done(view)`` holds (the room's timer moves it on)."""
    deadline = time.monotonic() + timeout_s
    while True:
        view = client.get(f"/api/auctions/{event_id}", headers=BUYER).json()["view"]
        if done(view) or time.monotonic() > deadline:
            assert done(view), view
            return view
        time.sleep(0.01)


def evaluated_tender(client, clock) -> str:
    """A lowest-price tender opened, sup-a and sup-b valid, sup-c disqualified."""
    tender_id = published_tender(client, TENDER, NAMES)
    base = f"/api/tenders/{tender_id}"
    clock.now += HOUR + 1
    for party, price in PRICES.items():
        r = client.post(f"{base}/bids", json=sealed_body(tender_id, party, f"{party}-1", price),
                        headers=auth("supplier", party, f"{party}-person"))
        assert r.status_code == 200, r.text
    clock.now = T0 + 3 * HOUR
    for user, share in (("off-1", SHARES[0]), ("off-3", SHARES[2])):
        declare(client, tender_id, user)
        r = client.post(f"{base}/shares", json={"share": share},
                        headers=auth("buyer", "org-b", user))
        assert r.status_code == 200, r.text
    r = client.post(f"{base}/auction", json={"rules": RULES}, headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (409, "evaluation_incomplete")
    for party, status in (("sup-a", "valid"), ("sup-b", "valid"), ("sup-c", "disqualified")):
        r = client.post(f"{base}/qualifications",
                        json={"supplier": party, "status": status, "reason": "no security"},
                        headers=BUYER)
        assert r.status_code == 200, r.text
    return tender_id


def test_a_tender_goes_on_as_an_auction_with_the_sealed_prices_as_opening_bids(client, clock):
    tender_id = evaluated_tender(client, clock)
    base = f"/api/tenders/{tender_id}"
    a, b, c = (auth("supplier", p, f"{p}-person") for p in NAMES)
    r = client.post(f"{base}/auction", json={"rules": RULES}, headers=a)
    assert (r.status_code, r.json()["reason"]) == (403, "forbidden")
    r = client.post(f"{base}/auction", json={"rules": {"duration_ms": 0}}, headers=BUYER)
    assert r.status_code == 400  # the body's bounds

    r = client.post(f"{base}/auction", json={"rules": RULES}, headers=BUYER)
    assert r.status_code == 201, r.text
    auction_id = f"{tender_id}-auction"
    assert r.headers["location"] == f"/api/auctions/{auction_id}"
    auction = r.json()["view"]
    assert (auction["auction_id"], auction["phase"], auction["visibility"]) == (
        auction_id, "open", "full_board")
    assert [(s["supplier"], s["name"]) for s in auction["suppliers"]] == [
        ("sup-a", NAMES["sup-a"]), ("sup-b", NAMES["sup-b"])]
    (lot,) = auction["lots"]
    assert lot["ceiling"] == 4_500_000  # the highest valid sealed price
    assert [(e["supplier"], e["amount"]) for e in lot["board"]] == [
        ("sup-a", 4_000_000), ("sup-b", 4_500_000)]  # the opening bids, ranked

    again = client.post(f"{base}/auction", json={"rules": RULES}, headers=BUYER)  # a retry
    assert again.status_code == 201 and again.json()["view"]["auction_id"] == auction_id
    assert len(client.get(f"/api/auctions/{auction_id}/bids", headers=BUYER).json()["bids"]) == 2
    tender = client.get(f"/api/auctions/{tender_id}", headers=b).json()["view"]
    assert (tender["phase"], tender["follow_on_auction"]) == ("auction", auction_id)
    listed = client.get("/api/auctions", headers=b).json()["auctions"]
    assert auction_id in [x["auction_id"] for x in listed]  # invited: the supplier finds it

    mine = client.get(f"/api/auctions/{auction_id}", headers=b).json()["view"]["lots"][0]
    assert (mine["your_best"], mine["your_rank"]) == (4_500_000, 2)
    r = client.post(f"/api/auctions/{auction_id}/bids",
                    json={"bid_id": "b-2", "lot_id": "L1", "amount": 4_495_000}, headers=b)
    assert (r.status_code, r.json()["reason"]) == (409, "decrement_too_small")
    r = client.post(f"/api/auctions/{auction_id}/bids",
                    json={"bid_id": "b-3", "lot_id": "L1", "amount": 3_950_000}, headers=b)
    assert r.status_code == 201, r.text
    r = client.post(f"/api/auctions/{auction_id}/bids",
                    json={"bid_id": "c-1", "lot_id": "L1", "amount": 3_000_000}, headers=c)
    assert (r.status_code, r.json()["reason"]) == (404, "unknown_auction")  # not invited

    clock.now += 11 * 60_000
    # A bid after the end is refused as closed; deciding it arms the room's timer on the clock
    # moved on, which closes the lot.
    r = client.post(f"/api/auctions/{auction_id}/bids",
                    json={"bid_id": "a-late", "lot_id": "L1", "amount": 3_800_000}, headers=a)
    assert (r.status_code, r.json()["reason"]) == (409, "lot_closed")
    closed = view_when(client, auction_id, lambda v: v["lots"][0]["award"] is not None)
    award = closed["lots"][0]["award"]
    assert (award["supplier"], award["amount"], award["basis"]) == ("sup-b", 3_950_000, "lowest")
    tender = client.get(f"/api/auctions/{tender_id}", headers=BUYER).json()["view"]
    assert (tender["phase"], tender["follow_on_auction"], tender["awards"]) == (
        "auction", auction_id, [])  # the award is the auction's
