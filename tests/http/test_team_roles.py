"""Team roles over the HTTP API (a real Redis journal, a clock the test moves): an auditor (a buyer's
token with ``roles: [auditor]``) reads everything its organisation's buyer reads, route by route,
and changes nothing: every command route answers it 403 ``forbidden``. The routes are the app's
own, so a route added later is checked here too (a command route needs a body below first)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from starlette.routing import Route

from bidserver.auth import mint_token
from bidserver.sealing.bid import BidDocument, LotPrice, bid_content, seal_bid
from bidserver.sealing.documents import seal_document

from .conftest import KEY
from .test_api import CONFIG
from .test_rfq import DEADLINE, PUBLIC, RFQ, SHARES, SUITE
from .test_tenders import BUYER, HOUR, auth, declare, published_tender


def team(user: str, *roles: str) -> dict[str, str]:
    token = mint_token(KEY, role="buyer", party="org-b", user=user, roles=roles)
    return {"authorization": f"Bearer {token}"}


AUDITOR = team("audrey", "auditor")
S1, S2 = auth("supplier", "sup-a", "ann"), auth("supplier", "sup-b", "bob")


@pytest.fixture
def client(on_redis):
    with on_redis() as client:
        yield client


def _quote(rfq_id: str, party: str, price: int, documents=()) -> dict:
    content = bid_content(rfq_id, party, "CNY", (LotPrice(lot_id="P1", amount=price),
                                                 LotPrice(lot_id="P2", amount=price // 10)),
                          delivery_days=3, validity_days=30, documents=documents)
    blob = seal_bid(SUITE, PUBLIC, content)
    return {"bid_id": f"{party}-q1", "sealed": base64.b64encode(blob).decode(),
            "commitment": SUITE.commitment(blob)}


@pytest.fixture
def events(client, clock) -> dict[str, str]:
    """An RFQ opened, one quote naming a document, and a reverse auction open (the clock stays
    put: it stays open) with a bid and a phone-in bid: every read has something to show. The
    path parameters of the routes."""
    rfq_id = published_tender(client, {**RFQ, "requested_certificates": []},
                              {"sup-a": "A", "sup-b": "B"})
    clock.now += HOUR
    sealed = seal_document(SUITE, PUBLIC, rfq_id, b"%PDF price list")
    digest = hashlib.sha256(sealed).hexdigest()
    r = client.put(f"/api/tenders/{rfq_id}/files/{digest}", content=sealed,
                   headers={**S1, "content-type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    documents = (BidDocument(name="prices.pdf", digest=f"sha256:{digest}"),)
    for party, headers, price in (("sup-a", S1, 500_000), ("sup-b", S2, 520_000)):
        r = client.post(f"/api/tenders/{rfq_id}/bids", headers=headers,
                        json=_quote(rfq_id, party, price, documents if party == "sup-a" else ()))
        assert r.status_code == 200, r.text
    clock.now = DEADLINE
    declare(client, rfq_id, "clerk")
    r = client.post(f"/api/tenders/{rfq_id}/shares", json={"share": SHARES[0]},
                    headers=auth("buyer", "org-b", "clerk"))
    assert r.json()["view"]["phase"] == "evaluation", r.text

    r = client.post("/api/auctions", json={"config": CONFIG}, headers=BUYER)
    auction_id = r.json()["view"]["auction_id"]
    base = f"/api/auctions/{auction_id}"
    for supplier in ("sup-a", "sup-b"):
        assert client.post(f"{base}/invitations", json={"supplier": supplier},
                           headers=BUYER).status_code == 200
    assert client.post(f"{base}/start", headers=BUYER).status_code == 200
    r = client.post(f"{base}/bids", json={"bid_id": "a1", "lot_id": "L1", "amount": 49_000},
                    headers=S1)
    assert r.status_code == 201, r.text
    r = client.post(f"{base}/bids", json={"bid_id": "b1", "lot_id": "L1", "amount": 48_000,
                                          "on_behalf_of": "sup-b"}, headers=BUYER)
    assert r.status_code == 201, r.text  # the buyer's defaults may bid on a supplier's behalf
    return {"auction": auction_id, "rfq": rfq_id, "sha256": digest, "bid_id": "a1",
            "lot_id": "L1", "question_id": "q1", "complaint_id": "k1"}


def _routes(client) -> list[tuple[str, str]]:
    return sorted((method, route.path) for route in client.app.routes
                  if isinstance(route, Route) and route.path.startswith(("/api/auctions", "/api/tenders"))
                  for method in route.methods - {"HEAD"})


def _paths(template: str, ids: dict[str, str], both: bool = True) -> list[tuple[str, str]]:
    """(event, the route's path) for each event it serves: the RFQ under ``/api/tenders``; the
    reverse auction under ``/api/auctions``, and the RFQ too if ``both`` formats are served."""
    if template.startswith("/api/tenders/"):
        events = ("rfq",)
    else:
        events = ("auction", "rfq") if both else ("auction",)
    return [(event, template.format(**{**ids, "auction_id": ids[event]})) for event in events]


def test_an_auditor_reads_what_its_buyer_reads(client, events):
    read = [path for method, template in _routes(client) if method == "GET"
            for _, path in _paths(template, events)]
    shown = []
    for path in read:
        buyer, auditor = client.get(path, headers=BUYER), client.get(path, headers=AUDITOR)
        assert (auditor.status_code, auditor.content) == (buyer.status_code, buyer.content), path
        if buyer.status_code == 200:
            shown.append(path.replace(events["auction"], "A").replace(events["rfq"], "R"))
    sha = events["sha256"]
    assert {"/api/auctions", "/api/auctions/A", "/api/auctions/A/bids",
            "/api/auctions/A/results.csv", "/api/auctions/A/presence", "/api/auctions/A/ocds",
            "/api/auctions/R", "/api/auctions/R/bids", "/api/auctions/R/results.csv",
            "/api/tenders/R/comparison", "/api/tenders/R/comparison.csv",
            f"/api/tenders/R/files/{sha}"} <= set(shown), shown
    # what only the buyer's people see: the identities behind the board
    board = client.get(f"/api/auctions/{events['auction']}", headers=AUDITOR).json()
    assert {e["supplier"] for e in board["view"]["lots"][0]["board"]} == {"sup-a", "sup-b"}


# A valid body for every command route (the auditor must be refused by the engine's
# permissions, not by the body): the test fails on a command route missing here.
_RULES = {"duration_ms": 600_000, "decrement": {"kind": "amount", "value": 100}}
_SEALED = {"bid_id": "x1", "sealed": base64.b64encode(b"x").decode(),
           "commitment": "sha256:" + "00" * 32}
BODIES: dict[tuple[str, str], object] = {
    ("POST", "/api/auctions"): {"config": CONFIG},
    ("PUT", "/api/auctions/{auction_id}/config"): {"config": CONFIG},
    ("POST", "/api/auctions/{auction_id}/invitations"): {"supplier": "sup-c"},
    ("POST", "/api/auctions/{auction_id}/start"): None,
    ("POST", "/api/auctions/{auction_id}/pause"): {"reason": "why not"},
    ("POST", "/api/auctions/{auction_id}/resume"): None,
    ("POST", "/api/auctions/{auction_id}/extend"): {"by_ms": 60_000},
    ("POST", "/api/auctions/{auction_id}/cancel"): {"reason": "why not"},
    ("POST", "/api/auctions/{auction_id}/bids"): {"bid_id": "x1", "lot_id": "L1",
                                                  "amount": 40_000, "on_behalf_of": "sup-a"},
    ("POST", "/api/auctions/{auction_id}/bids/{bid_id}/void"): {"reason": "why not"},
    ("POST", "/api/auctions/{auction_id}/lots/{lot_id}/award"): {},
    ("POST", "/api/tenders"): {"config": RFQ},
    ("POST", "/api/tenders/{auction_id}/publish"): None,
    ("POST", "/api/tenders/{auction_id}/documents"): {"documents_hash": "sha256:" + "cd" * 32},
    ("POST", "/api/tenders/{auction_id}/invitations"): {"supplier": "sup-c"},
    ("POST", "/api/tenders/{auction_id}/questions"): {"question_id": "q1", "text": "?"},
    ("POST", "/api/tenders/{auction_id}/questions/{question_id}/answer"): {
        "supplier": "sup-a", "answer": "!"},
    ("POST", "/api/tenders/{auction_id}/bids"): _SEALED,
    ("POST", "/api/tenders/{auction_id}/bids/{bid_id}/revision"): _SEALED,
    ("POST", "/api/tenders/{auction_id}/bids/{bid_id}/withdrawal"): None,
    ("POST", "/api/tenders/{auction_id}/bids/{bid_id}/confirmation"): {
        "documents_hash": "sha256:" + "cd" * 32},
    ("POST", "/api/tenders/{auction_id}/shares"): {"share": SHARES[1]},
    ("POST", "/api/tenders/{auction_id}/qualifications"): {"supplier": "sup-a",
                                                           "status": "valid"},
    ("POST", "/api/tenders/{auction_id}/scores"): {"supplier": "sup-a", "criterion": "c",
                                                   "score": 1},
    ("POST", "/api/tenders/{auction_id}/award"): None,
    ("POST", "/api/tenders/{auction_id}/auction"): {"rules": _RULES},
    ("POST", "/api/tenders/{auction_id}/complaints"): {"complaint_id": "k1", "text": "!"},
    ("POST", "/api/tenders/{auction_id}/complaints/{complaint_id}/resolution"): {
        "supplier": "sup-a", "upheld": True, "resolution": "!"},
    ("POST", "/api/tenders/{auction_id}/cancel"): {"reason": "why not"},
    ("PUT", "/api/tenders/{auction_id}/files/{sha256}"): b"sealed bytes",
    ("POST", "/api/auctions/{auction_id}/lots/{lot_id}/award/approval"): {"approve": True},
    ("POST", "/api/tenders/{auction_id}/award/approval"): {"approve": True},
    ("POST", "/api/auctions/{auction_id}/terms/acceptance"): {"terms_hash": "sha256:" + "ab" * 32},
    ("POST", "/api/tenders/{auction_id}/terms/acceptance"): {"terms_hash": "sha256:" + "ab" * 32},
    ("POST", "/api/tenders/{auction_id}/declarations"): {"conflict": False, "statement": "none"},
}
# The one command route of /api/auctions serving both formats, and its body for the RFQ.
TENDER_BODIES = {("PUT", "/api/auctions/{auction_id}/config"): {"config": RFQ}}


def _views(client, events) -> list[dict]:
    """What the buyer sees of both events, but the journal's seq: a refused attempt is
    recorded (Annex IV (g)), which is no change the auditor made."""
    views = []
    for event in ("auction", "rfq"):
        view = client.get(f"/api/auctions/{events[event]}", headers=BUYER).json()["view"]
        views.append({k: v for k, v in view.items() if k != "seq"})
    return views


def test_an_auditor_changes_nothing(client, events):
    commands = [(m, t) for m, t in _routes(client) if m != "GET"]
    assert sorted(BODIES) == commands, "a command route without a body in BODIES"
    before = _views(client, events)
    for (method, template), body in BODIES.items():
        for event, path in _paths(template, events, (method, template) in TENDER_BODIES):
            if event == "rfq":
                body = TENDER_BODIES.get((method, template), body)
            if isinstance(body, bytes):
                r = client.request(method, path, content=body, headers={
                    **AUDITOR, "content-type": "application/octet-stream"})
            else:
                r = client.request(method, path, json=body, headers=AUDITOR)
            assert (r.status_code, r.json()["reason"]) == (403, "forbidden"), (path, r.text)
    assert _views(client, events) == before
    listed = client.get("/api/auctions", headers=BUYER).json()["auctions"]
    assert len(listed) == 2  # nothing created either


def test_a_buyers_team_roles_split_the_work(client, events):
    """An evaluator qualifies and cannot award; a manager awards and cannot qualify."""
    rfq = f"/api/tenders/{events['rfq']}"
    evaluator, manager = team("eve", "evaluator"), team("max", "procurement_manager")
    r = client.post(f"{rfq}/award", headers=evaluator)
    assert (r.status_code, r.json()["reason"]) == (403, "forbidden")
    assert "award" in r.json()["detail"] and "evaluator" in r.json()["detail"]
    for party in ("sup-a", "sup-b"):
        body = {"supplier": party, "status": "valid"}
        r = client.post(f"{rfq}/qualifications", json=body, headers=manager)
        assert (r.status_code, r.json()["reason"]) == (403, "forbidden")
        assert client.post(f"{rfq}/qualifications", json=body, headers=evaluator).status_code == 200
    r = client.post(f"{rfq}/award", headers=manager)
    assert r.status_code == 200, r.text
