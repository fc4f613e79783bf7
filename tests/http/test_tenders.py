"""Sealed tenders over the HTTP API in process (the in-memory journal twin, a clock the test
moves): creation without the ``format`` tag, ``PUT /config`` refusing another format's
configuration, and the lifecycle's routes from publication to the award decision."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

from bidserver import sealing
from bidserver.app import build_app
from bidserver.auth import mint_token
from bidserver.config import Settings
from bidserver.sealing.bid import LotPrice, bid_content, seal_bid
from bidserver.sealing.shamir import share_to_text, split

from .conftest import KEY, T0
from .test_api import CONFIG as AUCTION_CONFIG

SUITE = sealing.FIRST
PRIVATE, PUBLIC = SUITE.keypair()
SHARES = [share_to_text(s) for s in split(PRIVATE, 2, 3)]
HOUR = 3_600_000
DOCS = "sha256:" + "ab" * 32

TENDER = {
    "title": "Road salt",
    "currency": "EUR",
    "lots": [{"lot_id": "L1", "title": "salt", "estimated_value": 5_000_000}],
    "documents_hash": DOCS,
    "public_key": base64.b64encode(PUBLIC).decode(),
    "officers": ["off-1", "off-2", "off-3"],
    "k": 2,
    "schedule": {"enquiry_end_at": T0 + HOUR, "submission_deadline_at": T0 + 2 * HOUR,
                 "opening_at": T0 + 3 * HOUR},
}


def auth(role: str, party: str, user: str | None = None) -> dict[str, str]:
    return {"authorization": f"Bearer {mint_token(KEY, role=role, party=party, user=user)}"}


BUYER = auth("buyer", "org-b", "clerk")


@pytest.fixture
def client(journal, tmp_path, clock):
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",),
                        redis_url="memory://")
    with TestClient(build_app(settings, journal=journal, now_ms=clock)) as client:
        yield client


def create(client) -> str:
    r = client.post("/api/tenders", json={"config": TENDER}, headers=BUYER)
    assert r.status_code == 201, r.text
    tender_id = r.json()["view"]["tender_id"]
    assert r.headers["location"] == f"/api/auctions/{tender_id}"
    return tender_id


def published_tender(client, config: dict, suppliers: dict[str, str]) -> str:
    """A tender of ``config`` created, ``suppliers`` (id -> name) invited, published: its id."""
    r = client.post("/api/tenders", json={"config": config}, headers=BUYER)
    assert r.status_code == 201, r.text
    tender_id = r.json()["view"]["tender_id"]
    for party, name in suppliers.items():
        r = client.post(f"/api/tenders/{tender_id}/invitations",
                        json={"supplier": party, "name": name}, headers=BUYER)
        assert r.status_code == 200, r.text
    assert client.post(f"/api/tenders/{tender_id}/publish", headers=BUYER).status_code == 200
    return tender_id


def declare(client, tender_id: str, user: str, conflict: bool = False,
            statement: str = "no interest in any bidder", org: str = "org-b") -> dict:
    """``user``, an officer or evaluator the tender names, declares their interests: the view
    answered (``tender.conflicts``: no share, qualification or score before "no conflict")."""
    r = client.post(f"/api/tenders/{tender_id}/declarations",
                    json={"conflict": conflict, "statement": statement},
                    headers=auth("buyer", org, user))
    assert r.status_code == 200, r.text
    return r.json()["view"]


def sealed_body(tender_id: str, party: str, bid_id: str, price: int) -> dict:
    content = bid_content(tender_id, party, "EUR", (LotPrice(lot_id="L1", amount=price),), None)
    blob = seal_bid(SUITE, PUBLIC, content)
    return {"bid_id": bid_id, "sealed": base64.b64encode(blob).decode(),
            "commitment": SUITE.commitment(blob)}


def test_put_config_refuses_a_configuration_of_another_format(client):
    tender_id = create(client)
    auction = client.post("/api/auctions", json={"config": AUCTION_CONFIG}, headers=BUYER)
    auction_id = auction.json()["view"]["auction_id"]
    for event_id, config in ((tender_id, {**AUCTION_CONFIG, "format": "reverse_auction"}),
                             (auction_id, {**TENDER, "format": "sealed_tender"}),
                             (auction_id, {**AUCTION_CONFIG, "format": "no_such_format"})):
        r = client.put(f"/api/auctions/{event_id}/config", json={"config": config}, headers=BUYER)
        assert r.status_code == 422, r.text
        assert (r.json()["reason"], r.json()["field"]) == ("invalid_config", "config.format")
    # without the tag, each is read as its own format's
    r = client.put(f"/api/auctions/{tender_id}/config",
                   json={"config": {**TENDER, "title": "Grit"}}, headers=BUYER)
    assert r.status_code == 200 and r.json()["view"]["title"] == "Grit"
    r = client.put(f"/api/auctions/{auction_id}/config",
                   json={"config": {**AUCTION_CONFIG, "title": "Pens"}}, headers=BUYER)
    assert r.status_code == 200 and r.json()["view"]["title"] == "Pens"
    # a reverse configuration for a tender without the tag is a bad body, not a 500
    r = client.put(f"/api/auctions/{tender_id}/config", json={"config": AUCTION_CONFIG},
                   headers=BUYER)
    assert r.status_code == 400


def test_tender_routes_refuse_an_auction(client):
    auction = client.post("/api/auctions", json={"config": AUCTION_CONFIG}, headers=BUYER)
    r = client.post(f"/api/tenders/{auction.json()['view']['auction_id']}/publish", headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (404, "unknown_auction")


def test_a_tender_from_publication_to_the_award_decision(client, clock):
    tender_id = create(client)
    base = f"/api/tenders/{tender_id}"
    for party in ("sup-a", "sup-b", "sup-c"):
        r = client.post(f"{base}/invitations", json={"supplier": party}, headers=BUYER)
        assert r.status_code == 200, r.text
    assert client.post(f"{base}/publish", headers=BUYER).status_code == 200
    a, b, c = (auth("supplier", p, f"{p}-person") for p in ("sup-a", "sup-b", "sup-c"))

    r = client.post(f"{base}/questions", json={"question_id": "q1", "text": "Grain size?"},
                    headers=a)
    assert r.status_code == 200, r.text
    r = client.post(f"{base}/questions/q1/answer", json={"supplier": "sup-a", "answer": "2-5 mm"},
                    headers=BUYER)
    assert r.status_code == 200, r.text
    seen_by_b = client.get(f"/api/auctions/{tender_id}", headers=b).json()["view"]
    assert "sup-a" not in str(seen_by_b["answers"]) and "2-5 mm" in str(seen_by_b["answers"])
    r = client.post(f"{base}/questions/q1/answer", json={"supplier": "sup-a", "answer": "x"},
                    headers=a)
    assert r.status_code == 403  # a supplier does not answer

    clock.now += HOUR + 1
    assert client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-a", "a1", 4_000_000),
                       headers=a).status_code == 200
    assert client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-b", "b1", 4_500_000),
                       headers=b).status_code == 200
    assert client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-c", "c1", 3_000_000),
                       headers=c).status_code == 200
    r = client.post(f"{base}/bids/b1/revision",
                    json=sealed_body(tender_id, "sup-b", "b2", 4_200_000), headers=b)
    assert r.status_code == 200, r.text
    assert client.post(f"{base}/bids/c1/withdrawal", headers=c).status_code == 200
    plain = {"bid_id": "p1", "sealed": base64.b64encode(b'{"price": 1}').decode(),
             "commitment": "sha256:" + "00" * 32}
    r = client.post(f"{base}/bids", json=plain, headers=c)
    assert (r.status_code, r.json()["reason"]) == (422, "not_sealed")
    r = client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-a", "x1", 1), headers=BUYER)
    assert r.status_code in (403, 409)  # a buyer never bids

    clock.now = T0 + 2 * HOUR
    r = client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-c", "c2", 2_000_000),
                    headers=c)
    assert (r.status_code, r.json()["reason"]) == (409, "deadline_passed")

    clock.now = T0 + 3 * HOUR
    for user, share in (("off-1", SHARES[0]), ("off-3", SHARES[2])):
        declare(client, tender_id, user)
        r = client.post(f"{base}/shares", json={"share": share},
                        headers=auth("buyer", "org-b", user))
        assert r.status_code == 200, r.text
    view = client.get(f"/api/auctions/{tender_id}", headers=BUYER).json()["view"]
    assert view["phase"] == "evaluation", view["phase"]
    assert "4200000" in str(view["opening"]) and "3000000" not in str(view["opening"])
    for party in ("sup-a", "sup-b"):
        r = client.post(f"{base}/qualifications", json={"supplier": party, "status": "valid"},
                        headers=BUYER)
        assert r.status_code == 200, r.text
    r = client.post(f"{base}/award", headers=BUYER)
    assert r.status_code == 200, r.text
    assert r.json()["view"]["phase"] == "standstill"
    r = client.post(f"{base}/complaints", json={"complaint_id": "k1", "text": "too cheap"},
                    headers=b)
    assert r.status_code == 200, r.text
    r = client.post(f"{base}/complaints/k1/resolution",
                    json={"supplier": "sup-b", "upheld": False, "resolution": "no"}, headers=BUYER)
    assert r.status_code == 200, r.text
    r = client.post(f"{base}/cancel", json={"reason": "budget"}, headers=BUYER)
    assert r.status_code == 200 and r.json()["view"]["phase"] == "cancelled"


def test_a_signed_bid_is_checked_at_submission_and_shown_at_the_opening(client, clock):
    from bidserver.sealing.bid_signature import BidStatement, sign_bid

    private, public = SUITE.signing_keypair()
    tender_id = create(client)
    base = f"/api/tenders/{tender_id}"
    r = client.post(f"{base}/invitations", headers=BUYER, json={
        "supplier": "sup-a", "signing_key": base64.b64encode(public).decode()})
    assert r.status_code == 200, r.text
    assert client.post(f"{base}/publish", headers=BUYER).status_code == 200
    a = auth("supplier", "sup-a", "sup-a-person")
    body = sealed_body(tender_id, "sup-a", "a1", 4_000_000)

    def signed(bid_id: str) -> str:
        statement = BidStatement(bid_id=bid_id, commitment=body["commitment"], supplier="sup-a",
                                 tender_id=tender_id)
        return base64.b64encode(sign_bid(SUITE, private, statement)).decode()

    # signed over another bid id: refused, and its id is used up as any refused bid's
    r = client.post(f"{base}/bids", json={**body, "bid_id": "a0", "signature": signed("a1")},
                    headers=a)
    assert (r.status_code, r.json()["reason"]) == (422, "bad_signature")
    r = client.post(f"{base}/bids", json={**body, "signature": signed("a1")}, headers=a)
    assert r.status_code == 200, r.text
    assert signed("a1") not in client.get(f"/api/auctions/{tender_id}", headers=BUYER).text

    clock.now = T0 + 3 * HOUR
    for user, share in (("off-1", SHARES[0]), ("off-3", SHARES[2])):
        declare(client, tender_id, user)
        r = client.post(f"{base}/shares", json={"share": share},
                        headers=auth("buyer", "org-b", user))
        assert r.status_code == 200, r.text
    (line,) = client.get(f"/api/auctions/{tender_id}", headers=BUYER).json()["view"]["opening"]["record"]
    assert (line["signature"], line["signing_key"]) == (signed("a1"), base64.b64encode(public).decode())
