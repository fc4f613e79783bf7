"""The HTTP API in process, on the in-memory journal twin (the Redis path is covered by
tests/integration): status codes, reasons, per-role reads, CSV and the OpenAPI document."""

from __future__ import annotations

import csv
import io

from bidserver.auth import mint_token

from .conftest import KEY

CONFIG = {
    "title": "Office paper",
    "currency": "EUR",
    "lots": [
        {"lot_id": "L1", "title": "A4 paper", "ceiling": 50000, "reserve": 40000},
        {"lot_id": "L2", "title": "A3 paper", "ceiling": 20000},
    ],
    "duration_ms": 600_000,
    "decrement": {"kind": "percent", "value": 100},
    "visibility": "rank_and_leading_price",
    "bid_rule": "beat_leader",
}


def auth(role: str, party: str) -> dict[str, str]:
    return {"authorization": f"Bearer {mint_token(KEY, role=role, party=party)}"}


BUYER = auth("buyer", "org-b")


def create(client, config=CONFIG) -> str:
    r = client.post("/api/auctions", json={"config": config}, headers=BUYER)
    assert r.status_code == 201, r.text
    auction_id = r.json()["view"]["auction_id"]
    assert r.headers["location"] == f"/api/auctions/{auction_id}"
    return auction_id


def test_readiness_follows_the_journal_and_tells_no_counts(client, journal):
    for probe in ("/readyz", "/healthz"):  # /healthz: the old name, kept
        ready = client.get(probe)
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert client.get("/livez").json() == {"status": "alive"}
    journal.available = False
    for probe in ("/readyz", "/healthz"):
        r = client.get(probe)
        assert (r.status_code, r.json()) == (
            503, {"status": "unready", "reason": "journal_unavailable"}
        )
    assert client.get("/livez").status_code == 200  # alive: a restart would not bring Redis back


def test_errors_are_json_with_reasons(client):
    r = client.post("/api/auctions", json={"config": CONFIG})
    assert (r.status_code, r.json()["error"]) == (401, "missing_token")
    r = client.post("/api/auctions", content=b"{nope", headers=BUYER)
    assert (r.status_code, r.json()["error"]) == (400, "bad_request")
    bad = dict(CONFIG, lots=[])  # outside the schema /openapi.json states: refused decoding it
    r = client.post("/api/auctions", json={"config": bad}, headers=BUYER)
    assert (r.status_code, r.json()["error"]) == (400, "bad_request")
    assert "$.config.lots" in r.json()["detail"]
    bad = dict(CONFIG, lots=[dict(CONFIG["lots"][0], reserve=60000)])  # a rule across fields
    r = client.post("/api/auctions", json={"config": bad}, headers=BUYER)
    assert (r.status_code, r.json()["error"]) == (422, "invalid_config")
    r = client.post("/api/auctions", json={"config": CONFIG}, headers=auth("supplier", "s1"))
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    r = client.get("/api/auctions/nope", headers=BUYER)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_auction")
    r = client.post("/api/auctions", json={"config": CONFIG, "extra": 1}, headers=BUYER)
    assert r.status_code == 400  # unknown fields are refused, not ignored


