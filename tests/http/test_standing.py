"""Over HTTP on a real Redis: an event's category, a supplier's standing pushed into a live event
(``runtime.standing``: its bids refused 403 ``supplier_restricted``, the restriction in the buyer's
view), and a tender's declarations of interests (``POST /api/tenders/{id}/declarations``: the
opened bids withheld from a named officer until they declare no conflict, in every read and in
the live room's handshake)."""

from __future__ import annotations

import pytest
from starlette.testclient import WebSocketDenialResponse

from bidserver.runtime.standing import set_standing

from .conftest import T0, qualified
from .test_api import CONFIG as AUCTION_CONFIG
from .test_tenders import (
    BUYER, HOUR, SHARES, TENDER, auth, declare, published_tender, sealed_body,
)

CATEGORY = "14410000-8"  # rock salt
S1 = auth("supplier", "s1", "s1-person")


@pytest.fixture
def client(on_redis):
    with on_redis() as client:
        yield client


def started_auction(client, config: dict) -> str:
    r = client.post("/api/auctions", json={"config": config}, headers=BUYER)
    assert r.status_code == 201, r.text
    auction_id = r.json()["view"]["auction_id"]
    for party in ("s1", "s2"):
        r = client.post(f"/api/auctions/{auction_id}/invitations", json={"supplier": party},
                        headers=BUYER)
        assert r.status_code == 200, r.text
    assert client.post(f"/api/auctions/{auction_id}/start", headers=BUYER).status_code == 200
    return auction_id


def test_an_events_category_is_a_cpv_code_shown_to_all(client):
    for party in ("s1", "s2"):
        qualified(client, party, CATEGORY)
    auction_id = started_auction(client, {**AUCTION_CONFIG, "category": CATEGORY})
    for headers in (BUYER, S1):
        assert client.get(f"/api/auctions/{auction_id}", headers=headers).json()["view"][
            "category"] == CATEGORY
    tender_id = published_tender(client, {**TENDER, "category": CATEGORY}, {"s1": "S1 Ltd"})
    assert client.get(f"/api/auctions/{tender_id}", headers=S1).json()["view"][
        "category"] == CATEGORY
    for path, config in (("/api/auctions", AUCTION_CONFIG), ("/api/tenders", TENDER)):
        r = client.post(path, json={"config": {**config, "category": "rock salt"}}, headers=BUYER)
        assert r.status_code in (400, 422) and r.json()["field"] == "config.category", r.text


def test_a_restricted_supplier_is_refused_and_flagged_to_the_buyer(client):
    auction_id = started_auction(client, AUCTION_CONFIG)
    base = f"/api/auctions/{auction_id}"
    bid = {"lot_id": "L1", "amount": 49_000, "bid_id": "b1"}
    assert client.post(f"{base}/bids", json=bid, headers=S1).status_code == 201
    rooms = client.app.state.services.rooms
    result = client.portal.call(set_standing, rooms, auction_id, "s1", True, "suspended",
                                "ISO 9001 certificate withdrawn")
    assert result.ok and result.events
    r = client.post(f"{base}/bids", json={**bid, "amount": 48_000, "bid_id": "b2"}, headers=S1)
    assert (r.status_code, r.json()["reason"]) == (403, "supplier_restricted")
    invited = client.get(base, headers=BUYER).json()["view"]["suppliers"]
    restriction = {s["supplier"]: s["restricted"] for s in invited}
    assert restriction["s2"] is None and restriction["s1"]["reason"] == "suspended"
    history = client.get(f"{base}/bids", headers=BUYER).json()["bids"]
    assert [(row["bid_id"], row["status"]) for row in history] == [("b1", "accepted"),
                                                                   ("b2", "refused")]


