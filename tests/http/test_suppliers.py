"""The supplier registry over the HTTP API, on a real Redis (a clock the test moves): the issue's
"done when" flow (register, two certificates, qualified in one category and rejected in another,
invited in the first and refused in the second, terms accepted and a bid, a certificate expiring,
a 90-day blacklisting and the admission after it), and the edges of every route."""

from __future__ import annotations

import hashlib

import pytest
from stdnum.cn import uscc

from bidserver.auth import mint_token

from .conftest import KEY, T0
from .test_follow_on import view_when

DAY = 24 * 3600 * 1000
YEAR = 365 * DAY
STEEL, PIPES = "44200000-2", "44160000-9"  # CPV: structural products; pipelines, piping, pipes
TERMS = "Payment at 60 days; delivery within 30 days of the award."
TERMS_HASH = "sha256:" + hashlib.sha256(TERMS.encode()).hexdigest()


def auth(role: str, party: str, user: str | None = None, roles: list[str] | None = None):
    token = mint_token(KEY, role=role, party=party, user=user or party,
                       **({"roles": roles} if roles else {}))
    return {"authorization": f"Bearer {token}"}


def credit_code(body: str = "91110000MA01ABCD0") -> str:
    return body + uscc.calc_check_digit(body)


SUPPLIER = auth("supplier", "sup-a", "ann")
REVIEWER = auth("platform", "platform", "rita")
BUYER = auth("buyer", "org-b", "bea")
OTHER = auth("supplier", "sup-z", "zed")
REGISTRATION = {
    "legal_name": "华东钢管有限公司",
    "country": "CN",
    "identifier": credit_code(),
    "contacts": [{"name": "Ann Li", "email": "ann@example.cn", "phone": "+86 21 5555 0100"}],
    "categories": [STEEL, PIPES],
}


@pytest.fixture
def client(on_redis):
    with on_redis() as client:
        yield client


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def refused(response, status: int, reason: str):
    assert response.status_code == status, response.text
    assert response.json()["reason"] == reason, response.text
    return response.json()


def upload(client, data: bytes, title: str, expires_at: int | None, supplier=SUPPLIER,
           supplier_id: str = "sup-a") -> str:
    digest = hashlib.sha256(data).hexdigest()
    ok(client.put(f"/api/suppliers/{supplier_id}/files/{digest}", content=data, headers=supplier))
    ok(client.post(f"/api/suppliers/{supplier_id}/documents", headers=supplier, json={
        "sha256": digest, "kind": "certificate", "title": title, "issuer": "CQC",
        "number": f"{title}-0042", "valid_from": T0 - YEAR, "expires_at": expires_at,
        "filename": f"{title}.pdf"}))
    return digest


def auction(client, category: str, terms: str | None = None) -> str:
    config = {"title": "Steel for the bridge", "currency": "CNY", "category": category,
              "lots": [{"lot_id": "L1", "title": "Beams", "ceiling": 1_000_000}],
              "duration_ms": 3_600_000, "decrement": {"kind": "amount", "value": 100}}
    if terms:
        config["terms"] = terms
    return ok(client.post("/api/auctions", json={"config": config}, headers=BUYER), 201)[
        "view"]["auction_id"]


def invite(client, auction_id: str, supplier: str = "sup-a"):
    return client.post(f"/api/auctions/{auction_id}/invitations", headers=BUYER,
                       json={"supplier": supplier})


def standing(client, category: str) -> dict:
    answer = ok(client.get("/api/suppliers/sup-a", headers=SUPPLIER))
    return next(s for s in answer["standings"] if s["category"] == category)


def test_a_supplier_acts_on_its_own_record_and_reads_no_other(client):
    ok(client.post("/api/suppliers", json={"registration": REGISTRATION}, headers=SUPPLIER), 201)
    refused(client.get("/api/suppliers/sup-a", headers=OTHER), 404, "not_registered")
    refused(client.post("/api/suppliers/sup-a/categories", json={"categories": [STEEL]},
                        headers=OTHER), 403, "forbidden")
    refused(client.post(f"/api/suppliers/sup-a/categories/{STEEL}/qualification", json={},
                        headers=SUPPLIER), 403, "forbidden")
    refused(client.get("/api/suppliers", headers=SUPPLIER), 403, "forbidden")
    digest = hashlib.sha256(b"x").hexdigest()
    refused(client.put(f"/api/suppliers/sup-a/files/{digest}", content=b"x", headers=OTHER),
            403, "forbidden")


