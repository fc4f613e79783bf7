"""The live room under a plain ASGI server (Starlette's TestClient): the queued-sink path.

bidserver's own uvicorn protocol sends and receives frames directly (tests/ws/test_transport*,
tests/integration); any other ASGI server gets the bounded outbox drained by a writer task and the
ASGI receive loop. Same protocol either way.
"""

from __future__ import annotations

import msgspec
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.auth import mint_token
from bidserver.config import Settings
from bidserver.store.journal import MemoryJournal

KEY = "endpoint-test-key-0123456789abcdef"
CONFIG = {
    "title": "Gravel", "currency": "EUR", "duration_ms": 600_000,
    "decrement": {"kind": "amount", "value": 10},
    "lots": [{"lot_id": "L1", "title": "Gravel", "ceiling": 10_000}],
}


def bearer(role: str, party: str) -> dict[str, str]:
    return {"authorization": f"Bearer {mint_token(KEY, role=role, party=party)}"}


def test_bids_pings_and_refusals_through_the_asgi_path(tmp_path):
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, redis_url="memory://", max_message_bytes=512)
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