def test_lifecycle_over_http(client):
    auction_id = create(client)
    base = f"/api/auctions/{auction_id}"
    assert client.post(f"{base}/invitations", json={"supplier": "s1", "name": "One"}, headers=BUYER).status_code == 200
    assert client.post(f"{base}/invitations", json={"supplier": "s2"}, headers=BUYER).status_code == 200
    r = client.post(f"{base}/invitations", json={"supplier": "s2"}, headers=BUYER)
    assert (r.status_code, r.json()["error"]) == (409, "already_invited")
    s1, s2 = auth("supplier", "s1"), auth("supplier", "s2")
    r = client.post(f"{base}/bids", json={"bid_id": "b0", "lot_id": "L1", "amount": 49000}, headers=s1)
    assert (r.status_code, r.json()["reason"]) == (409, "auction_not_open")
    assert client.post(f"{base}/start", headers=BUYER).status_code == 200
    r = client.post(f"{base}/bids", json={"bid_id": "b1", "lot_id": "L1", "amount": 49000}, headers=s1)
    assert (r.status_code, r.json()["rank"]) == (201, 1)
    r = client.post(f"{base}/bids", json={"bid_id": "b2", "lot_id": "L1", "amount": 48900}, headers=s2)
    assert (r.status_code, r.json()["reason"], r.json()["max_amount"]) == (409, "decrement_too_small", 48510)
    r = client.post(f"{base}/bids", json={"bid_id": "b3", "lot_id": "L1", "amount": 48000}, headers=s2)
    assert r.status_code == 201

    # Per-role reads: the supplier sees its rank and the leading price, never the reserve.
    view = client.get(base, headers=s1).json()["view"]
    lot = view["lots"][0]
    assert (lot["your_rank"], lot["your_best"], lot["leading_price"]) == (2, 49000, 48000)
    assert "40000" not in client.get(base, headers=s1).text
    assert client.get(base, headers=BUYER).json()["view"]["lots"][0]["board"][0]["supplier"] == "s2"
    mine = client.get(f"{base}/bids", headers=s1).json()["bids"]
    assert [(b["bid_id"], b["status"]) for b in mine] == [("b0", "refused"), ("b1", "accepted")]
    everyone = client.get(f"{base}/bids", headers=auth("observer", "org-b")).json()["bids"]
    assert all("supplier" not in b and "bid_id" not in b for b in everyone)

    # Pause, resume, extend, cancel need the buyer.
    assert client.post(f"{base}/pause", json={"reason": "supplier called"}, headers=BUYER).status_code == 200
    r = client.post(f"{base}/bids", json={"bid_id": "b4", "lot_id": "L1", "amount": 47000}, headers=s1)
    assert r.json()["reason"] == "auction_paused"
    assert client.post(f"{base}/resume", headers=BUYER).status_code == 200
    r = client.post(f"{base}/extend", json={"by_ms": 0}, headers=BUYER)
    assert (r.status_code, r.json()["error"]) == (422, "invalid_extension")
    assert client.post(f"{base}/extend", json={"by_ms": 60000, "lot_id": "L2"}, headers=BUYER).status_code == 200
    r = client.post(f"{base}/cancel", json={"reason": " "}, headers=BUYER)
    assert (r.status_code, r.json()["error"]) == (422, "reason_required")
    r = client.post(f"{base}/lots/L1/award", json={}, headers=BUYER)
    assert (r.status_code, r.json()["error"]) == (409, "lot_not_closed")
    assert client.post(f"{base}/cancel", json={"reason": "budget withdrawn"}, headers=BUYER).status_code == 200
    assert client.get(base, headers=s2).json()["view"]["phase"] == "cancelled"


def test_list_is_filtered_by_role(client):
    mine = create(client)
    other = auth("buyer", "org-other")
    r = client.post("/api/auctions", json={"config": CONFIG}, headers=other)
    theirs = r.json()["view"]["auction_id"]
    client.post(f"/api/auctions/{mine}/invitations", json={"supplier": "s1"}, headers=BUYER)
    ids = lambda h: {a["auction_id"] for a in client.get("/api/auctions", headers=h).json()["auctions"]}
    assert ids(BUYER) == {mine}
    assert ids(other) == {theirs}
    assert ids(auth("supplier", "s1")) == {mine}
    assert ids(auth("supplier", "s9")) == set()
    assert ids(auth("observer", "org-b")) == {mine}  # observers watch their organisation's
    assert client.get(f"/api/auctions/{theirs}", headers=BUYER).status_code == 404
    assert client.get(f"/api/auctions/{theirs}", headers=auth("observer", "org-b")).status_code == 404


