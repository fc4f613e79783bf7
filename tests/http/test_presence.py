"""``GET /api/auctions/{id}/presence``: the buyer's read of its suppliers' live-room status, in
process (the shared, several-process path: tests/integration/test_presence.py)."""

from __future__ import annotations

import msgspec

from .test_api import BUYER, CONFIG, auth, create


def presence_of(client, auction_id: str, headers=BUYER):
    return client.get(f"/api/auctions/{auction_id}/presence", headers=headers)


def test_the_buyer_reads_every_invited_suppliers_status(client):
    auction_id = create(client)
    for supplier in ("s1", "s2"):
        client.post(f"/api/auctions/{auction_id}/invitations", json={"supplier": supplier},
                    headers=BUYER)
    r = presence_of(client, auction_id)
    assert r.status_code == 200 and r.json()["type"] == "presence"
    assert r.json()["suppliers"] == [{"supplier": "s1", "online": False, "last_seen": None},
                                     {"supplier": "s2", "online": False, "last_seen": None}]
    with client.websocket_connect(f"/ws/auctions/{auction_id}", headers=auth("supplier", "s2")) as ws:
        assert msgspec.json.decode(ws.receive_text())["type"] == "welcome"
        body = presence_of(client, auction_id).json()
        assert body["suppliers"][1] == {
            "supplier": "s2", "online": True, "last_seen": body["server_time"]}
    after = presence_of(client, auction_id).json()
    offline = after["suppliers"][1]
    assert offline["online"] is False
    assert body["server_time"] <= offline["last_seen"] <= after["server_time"]


def test_nobody_else_learns_it(client):
    auction_id = create(client, dict(CONFIG))
    client.post(f"/api/auctions/{auction_id}/invitations", json={"supplier": "s1"}, headers=BUYER)
    for role, party in (("supplier", "s1"), ("observer", "org-b"), ("buyer", "org-other"),
                        ("supplier", "s-uninvited")):
        r = presence_of(client, auction_id, auth(role, party))
        assert (r.status_code, r.json()["reason"]) == (404, "unknown_auction"), role
        assert r.json() == presence_of(client, "no-such-auction", auth(role, party)).json()
