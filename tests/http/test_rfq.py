"""A request for quotations end to end over the HTTP API, on a real Redis journal (a clock the
test moves): created, suppliers invited, published with no enquiry period, three quotes sealed
with the Python sealing helpers, the deadline, the opening by one of the buyer's team (k = 1),
the comparison as JSON and as CSV for the buyer (refused to suppliers and before the opening),
and the award, final at once (no standstill)."""

from __future__ import annotations

import base64
import csv
import io
import time

import pytest

from bidserver import sealing
from bidserver.sealing.bid import LotPrice, bid_content, seal_bid
from bidserver.sealing.shamir import share_to_text, split

from tests import ocds_schema

from .test_tenders import BUYER, DOCS, HOUR, T0, auth, declare, published_tender

SUITE = sealing.FIRST
PRIVATE, PUBLIC = SUITE.keypair()
SHARES = [share_to_text(s) for s in split(PRIVATE, 1, 2)]  # either of the buyer's two opens
DEADLINE = T0 + 2 * HOUR

RFQ = {
    "procedure": "rfq",
    "title": "办公用品询价 Q3",
    "currency": "CNY",
    "lots": [{"lot_id": "P1", "title": "A4 复印纸", "quantity": "200", "unit": "包"},
             {"lot_id": "P2", "title": "Toner", "quantity": "3", "unit": "piece"}],
    "documents_hash": DOCS,
    "public_key": base64.b64encode(PUBLIC).decode(),
    "officers": ["clerk", "head"],
    "k": 1,
    "schedule": {"submission_deadline_at": DEADLINE, "opening_at": DEADLINE},
    "standstill_ms": 0,
    "requested_certificates": ["ISO 9001", "ISO 14001"],
}
SUPPLIERS = {"sup-a": "上海晨光办公用品有限公司", "sup-b": "=HYPERLINK(1)", "sup-c": "Acme Ltd"}
QUOTES = {  # prices per line (fen), delivery days, validity days, certificates
    "sup-a": ({"P1": 520_000, "P2": 90_000}, 3, 30, ["ISO 9001"]),
    "sup-b": ({"P1": 500_000, "P2": 95_000}, 7, 60, []),
    "sup-c": ({"P1": 540_000, "P2": 84_000}, 3, 30, ["iso 9001", "ISO 14001"]),
}


@pytest.fixture
def app(on_redis):
    return on_redis


@pytest.fixture
def client(app):
    with app() as client:
        yield client


def quote_body(rfq_id: str, party: str) -> dict:
    prices, delivery, validity, certificates = QUOTES[party]
    content = bid_content(rfq_id, party, "CNY",
                          tuple(LotPrice(lot_id=k, amount=v) for k, v in prices.items()),
                          delivery_days=delivery, validity_days=validity,
                          certificates=tuple(certificates))
    blob = seal_bid(SUITE, PUBLIC, content)
    return {"bid_id": f"{party}-q1", "sealed": base64.b64encode(blob).decode(),
            "commitment": SUITE.commitment(blob)}


def phase_becomes(client, rfq_id: str, phase: str, timeout_s: float = 10.0) -> dict:
    """The buyer's view once the RFQ is in ``phase`` (the room's timer moves it on)."""
    deadline = time.monotonic() + timeout_s
    while True:
        view = client.get(f"/api/auctions/{rfq_id}", headers=BUYER).json()["view"]
        if view["phase"] == phase or time.monotonic() > deadline:
            assert view["phase"] == phase, view["phase"]
            return view
        time.sleep(0.01)