def test_bad_registrations_are_refused_with_the_field(client):
    bad = {**REGISTRATION, "identifier": REGISTRATION["identifier"][:-1] + "0"}
    if bad["identifier"] == REGISTRATION["identifier"]:
        bad["identifier"] = REGISTRATION["identifier"][:-1] + "1"
    refused(client.post("/api/suppliers", json={"registration": bad}, headers=SUPPLIER), 422,
            "invalid_identifier")
    unknown = {**REGISTRATION, "categories": ["12345678-9"]}
    refused(client.post("/api/suppliers", json={"registration": unknown}, headers=SUPPLIER),
            422, "unknown_category")
    ok(client.post("/api/suppliers", json={"registration": REGISTRATION}, headers=SUPPLIER), 201)
    twin = auth("supplier", "sup-b")
    refused(client.post("/api/suppliers", json={"registration": REGISTRATION}, headers=twin),
            409, "identifier_taken")
    r = client.post("/api/suppliers", json={"registration": {"legal_name": "x"}}, headers=twin)
    assert r.status_code == 400 and r.json()["reason"] == "bad_request"


def test_a_document_must_be_uploaded_whole_and_as_its_digest(client):
    ok(client.post("/api/suppliers", json={"registration": REGISTRATION}, headers=SUPPLIER), 201)
    digest = hashlib.sha256(b"one").hexdigest()
    refused(client.put(f"/api/suppliers/sup-a/files/{digest}", content=b"two",
                       headers=SUPPLIER), 404, "unknown_document")
    refused(client.post("/api/suppliers/sup-a/documents", headers=SUPPLIER, json={
        "sha256": digest, "kind": "certificate", "title": "ISO 9001", "valid_from": T0,
        "filename": "iso.pdf"}), 404, "unknown_document")
    ok(client.put(f"/api/suppliers/sup-a/files/{digest}", content=b"one", headers=SUPPLIER))
    r = client.get(f"/api/suppliers/sup-a/files/{digest}", headers=BUYER)
    assert r.status_code == 404  # described documents only
    upload(client, b"one", "ISO 9001", None)
    r = client.get(f"/api/suppliers/sup-a/files/{digest}", headers=BUYER)
    assert r.status_code == 200 and r.content == b"one"


