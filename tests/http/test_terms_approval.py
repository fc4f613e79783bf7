"""Terms and the approval of awards over the HTTP API, on a real Redis journal (a clock the test
moves): a supplier accepts the terms before its bid goes in (reverse auction and sealed tender);
an award above the threshold is only proposed, reaches neither the awards stream nor the OCDS
export, and is made when another user of the buyer approves it; the routes are documented."""

from __future__ import annotations

import hashlib

import pytest
import redis

from .conftest import T0
from .test_follow_on import view_when
from .test_tenders import (
    BUYER, HOUR, SHARES, TENDER, auth, declare, published_tender, sealed_body,
)

TERMS = "Delivery within 30 days of the award; payment at 60 days."
HASH = "sha256:" + hashlib.sha256(TERMS.encode()).hexdigest()
BOSS = auth("buyer", "org-b", "boss")
A, B = auth("supplier", "sup-a", "ann"), auth("supplier", "sup-b", "bob")
AUCTION = {
    "title": "Office paper",
    "currency": "EUR",
    "lots": [{"lot_id": "L1", "title": "A4 paper", "ceiling": 50_000},
             {"lot_id": "L2", "title": "A3 paper", "ceiling": 20_000}],
    "duration_ms": 600_000,
    "decrement": {"kind": "amount", "value": 100},
    "award_mode": "buyer",
    "terms": TERMS,
    "approval_threshold": 30_000,
}


@pytest.fixture
def client(on_redis):
    with on_redis() as client:
        yield client


def awards_published(redis_server) -> list:
    return redis.Redis.from_url(redis_server.url).xrange("bidserver:awards")


def released(client, event_id: str) -> list:
    r = client.get(f"/api/auctions/{event_id}/ocds", headers=BUYER)
    assert r.status_code == 200, r.text
    return r.json()["releases"]


def bid(client, auction_id: str, bid_id: str, amount: int, lot_id: str = "L1", headers=A):
    return client.post(f"/api/auctions/{auction_id}/bids",
                       json={"bid_id": bid_id, "lot_id": lot_id, "amount": amount}, headers=headers)


