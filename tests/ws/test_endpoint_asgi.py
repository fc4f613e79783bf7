"""The live room under a plain ASGI server (Starlette's TestClient): the queued-sink path.

bidserver's own uvicorn protocol sends and receives frames directly (tests/ws/test_transport*,
tests/integration); any other ASGI server gets the bounded outbox drained by a writer task and the
ASGI receive loop. Same protocol either way.
"""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bidserver import clock
from bidserver.app import build_app
from bidserver.auth import LEEWAY_S, Principal, mint_token
from bidserver.config import Settings
from bidserver.engine.reverse.values import Role
from bidserver.store.journal import MemoryJournal
from bidserver.ws.endpoint import SocketsPerUser, _close_at_expiry, _on_gone

KEY = "endpoint-test-key-0123456789abcdef"
CONFIG = {
    "title": "Gravel", "currency": "EUR", "duration_ms": 600_000,
    "decrement": {"kind": "amount", "value": 10},
    "lots": [{"lot_id": "L1", "title": "Gravel", "ceiling": 10_000}],
}


def bearer(role: str, party: str) -> dict[str, str]:
    return {"authorization": f"Bearer {mint_token(KEY, role=role, party=party)}"}


def test_bids_pings_and_refusals_through_the_asgi_path(tmp_path):
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://", max_message_bytes=512)
    with TestClient(build_app(settings, journal=MemoryJournal())) as client:
        buyer = bearer("buyer", "org-b")
        auction_id = client.post("/api/auctions", json={"config": CONFIG}, headers=buyer).json()["view"]["auction_id"]
        client.post(f"/api/auctions/{auction_id}/invitations", json={"supplier": "s1"}, headers=buyer)
        client.post(f"/api/auctions/{auction_id}/start", headers=buyer)
        with client.websocket_connect(f"/ws/auctions/{auction_id}", headers=bearer("supplier", "s1")) as ws:
            welcome = msgspec.json.decode(ws.receive_text())
            assert welcome["type"] == "welcome" and welcome["you"]["alias"] == "Supplier 1"
            ws.send_text('{"type":"bid","bid_id":"b1","lot_id":"L1","amount":9000}')
            ws.send_text('{"type":"bid","bid_id":"b2","lot_id":"L1","amount":8995}')
            ws.send_text('{"type":"ping","client_time":1.5}')
            ws.send_text('{"type":"shout"}')
            seen = {}
            while not {"b1", "b2", "pong", "error"} <= seen.keys():
                message = msgspec.json.decode(ws.receive_text())
                key = message.get("bid_id") or message["type"]
                seen.setdefault(key, message)
            assert seen["b1"]["status"] == "accepted" and seen["b1"]["rank"] == 1
            assert seen["b2"]["reason"] == "decrement_too_small"
            assert seen["pong"]["client_time"] == 1.5
            assert seen["error"]["reason"] == "bad_request"
            ws.send_text("x" * 600)  # over max_message_bytes: closed with 1009
            while True:
                try:
                    ws.receive_text()
                except Exception as exc:  # starlette's WebSocketDisconnect
                    assert getattr(exc, "code", None) == 1009
                    break


def test_oversized_ids_in_a_bid_message_are_a_bad_request_and_change_nothing(tmp_path):
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://")
    journal = MemoryJournal()
    with TestClient(build_app(settings, journal=journal)) as client:
        buyer = bearer("buyer", "org-b")
        auction_id = client.post("/api/auctions", json={"config": CONFIG}, headers=buyer).json()["view"]["auction_id"]
        client.post(f"/api/auctions/{auction_id}/invitations", json={"supplier": "s1"}, headers=buyer)
        client.post(f"/api/auctions/{auction_id}/start", headers=buyer)
        writes = journal.append_calls
        with client.websocket_connect(f"/ws/auctions/{auction_id}", headers=bearer("supplier", "s1")) as ws:
            assert msgspec.json.decode(ws.receive_text())["type"] == "welcome"
            for bid in (
                {"bid_id": "b" * 65, "lot_id": "L1"},
                {"bid_id": "", "lot_id": "L1"},
                {"bid_id": "b1", "lot_id": "L" * 65},
            ):
                ws.send_text(msgspec.json.encode({"type": "bid", "amount": 9000, **bid}).decode())
                error = msgspec.json.decode(ws.receive_text())
                assert (error["type"], error["reason"]) == ("error", "bad_request")
                assert "length" in error["detail"]
            ws.send_text('{"type":"ping","client_time":2.5}')
            assert msgspec.json.decode(ws.receive_text())["type"] == "pong"  # nothing else came
        assert journal.append_calls == writes
        bids = client.get(f"/api/auctions/{auction_id}/bids", headers=buyer).json()["bids"]
        assert bids == []


