"""Every error at the edge is an RFC 9457 problem with a machine-readable reason, and none tells
internals: the framework's own 404/405/500, and the journal being away when an auction must be
read from it (HTTP and the live-room handshake alike)."""

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


def _problem(response, status: int, reason: str) -> dict:
    """An RFC 9457 problem: its members, the reason as an extension (and as ``error``, kept for
    0.2 clients), and no member that does not apply (no ``null``s)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["reason"] == body["error"] == reason, body
    assert body["status"] == status and body["type"] == f"urn:bidserver:problem:{reason}", body
    assert body["title"] == reason.replace("_", " ").capitalize()
    assert set(body) <= {"type", "title", "status", "detail", "reason", "error", "max_amount"}
    assert None not in body.values() and body.get("detail") != "", body
    return body


def test_unknown_routes_and_methods_are_problems(tmp_path):
    with TestClient(_app(MemoryJournal(), tmp_path)) as client:
        _problem(client.get("/nope"), 404, "not_found")
        _problem(client.get("/api/auctions/a1/nope", headers=BUYER), 404, "not_found")
        r = client.delete("/api/auctions/a1/start", headers=BUYER)
        _problem(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/api/auctions", "GET, HEAD, POST"),
        ("/api/auctions/a1/bids", "GET, HEAD, POST"),
        ("/api/auctions/a1", "GET, HEAD"),
        ("/openapi.json", "GET, HEAD"),
    ],
)
def test_a_405_allows_every_method_of_the_path(tmp_path, path, allow):
    """Routes are registered per method: Starlette's own 405 named only the first one's."""
    with TestClient(_app(MemoryJournal(), tmp_path)) as client:
        for method in ("DELETE", "PATCH", "PUT"):
            r = client.request(method, path, headers=BUYER)
            _problem(r, 405, "method_not_allowed")
            assert r.headers["allow"] == allow, method


def test_every_refusal_is_a_problem_without_members_that_do_not_apply(tmp_path):
    """Auth, body, engine refusals and sizes alike; ``max_amount`` only where a price was refused
    (never ``"max_amount": null``)."""
    from bidserver.http.routes import MAX_BODY

    from .test_api import CONFIG

    with TestClient(_app(MemoryJournal(), tmp_path)) as client:
        _problem(client.post("/api/auctions", json={"config": CONFIG}), 401, "missing_token")
        r = client.get("/api/auctions", headers={"authorization": "Bearer nope"})
        _problem(r, 401, "invalid_token")
        _problem(client.post("/api/auctions", content=b"{nope", headers=BUYER), 400, "bad_request")
        r = client.post("/api/auctions", json={"config": CONFIG}, headers=auth("supplier", "s1"))
        _problem(r, 403, "forbidden")
        _problem(client.get("/api/auctions/nope", headers=BUYER), 404, "unknown_auction")
        base = f"/api/auctions/{create(client)}"
        client.post(f"{base}/invitations", json={"supplier": "s1"}, headers=BUYER)
        r = client.post(f"{base}/invitations", json={"supplier": "s1"}, headers=BUYER)
        _problem(r, 409, "already_invited")
        _problem(client.post(f"{base}/cancel", json={"reason": " "}, headers=BUYER), 422, "reason_required")
        big = b'{"reason": "' + b"x" * MAX_BODY + b'"}'
        _problem(client.post(f"{base}/pause", content=big, headers=BUYER), 413, "message_too_big")
        r = client.get(f"{base}/results.csv", headers=auth("supplier", "s1"))
        assert _problem(r, 403, "forbidden")["detail"] == "results are the buyer's"


class BrokenJournal(MemoryJournal):
    """A bug below the edge: reading a stream raises something nobody expected."""

    async def read(self, auction_id: str, *args, **kwargs):
        raise RuntimeError(SECRET)


def test_a_bug_is_a_500_problem_that_says_nothing_of_it(tmp_path):
    app = _app(BrokenJournal(), tmp_path)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/auctions/a1", headers=BUYER)
        body = _problem(r, 500, "internal_error")
        assert "detail" not in body
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