def opened_by_two(client, clock) -> str:
    """A tender with one bid, opened by off-1 and off-3 (who declared no conflict); off-2 has
    not declared."""
    tender_id = published_tender(client, TENDER, {"sup-a": "A Ltd"})
    base = f"/api/tenders/{tender_id}"
    clock.now = T0 + HOUR + 1
    r = client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-a", "a1", 4_000_000),
                    headers=auth("supplier", "sup-a", "sup-a-person"))
    assert r.status_code == 200, r.text
    clock.now = T0 + 3 * HOUR
    for user, share in (("off-1", SHARES[0]), ("off-3", SHARES[2])):
        declare(client, tender_id, user)
        r = client.post(f"{base}/shares", json={"share": share}, headers=auth("buyer", "org-b", user))
        assert r.status_code == 200, r.text
    return tender_id


def test_the_opened_bids_wait_for_an_officers_declaration(client, clock):
    tender_id = opened_by_two(client, clock)
    base = f"/api/tenders/{tender_id}"
    off_2 = auth("buyer", "org-b", "off-2")
    view = client.get(f"/api/auctions/{tender_id}", headers=off_2).json()["view"]
    assert (view["phase"], view["opening"], view["bids_withheld"]) == (
        "evaluation", None, "declaration_required")
    assert client.get(f"/api/auctions/{tender_id}/bids", headers=off_2).json()["bids"] == []
    assert client.get(f"/api/auctions/{tender_id}/results.csv", headers=off_2).status_code == 403
    r = client.get(f"{base}/files", headers=off_2)
    assert (r.status_code, r.json()["reason"]) == (403, "declaration_required")
    r = client.post(f"{base}/qualifications", json={"supplier": "sup-a", "status": "valid"},
                    headers=off_2)
    assert (r.status_code, r.json()["reason"]) == (403, "declaration_required")

    declared = declare(client, tender_id, "off-2")  # the answer is the view, now with the bids
    assert declared["opening"]["record"][0]["supplier"] == "sup-a"
    assert [d["user"] for d in declared["buyer"]["declarations"]] == ["off-1", "off-2", "off-3"]
    r = client.post(f"{base}/declarations", json={"conflict": True, "statement": "changed mind"},
                    headers=off_2)
    assert (r.status_code, r.json()["reason"]) == (409, "already_declared")
    r = client.post(f"{base}/declarations", json={"conflict": False, "statement": "none"},
                    headers=BUYER)  # the clerk is not named by the tender
    assert (r.status_code, r.json()["reason"]) == (403, "forbidden")


def test_a_declared_conflict_removes_the_officer(client, clock):
    tender_id = published_tender(client, TENDER, {"sup-a": "A Ltd"})
    off_2 = auth("buyer", "org-b", "off-2")
    view = declare(client, tender_id, "off-2", conflict=True, statement="I direct SUP-A")
    assert view["bids_withheld"] == "conflicted"
    desk = client.get(f"/api/auctions/{tender_id}", headers=BUYER).json()["view"]["buyer"]
    assert (desk["removed"], desk["opening_short"]) == (["off-2"], False)
    clock.now = T0 + 3 * HOUR
    r = client.post(f"/api/tenders/{tender_id}/shares", json={"share": SHARES[1]}, headers=off_2)
    assert (r.status_code, r.json()["reason"]) == (403, "conflicted")


def test_the_live_room_refuses_a_named_officer_until_they_declare(client, clock):
    tender_id = opened_by_two(client, clock)
    headers = auth("buyer", "org-b", "off-2")
    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect(f"/ws/auctions/{tender_id}", headers=headers):
            pass
    assert denied.value.status_code == 403
    assert denied.value.json()["reason"] == "declaration_required"
    declare(client, tender_id, "off-2")
    with client.websocket_connect(f"/ws/auctions/{tender_id}", headers=headers) as ws:
        welcome = ws.receive_json()
        assert welcome["type"] == "welcome" and welcome["view"]["opening"] is not None



def test_the_declarations_route_is_documented(client):
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/api/tenders/{auction_id}/declarations"]["post"]
    assert operation["operationId"] == "declare_interests" and "403" in operation["responses"]
    body = document["components"]["schemas"]["DeclarationBody"]
    assert set(body["required"]) == {"conflict", "statement"}
    for config in ("AuctionConfig", "TenderConfig"):
        category = document["components"]["schemas"][config]["properties"]["category"]
        assert category["pattern"] == r"^\d{8}-\d$"