def test_an_rfq_from_creation_to_the_award_with_its_comparison(app, client, clock):
    rfq_id = published_tender(client, RFQ, SUPPLIERS)
    base = f"/api/tenders/{rfq_id}"
    suppliers = {p: auth("supplier", p, f"{p}-person") for p in SUPPLIERS}

    clock.now += HOUR
    for party, headers in suppliers.items():
        r = client.post(f"{base}/bids", json=quote_body(rfq_id, party), headers=headers)
        assert r.status_code == 200, r.text
    r = client.get(f"{base}/comparison", headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (409, "wrong_phase")
    r = client.get(f"{base}/comparison.csv", headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (409, "wrong_phase")

    clock.now = DEADLINE
    for user in ("clerk", "head"):  # the RFQ's officers (``tender.conflicts``)
        declare(client, rfq_id, user)
    r = client.post(f"{base}/shares", json={"share": SHARES[1]},
                    headers=auth("buyer", "org-b", "head"))
    assert r.status_code == 200, r.text
    assert r.json()["view"]["phase"] == "evaluation"

    r = client.get(f"{base}/comparison", headers=BUYER)
    assert r.status_code == 200, r.text
    comparison = r.json()
    assert [(s["supplier"], s["total"], s["delivery_days"], s["validity_days"])
            for s in comparison["suppliers"]] == [
        ("sup-a", 610_000, 3, 30), ("sup-b", 595_000, 7, 60), ("sup-c", 624_000, 3, 30)]
    assert comparison["cheapest"] == {"value": 595_000, "suppliers": ["sup-b"]}
    assert comparison["fastest"] == {"value": 3, "suppliers": ["sup-a", "sup-c"]}  # a tie
    assert comparison["best_certified"] == {"value": 2, "suppliers": ["sup-c"]}
    assert [(x["lot_id"], x["quantity"], x["cheapest"]) for x in comparison["lines"]] == [
        ("P1", "200", ["sup-b"]), ("P2", "3", ["sup-c"])]
    assert [q["unit_price"] for q in comparison["lines"][0]["quotes"]] == [2_600, 2_500, 2_700]

    r = client.get(f"{base}/comparison.csv", headers=BUYER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith("\ufeff".encode())  # Excel reads the names as UTF-8
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][4] == "上海晨光办公用品有限公司 (sup-a) unit price"
    assert rows[0][6] == "'=HYPERLINK(1) (sup-b) unit price"  # shown as text, never run
    assert rows[1] == ["P1", "A4 复印纸", "200", "包", "26.00", "5200.00", "25.00", "5000.00",
                       "27.00", "5400.00", "'=HYPERLINK(1)"]
    total = next(row for row in rows if row[1] == "total (CNY)")
    assert total[5::2] == ["6100.00", "5950.00", "6240.00"]

    for party, headers in suppliers.items():
        r = client.get(f"{base}/comparison", headers=headers)
        assert (r.status_code, r.json()["reason"]) == (403, "forbidden")
        assert client.get(f"{base}/comparison.csv", headers=headers).status_code == 403
        seen = client.get(f"/api/auctions/{rfq_id}", headers=headers).json()
        assert seen["view"]["opening"] is None
    r = client.get(f"{base}/comparison", headers=auth("observer", "org-b"))
    assert r.status_code == 200 and r.json() == comparison  # the buyer's auditors
    r = client.get(f"{base}/comparison", headers=auth("buyer", "org-other", "x"))
    assert (r.status_code, r.json()["reason"]) == (404, "unknown_auction")

    for party in SUPPLIERS:
        r = client.post(f"{base}/qualifications", json={"supplier": party, "status": "valid"},
                        headers=BUYER)
        assert r.status_code == 200, r.text
    r = client.post(f"{base}/award", headers=BUYER)
    assert r.status_code == 200, r.text
    view = phase_becomes(client, rfq_id, "awarded")  # no standstill: final on the next tick
    assert [(a["lot_id"], a["supplier"], a["price"]) for a in view["awards"]] == [
        ("P1", "sup-b", 500_000), ("P2", "sup-c", 84_000)]
    # The RFQ as an OCDS release package, for the buyer's organisation: the awards' releases.
    r = client.get(f"/api/auctions/{rfq_id}/ocds", headers=BUYER)
    assert r.status_code == 200, r.text
    package = r.json()
    assert [release["id"] for release in package["releases"]] == [
        f"award-{rfq_id}:P1", f"award-{rfq_id}:P2"]
    assert package["releases"][0]["tender"]["procurementMethod"] == "limited"
    if ocds_schema.available():
        assert ocds_schema.verdict(package) == []
    r = client.get(f"/api/auctions/{rfq_id}/ocds", headers=auth("supplier", "sup-b"))
    assert (r.status_code, r.json()["reason"]) == (403, "forbidden")
    with app() as other:  # another server process reads the RFQ back from Redis's journal
        assert other.app.state.services.durability != "memory"
        r = other.get(f"{base}/comparison", headers=BUYER)
        assert r.status_code == 200 and r.json() == {
            **comparison, "suppliers": [{**s, "status": "valid"} for s in comparison["suppliers"]]}


def test_a_tender_has_no_comparison(client):
    open_tender = {k: v for k, v in RFQ.items() if k not in ("procedure", "requested_certificates")}
    open_tender["schedule"] = {"enquiry_end_at": T0 + HOUR, "submission_deadline_at": DEADLINE,
                               "opening_at": DEADLINE}
    r = client.post("/api/tenders", json={"config": open_tender}, headers=BUYER)
    assert r.status_code == 201, r.text
    r = client.get(f"/api/tenders/{r.json()['view']['tender_id']}/comparison", headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (404, "unknown_auction")