def test_an_auctions_terms_come_before_its_bids_and_its_big_award_waits_for_another_user(
        client, clock, redis_server):
    r = client.post("/api/auctions", json={"config": AUCTION}, headers=BUYER)
    assert r.status_code == 201, r.text
    auction_id = r.json()["view"]["auction_id"]
    base = f"/api/auctions/{auction_id}"
    r = client.post(f"{base}/invitations", json={"supplier": "sup-a"}, headers=BUYER)
    assert r.status_code == 200, r.text
    assert client.post(f"{base}/start", headers=BUYER).status_code == 200

    r = bid(client, auction_id, "a1", 45_000)
    assert (r.status_code, r.json()["reason"]) == (409, "terms_not_accepted")
    terms = client.get(base, headers=A).json()["view"]["terms"]
    assert terms == {"text": TERMS, "hash": HASH, "version": 1}
    r = client.post(f"{base}/terms/acceptance", json={"terms_hash": "sha256:" + "0" * 64}, headers=A)
    assert (r.status_code, r.json()["reason"]) == (409, "stale_terms")
    r = client.post(f"{base}/terms/acceptance", json={"terms_hash": "yes"}, headers=A)
    assert r.status_code == 400  # not a hash
    for _ in range(2):  # again: answered as done
        r = client.post(f"{base}/terms/acceptance", json={"terms_hash": HASH}, headers=A)
        assert r.status_code == 200, r.text
    assert bid(client, auction_id, "a1", 45_000).status_code == 201  # the same bid id
    assert bid(client, auction_id, "a2", 10_000, "L2").status_code == 201
    (acceptance,) = client.get(base, headers=BUYER).json()["view"]["acceptances"]
    assert (acceptance["supplier"], acceptance["version"], acceptance["user"]) == ("sup-a", 1, "ann")

    clock.now += 600_001
    assert bid(client, auction_id, "late", 44_000).json()["reason"] == "lot_closed"  # arms the timer
    view_when(client, auction_id, lambda v: v["phase"] == "closed")
    r = client.post(f"{base}/lots/L1/award", json={}, headers=BUYER)
    assert r.status_code == 200, r.text
    lot = r.json()["view"]["lots"][0]
    assert (lot["award"], lot["proposal"]["amount"], lot["proposal"]["proposed_by"]) == (
        None, 45_000, "clerk")
    assert awards_published(redis_server) == [] and released(client, auction_id) == []

    approval = f"{base}/lots/L1/award/approval"
    r = client.post(approval, json={"approve": True}, headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (403, "same_user")
    r = client.post(approval, json={"approve": True}, headers=A)
    assert (r.status_code, r.json()["reason"]) == (403, "forbidden")
    r = client.post(approval, json={"approve": False}, headers=BOSS)
    assert (r.status_code, r.json()["reason"]) == (422, "reason_required")
    r = client.post(approval, json={"approve": False, "reason": "check the budget"}, headers=BOSS)
    assert r.status_code == 200 and r.json()["view"]["lots"][0]["proposal"] is None
    r = client.post(approval, json={"approve": True}, headers=BOSS)
    assert (r.status_code, r.json()["reason"]) == (409, "nothing_to_approve")

    assert client.post(f"{base}/lots/L1/award", json={}, headers=BUYER).status_code == 200
    r = client.post(approval, json={"approve": True}, headers=BOSS)
    assert r.status_code == 200, r.text
    award = r.json()["view"]["lots"][0]["award"]
    assert (award["supplier"], award["amount"], award["approved_by"]) == ("sup-a", 45_000, "boss")
    assert len(awards_published(redis_server)) == 1
    (release,) = released(client, auction_id)
    assert release["awards"][0]["value"]["amount"] == 450
    r = client.post(f"{base}/lots/L2/award", json={}, headers=BUYER)  # 10,000: at once
    assert r.json()["view"]["lots"][1]["award"]["approved_by"] is None
    assert len(awards_published(redis_server)) == 2


def test_a_tenders_terms_come_before_its_bids_and_its_big_decision_waits_for_another_user(
        client, clock):
    config = {**TENDER, "terms": TERMS, "approval_threshold": 1_000_000}
    tender_id = published_tender(client, config, {"sup-a": "Alpha", "sup-b": "Beta"})
    base = f"/api/tenders/{tender_id}"
    clock.now += HOUR + 1
    r = client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-a", "a1", 4_000_000), headers=A)
    assert (r.status_code, r.json()["reason"]) == (409, "terms_not_accepted")
    assert client.get(f"/api/auctions/{tender_id}", headers=A).json()["view"]["terms"]["hash"] == HASH
    for party, headers, price in (("sup-a", A, 4_000_000), ("sup-b", B, 4_500_000)):
        r = client.post(f"{base}/terms/acceptance", json={"terms_hash": HASH}, headers=headers)
        assert r.status_code == 200, r.text
        r = client.post(f"{base}/bids", json=sealed_body(tender_id, party, f"{party}-1", price),
                        headers=headers)
        assert r.status_code == 200, r.text
    desk = client.get(f"/api/auctions/{tender_id}", headers=BUYER).json()["view"]["buyer"]
    assert [a["supplier"] for a in desk["acceptances"]] == ["sup-a", "sup-b"]

    clock.now = T0 + 3 * HOUR
    for user, share in (("off-1", SHARES[0]), ("off-2", SHARES[1])):
        declare(client, tender_id, user)
        r = client.post(f"{base}/shares", json={"share": share}, headers=auth("buyer", "org-b", user))
        assert r.status_code == 200, r.text
    for party in ("sup-a", "sup-b"):
        r = client.post(f"{base}/qualifications", json={"supplier": party, "status": "valid"},
                        headers=BUYER)
        assert r.status_code == 200, r.text
    r = client.post(f"{base}/award", headers=BUYER)
    assert r.status_code == 200, r.text
    view = r.json()["view"]
    assert (view["phase"], view["decision"], view["buyer"]["proposal"]["total"]) == (
        "evaluation", None, 4_000_000)
    assert client.get(f"/api/auctions/{tender_id}", headers=A).json()["view"]["decision"] is None
    r = client.post(f"{base}/award/approval", json={"approve": True}, headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (403, "same_user")
    r = client.post(f"{base}/award/approval", json={"approve": True}, headers=BOSS)
    assert r.status_code == 200, r.text
    view = r.json()["view"]
    assert view["phase"] == "standstill" and view["decision"]["lots"][0]["winner"] == "sup-a"
    assert view["decision"]["standstill_ends_at"] == clock.now + 10 * 86_400_000


def test_the_routes_are_in_the_openapi_document(client):
    document = client.get("/openapi.json").json()
    bodies = {
        "/api/auctions/{auction_id}/terms/acceptance": "TermsBody",
        "/api/tenders/{auction_id}/terms/acceptance": "TermsBody",
        "/api/auctions/{auction_id}/lots/{lot_id}/award/approval": "ApprovalBody",
        "/api/tenders/{auction_id}/award/approval": "ApprovalBody",
    }
    for path, body in bodies.items():
        operation = document["paths"][path]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{body}"}
        assert {"200", "403", "409"} <= set(operation["responses"])
    assert "same_user" in document["paths"][path]["post"]["responses"]["403"]["description"]
    schemas = document["components"]["schemas"]
    assert {"terms", "approval_threshold"} <= set(schemas["AuctionConfig"]["properties"])
    assert {"terms", "approval_threshold"} <= set(schemas["TenderConfig"]["properties"])