def test_search_by_name_code_and_category_with_pages(client):
    for i in range(7):
        headers = auth("supplier", f"sup-{i}")
        registration = {**REGISTRATION, "legal_name": f"Acme {i} Steel",
                        "identifier": credit_code(f"91110000MA01ABC{i:02d}"),
                        "categories": [STEEL]}
        ok(client.post("/api/suppliers", json={"registration": registration}, headers=headers),
           201)
        if i % 2 == 0:
            ok(client.post(f"/api/suppliers/sup-{i}/categories/{STEEL}/qualification", json={},
                           headers=REVIEWER))
    seen, cursor = [], None
    while True:
        page = ok(client.get("/api/suppliers", headers=BUYER, params={
            "q": "acme", "category": STEEL, "status": "qualified", "limit": 2,
            **({"cursor": cursor} if cursor else {})}))
        seen += [s["legal_name"] for s in page["items"]]
        assert all(s["standing"]["eligible"] for s in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Acme 0 Steel", "Acme 2 Steel", "Acme 4 Steel", "Acme 6 Steel"]
    code = credit_code("91110000MA01ABC03")
    found = ok(client.get("/api/suppliers", headers=BUYER, params={"code": code[:17]}))
    assert [s["supplier_id"] for s in found["items"]] == ["sup-3"]
    refused(client.get("/api/suppliers", headers=BUYER, params={"category": "1"}), 422,
            "unknown_category")
    r = client.get("/api/suppliers", headers=BUYER, params={"cursor": "not-ours"})
    assert r.status_code == 400
    cats = ok(client.get("/api/categories", headers=BUYER, params={"q": "pipes"}))["items"]
    assert any(c["code"] == PIPES for c in cats)


def test_the_issues_flow_from_registration_to_admission_after_a_blacklisting(client, clock):
    answer = ok(client.post("/api/suppliers", json={"registration": REGISTRATION},
                            headers=SUPPLIER), 201)
    assert answer["status"] == "pending"
    iso = upload(client, b"%PDF ISO 9001 certificate", "ISO 9001", T0 + 30 * DAY)
    upload(client, b"%PDF ISO 14001 certificate", "ISO 14001", T0 + YEAR)
    queue = ok(client.get("/api/suppliers?review=pending", headers=REVIEWER))
    assert [s["supplier_id"] for s in queue["items"]] == ["sup-a"]

    base = "/api/suppliers/sup-a/categories"
    ok(client.post(f"{base}/{STEEL}/qualification", json={"certificates": [iso]},
                   headers=REVIEWER))
    answer = ok(client.post(f"{base}/{PIPES}/rejection",
                            json={"reason": "no pressure-equipment certificate"},
                            headers=REVIEWER))
    assert answer["status"] == "qualified"
    assert standing(client, PIPES)["reason"] == "rejected"
    assert "pressure-equipment" in standing(client, PIPES)["detail"]
    assert ok(client.get("/api/suppliers?review=pending", headers=REVIEWER))["items"] == []

    steel = auction(client, STEEL, terms=TERMS)
    ok(invite(client, steel))
    pipes = auction(client, PIPES)
    refusal = refused(invite(client, pipes), 409, "supplier_not_eligible")
    assert "rejected" in refusal["detail"]

    ok(client.post(f"/api/auctions/{steel}/start", headers=BUYER))
    bid = {"bid_id": "b1", "lot_id": "L1", "amount": 990_000}
    refused(client.post(f"/api/auctions/{steel}/bids", json=bid, headers=SUPPLIER), 409,
            "terms_not_accepted")
    ok(client.post(f"/api/auctions/{steel}/terms/acceptance", json={"terms_hash": TERMS_HASH},
                   headers=SUPPLIER))
    assert ok(client.post(f"/api/auctions/{steel}/bids", json=bid, headers=SUPPLIER), 201)[
        "status"] == "accepted"

    clock.now = T0 + 30 * DAY  # the ISO 9001 certificate expires: its qualification lapses
    assert standing(client, STEEL)["reason"] == "certificate_expired"
    assert standing(client, STEEL)["status"] == "suspended"
    refused(invite(client, auction(client, STEEL)), 409, "supplier_not_eligible")

    renewed = upload(client, b"%PDF ISO 9001 renewed", "ISO 9001", T0 + 3 * YEAR)
    ok(client.post(f"{base}/{STEEL}/qualification", json={"certificates": [renewed]},
                   headers=REVIEWER))
    ok(client.post("/api/suppliers/sup-a/restrictions", headers=REVIEWER, json={
        "kind": "blacklisted", "reason": "false declaration in tender T-17",
        "end_at": clock.now + 90 * DAY}))
    refusal = refused(invite(client, auction(client, STEEL)), 409, "supplier_not_eligible")
    assert "blacklisted" in refusal["detail"] and "false declaration" in refusal["detail"]
    listed = ok(client.get("/api/suppliers?status=blacklisted", headers=BUYER))
    assert [s["supplier_id"] for s in listed["items"]] == ["sup-a"]

    clock.now += 90 * DAY  # the period is over: admitted again
    ok(invite(client, auction(client, STEEL)))

    history = ok(client.get("/api/suppliers/sup-a/history", headers=REVIEWER))["entries"]
    kinds = [e["event"]["type"] for e in history]
    assert kinds[0] == "registered" and "category_rejected" in kinds and "restricted" in kinds
    rejected = next(e["event"] for e in history if e["event"]["type"] == "category_rejected")
    assert rejected["by"] == "rita" and rejected["reason"] == "no pressure-equipment certificate"


def test_a_buyer_rates_only_what_it_awarded_and_sees_the_average(client, clock):
    ok(client.post("/api/suppliers", json={"registration": REGISTRATION}, headers=SUPPLIER), 201)
    ok(client.post(f"/api/suppliers/sup-a/categories/{STEEL}/qualification", json={},
                   headers=REVIEWER))
    event = auction(client, STEEL)
    rating = {"event_id": event, "delivery": 5, "quality": 4, "service": 3}
    refused(client.post("/api/suppliers/sup-a/ratings", json=rating, headers=BUYER), 403,
            "forbidden")  # not awarded to it (not even run)
    refused(client.post("/api/suppliers/sup-a/ratings", json={**rating, "event_id": "nope"},
                        headers=BUYER), 404, "unknown_auction")
    ok(invite(client, event))
    ok(client.post(f"/api/auctions/{event}/start", headers=BUYER))
    ok(client.post(f"/api/auctions/{event}/bids", headers=SUPPLIER,
                   json={"bid_id": "b1", "lot_id": "L1", "amount": 900_000}), 201)
    clock.now += 3_600_001
    late = client.post(f"/api/auctions/{event}/bids", headers=SUPPLIER,
                       json={"bid_id": "b2", "lot_id": "L1", "amount": 800_000})
    assert late.json()["reason"] == "lot_closed"  # arms the room's timer: it closes the lot
    view_when(client, event, lambda v: v["lots"][0]["award"] is not None)  # lowest bid, at once
    answer = ok(client.post("/api/suppliers/sup-a/ratings", json=rating, headers=BUYER))
    assert answer["rating"] == {"count": 1, "delivery": 500, "quality": 400, "service": 300,
                                "overall": 400}
    ok(client.post("/api/suppliers/sup-a/ratings", json=rating, headers=BUYER))  # a resend
    refused(client.post("/api/suppliers/sup-a/ratings", json={**rating, "delivery": 1},
                        headers=BUYER), 409, "already_exists")
    other_buyer = auth("buyer", "org-x")
    refused(client.post("/api/suppliers/sup-a/ratings", json=rating, headers=other_buyer), 404,
            "unknown_auction")


def test_a_supplier_suspended_during_a_live_auction_is_refused_at_once_and_told(client):
    ok(client.post("/api/suppliers", json={"registration": REGISTRATION}, headers=SUPPLIER), 201)
    ok(client.post(f"/api/suppliers/sup-a/categories/{STEEL}/qualification", json={},
                   headers=REVIEWER))
    event = auction(client, STEEL)
    ok(invite(client, event))
    ok(client.post(f"/api/auctions/{event}/start", headers=BUYER))
    bid = {"bid_id": "b1", "lot_id": "L1", "amount": 900_000}
    ok(client.post(f"/api/auctions/{event}/bids", json=bid, headers=SUPPLIER), 201)
    suspended = ok(client.post("/api/suppliers/sup-a/restrictions", headers=REVIEWER, json={
        "kind": "suspended", "reason": "complaint under examination"}))
    restriction = suspended["supplier"]["restrictions"][0]["restriction_id"]
    # Told before the reviewer's answer: the event refuses the next bid and says why (the live
    # room's `you.restricted` too: tests/ws).
    refusal = refused(client.post(f"/api/auctions/{event}/bids", headers=SUPPLIER,
                                  json={**bid, "bid_id": "b2", "amount": 800_000}), 403,
                      "supplier_restricted")
    assert "suspended" in refusal["detail"], refusal
    listed = ok(client.get(f"/api/auctions/{event}", headers=BUYER))["view"]["suppliers"]
    assert listed[0]["restricted"]["reason"] == "suspended"  # flagged to the buyer, who decides
    ok(client.post(f"/api/suppliers/sup-a/restrictions/{restriction}/lifting",
                   json={"reason": "complaint dismissed"}, headers=REVIEWER))
    assert ok(client.get(f"/api/auctions/{event}", headers=BUYER))["view"]["suppliers"][0][
        "restricted"] is None
    ok(client.post(f"/api/auctions/{event}/bids", headers=SUPPLIER,
                   json={**bid, "bid_id": "b2", "amount": 800_000}), 201)


def test_an_auditor_reads_the_registry_and_changes_none_of_it(client):
    auditor = auth("buyer", "org-b", "audrey", roles=["auditor"])
    ok(client.post("/api/suppliers", json={"registration": REGISTRATION}, headers=SUPPLIER), 201)
    assert ok(client.get("/api/suppliers/sup-a", headers=auditor))["status"] == "pending"
    assert [s["supplier_id"] for s in ok(client.get("/api/suppliers", headers=auditor))[
        "items"]] == ["sup-a"]
    assert ok(client.get("/api/suppliers/sup-a/history", headers=auditor))["entries"]
    refused(client.post(f"/api/suppliers/sup-a/categories/{STEEL}/qualification", json={},
                        headers=auditor), 403, "forbidden")
    refused(client.post("/api/suppliers/sup-a/ratings", headers=auditor, json={
        "event_id": "e1", "delivery": 5, "quality": 5, "service": 5}), 404, "unknown_auction")
    bidder = auth("supplier", "sup-a", "bo", roles=["supplier_bidder"])
    refused(client.post("/api/suppliers/sup-a/categories", json={"categories": [PIPES]},
                        headers=bidder), 403, "forbidden")  # the supplier's admin's to do
    assert len(ok(client.get("/api/suppliers/sup-a/history", headers=SUPPLIER))["entries"]) == 1


def test_the_registry_is_read_by_the_roles_the_permission_table_names(client):
    ok(client.post("/api/suppliers", json={"registration": REGISTRATION}, headers=SUPPLIER), 201)
    evaluator = auth("buyer", "org-b", "eve", roles=["evaluator"])
    refused(client.get("/api/suppliers/sup-a", headers=evaluator), 404, "not_registered")
    refused(client.get("/api/suppliers", headers=evaluator), 403, "forbidden")
    approver = auth("buyer", "org-b", "al", roles=["approver"])
    ok(client.get("/api/suppliers/sup-a", headers=approver))
    bidder = auth("supplier", "sup-a", "bo", roles=["supplier_bidder"])
    assert ok(client.get("/api/suppliers/sup-a", headers=bidder))["supplier"]["supplier_id"] == (
        "sup-a")