class _Conn:
    def __init__(self) -> None:
        self.closes: list[tuple[int, str]] = []
        self.closed = False

    def close_soon(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))


class _Room:
    def __init__(self) -> None:
        self.audience = self
        self.left: list[object] = []

    def leave(self, conn) -> None:
        self.left.append(conn)


async def test_the_expiry_timer_closes_with_4401_and_goes_with_the_socket():
    """Over a real socket in tests/integration/test_edge_token_expiry.py; here, the timer's life."""
    # Refused from now on (exp + the skew tolerance has just passed): closed at the next turn.
    expired = Principal(Role.SUPPLIER, "s1", "s1", expires_at=clock.now_ms() - LEEWAY_S * 1000)
    conn = _Conn()
    timer = _close_at_expiry(expired, conn)
    await asyncio.wait_for(_until(lambda: conn.closes), 5)
    assert conn.closes == [(4401, "expired_token")]

    # A socket that goes away first takes its timer with it.
    valid = Principal(Role.SUPPLIER, "s1", "s1", expires_at=clock.now_ms() + 3600_000)
    conn, room, released = _Conn(), _Room(), []
    timer = _close_at_expiry(valid, conn)
    _on_gone(room, conn, timer, lambda: released.append(True))()
    assert timer.cancelled() and conn.closed and room.left == [conn] and released == [True]
    assert _close_at_expiry(Principal(Role.SUPPLIER, "s1", "s1"), conn) is None  # no exp: no timer


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0)


@pytest.mark.parametrize("payload", [b'{"type":"ping","client_time":1}', b'{"type":"ping","client_time":"\x80"}'])
def test_a_binary_message_closes_the_socket_with_1003(tmp_path, payload):
    """The protocol is JSON text: a binary frame is refused, even one holding a valid message
    (and invalid UTF-8 in one never reaches the decoder). Our uvicorn protocol: test_live_limits."""
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://")
    with TestClient(build_app(settings, journal=MemoryJournal())) as client:
        buyer = bearer("buyer", "org-b")
        auction_id = client.post("/api/auctions", json={"config": CONFIG}, headers=buyer).json()["view"]["auction_id"]
        with client.websocket_connect(f"/ws/auctions/{auction_id}", headers=buyer) as ws:
            assert msgspec.json.decode(ws.receive_text())["type"] == "welcome"
            assert msgspec.json.decode(ws.receive_text())["type"] == "presence"  # the buyer's
            ws.send_bytes(payload)
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert (closed.value.code, closed.value.reason) == (1003, "bad_request")


def test_a_deeply_nested_message_is_a_bad_request(tmp_path):
    """1,500 levels in 3 KB made the decoder recurse out (RecursionError: 1011 and a traceback)."""
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://")
    nested = '{"x":' + "[" * 1500 + "]" * 1500 + ',"type":"ping","client_time":1}'
    with TestClient(build_app(settings, journal=MemoryJournal())) as client:
        buyer = bearer("buyer", "org-b")
        auction_id = client.post("/api/auctions", json={"config": CONFIG}, headers=buyer).json()["view"]["auction_id"]
        with client.websocket_connect(f"/ws/auctions/{auction_id}", headers=buyer) as ws:
            assert msgspec.json.decode(ws.receive_text())["type"] == "welcome"
            assert msgspec.json.decode(ws.receive_text())["type"] == "presence"  # the buyer's
            ws.send_text(nested)
            answer = msgspec.json.decode(ws.receive_text())
            assert answer["type"] == "error" and answer["reason"] == "bad_request"
            ws.send_text('{"type":"ping","client_time":2}')
            assert msgspec.json.decode(ws.receive_text())["type"] == "pong"
        r = client.post("/api/auctions", content=nested.encode(), headers=buyer)  # and over HTTP
        assert r.status_code == 400 and r.json()["error"] == "bad_request"


def test_sockets_are_counted_per_user_whatever_the_token():
    sockets = SocketsPerUser(2)
    alice = Principal(Role.BUYER, "org-b", "alice", expires_at=1)
    alice_again = Principal(Role.BUYER, "org-b", "alice", name="Alice", expires_at=2)  # another token
    bob = Principal(Role.BUYER, "org-b", "bob")
    assert sockets.take(alice) and sockets.take(alice_again)
    assert not sockets.take(alice) and sockets.take(bob)
    sockets.give_back(alice)
    assert sockets.take(alice_again) and not sockets.take(alice)
    for _ in range(2):
        sockets.give_back(alice)
    sockets.give_back(bob)
    assert sockets._held == {}  # nothing kept for users who hold none
