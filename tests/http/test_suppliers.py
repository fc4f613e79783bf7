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