def test_csv_export(client):
    auction_id = create(client)
    base = f"/api/auctions/{auction_id}"
    client.post(f"{base}/invitations", json={"supplier": "s1", "name": "One, Ltd"}, headers=BUYER)
    client.post(f"{base}/start", headers=BUYER)
    client.post(f"{base}/bids", json={"bid_id": "b1", "lot_id": "L2", "amount": 19999}, headers=auth("supplier", "s1"))
    r = client.get(f"{base}/results.csv", headers=BUYER)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["lot_id"], x["name"], x["amount"], x["rank"]) for x in rows] == [("L2", "One, Ltd", "199.99", "1")]
    assert client.get(f"{base}/results.csv", headers=auth("supplier", "s1")).status_code == 403


def test_openapi_document_lists_every_route(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]["/api/auctions/{auction_id}/bids"]) == {"get", "post"}
    body = doc["paths"]["/api/auctions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CreateAuctionBody"}
    assert "AuctionConfig" in doc["components"]["schemas"]
    assert "decrement_too_small" in doc["components"]["schemas"]["Problem"]["properties"]["reason"]["enum"]
    assert client.get("/api/time").json()["server_time"] > 0


def test_the_buyers_history_names_the_people_and_keeps_refused_bids(client):
    """The audit trail (docs/protocol.md): who placed, entered or voided each bid, and every bid
    the rules refused; a supplier sees its own refused bids, an observer none."""
    auction_id = create(client)
    base = f"/api/auctions/{auction_id}"
    for supplier in ("s1", "s2"):
        client.post(f"{base}/invitations", json={"supplier": supplier}, headers=BUYER)
    assert client.post(f"{base}/start", headers=BUYER).status_code == 200
    alice = {"authorization": f"Bearer {mint_token(KEY, role='supplier', party='s1', user='alice')}"}
    bob = {"authorization": f"Bearer {mint_token(KEY, role='buyer', party='org-b', user='bob')}"}
    assert client.post(f"{base}/bids", json={"bid_id": "a1", "lot_id": "L1", "amount": 49000},
                       headers=alice).status_code == 201
    r = client.post(f"{base}/bids", json={"bid_id": "a2", "lot_id": "L1", "amount": 48999},
                    headers=alice)
    assert r.json()["reason"] == "decrement_too_small"
    r = client.post(f"{base}/bids", json={"bid_id": "p1", "lot_id": "L1", "amount": 48000,
                                          "on_behalf_of": "s2"}, headers=bob)
    assert r.status_code == 201
    assert client.post(f"{base}/bids/a1/void", json={"reason": "typo"}, headers=bob).status_code == 200

    rows = {b["bid_id"]: b for b in client.get(f"{base}/bids", headers=BUYER).json()["bids"]}
    assert list(rows) == ["a1", "a2", "p1"]  # in the order they were decided
    assert (rows["a1"]["user"], rows["a1"]["void_user"], rows["a1"]["void_reason"]) == (
        "alice", "bob", "typo")
    assert (rows["p1"]["user"], rows["p1"]["entered_by"]) == ("bob", "org-b")
    refused = rows["a2"]
    assert (refused["status"], refused["reason"], refused["supplier"], refused["user"]) == (
        "refused", "decrement_too_small", "s1", "alice")
    assert refused["sent_by"] == "supplier:s1"
    own = client.get(f"{base}/bids", headers=auth("supplier", "s1")).json()["bids"]
    assert [(b["bid_id"], b["status"]) for b in own] == [("a1", "accepted"), ("a2", "refused")]
    assert "user" not in own[1] and "sent_by" not in own[1]
    other = client.get(f"{base}/bids", headers=auth("supplier", "s2")).json()["bids"]
    assert [b["bid_id"] for b in other] == ["p1"]
    observed = client.get(f"{base}/bids", headers=auth("observer", "org-b")).json()["bids"]
    assert [b["status"] for b in observed] == ["accepted", "accepted"]
