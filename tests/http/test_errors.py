"""Every error at the edge is JSON with a machine-readable reason, and none tells internals:
the framework's own 404/405/500, and the journal being away when an auction must be read from it
(HTTP and the live-room handshake alike)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse

from bidserver.app import build_app
from bidserver.config import Settings
from bidserver.store.journal import MemoryJournal

from .test_api import BUYER, KEY, auth, create
from .test_openapi_bids import check

SECRET = "s3cret-internal-detail at /srv/bidserver/engine.py"


def _app(journal, tmp_path):
    return build_app(Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://"), journal=journal)


def _problem(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == error, body
    return body


def test_unknown_routes_and_methods_are_json(tmp_path):
    with TestClient(_app(MemoryJournal(), tmp_path)) as client:
        _problem(client.get("/nope"), 404, "not_found")
        _problem(client.get("/api/auctions/a1/nope", headers=BUYER), 404, "not_found")
        r = client.delete("/api/auctions/a1/start", headers=BUYER)
        _problem(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "POST"  # Starlette's header is kept


class BrokenJournal(MemoryJournal):
    """A bug below the edge: reading a stream raises something nobody expected."""

    async def read(self, auction_id: str, *args, **kwargs):
        raise RuntimeError(SECRET)


def test_a_bug_is_a_json_500_that_says_nothing_of_it(tmp_path):
    app = _app(BrokenJournal(), tmp_path)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/auctions/a1", headers=BUYER)
        body = _problem(r, 500, "internal_error")
        assert body["detail"] == ""
        assert "s3cret" not in r.text and "Traceback" not in r.text
        with pytest.raises(WebSocketDenialResponse) as denied:
            with client.websocket_connect("/ws/auctions/a1", headers=auth("supplier", "s1")):
                pass
        _problem(denied.value, 500, "internal_error")
        assert "s3cret" not in denied.value.text


@pytest.fixture
def unloaded(tmp_path):
    """An auction in the journal that a fresh server has not loaded (finished auctions are loaded
    on demand), and that server with the journal switched off."""
    journal = MemoryJournal()
    with TestClient(_app(journal, tmp_path)) as first:
        auction_id = create(first)
        base = f"/api/auctions/{auction_id}"
        assert first.post(f"{base}/invitations", json={"supplier": "s1"}, headers=BUYER).status_code == 200
        assert first.post(f"{base}/cancel", json={"reason": "test"}, headers=BUYER).status_code == 200
    with TestClient(_app(journal, tmp_path)) as client:  # recovery skips the finished auction
        journal.available = False
        yield client, journal, base


def test_journal_down_before_the_auction_is_loaded_is_a_json_503(unloaded):
    client, journal, base = unloaded
    body = _problem(client.get(base, headers=BUYER), 503, "journal_unavailable")
    assert "memory journal" not in body["detail"]  # the store's own message stays in our log
    _problem(client.get(f"{base}/bids", headers=BUYER), 503, "journal_unavailable")
    _problem(client.post(f"{base}/pause", json={}, headers=BUYER), 503, "journal_unavailable")
    # A bid keeps its route's shape: the bid_result to resend, as from a live room.
    r = client.post(f"{base}/bids", json={"bid_id": "b1", "lot_id": "L1", "amount": 1}, headers=auth("supplier", "s1"))
    assert r.status_code == 503
    assert (r.json()["bid_id"], r.json()["reason"]) == ("b1", "journal_unavailable")
    check(client.get("/openapi.json").json(), r)  # the shape the document declares for a 503

    journal.available = True
    assert client.get(base, headers=BUYER).json()["view"]["phase"] == "cancelled"


def test_journal_down_at_the_live_room_handshake_is_a_json_denial(unloaded):
    client, journal, base = unloaded
    auction_id = base.rsplit("/", 1)[1]
    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect(f"/ws/auctions/{auction_id}", headers=auth("supplier", "s1")):
            pass
    _problem(denied.value, 503, "journal_unavailable")
    journal.available = True
    with client.websocket_connect(f"/ws/auctions/{auction_id}", headers=auth("supplier", "s1")) as ws:
        assert ws.receive_json()["type"] == "welcome"
