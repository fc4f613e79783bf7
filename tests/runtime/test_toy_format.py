"""The format contract is real: a second format defined in tests (``toy.py``) runs through the
runtime, the hash-chained journal on a real Redis, the live room, the HTTP reads, the listing, the
awards stream and a restart, without a line of runtime or edge code written for it."""

from __future__ import annotations

import csv
import io

import msgspec
from redis import Redis
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.auth import mint_token
from bidserver.config import Settings
from bidserver.engine.formats import FORMATS
from bidserver.engine.values import Actor, Role
from bidserver.store.chain import verify

from .toy import TOY, Add, ToyConfig

KEY = "toy-format-test-key-0123456789abcdef"
OWNER = Actor(Role.BUYER, "org-toys")
S1, S2 = Actor(Role.SUPPLIER, "s1"), Actor(Role.SUPPLIER, "s2")
FORMATS_WITH_TOY = {**FORMATS, TOY.name: TOY}


def bearer(actor: Actor) -> dict[str, str]:
    return {"authorization": f"Bearer {mint_token(KEY, role=actor.role, party=actor.party)}"}


def app_on(redis_url: str, tmp_path):
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url=redis_url,
                        allow_single_machine_journal=True)
    return build_app(settings, formats=FORMATS_WITH_TOY)


def receive_until(ws, predicate) -> dict:
    while True:
        message = msgspec.json.decode(ws.receive_text())
        if predicate(message):
            return message


def test_a_second_format_runs_through_runtime_journal_live_room_and_restart(redis_server, tmp_path):
    with TestClient(app_on(redis_server.url, tmp_path)) as client:
        rooms = client.app.state.services.rooms
        tally, created = client.portal.call(rooms.create, OWNER, ToyConfig(title="Bell", note="hush"))
        assert created.ok and tally.format is TOY
        tally_id = tally.auction_id

        with client.websocket_connect(f"/ws/auctions/{tally_id}", headers=bearer(S1)) as ws:
            welcome = msgspec.json.decode(ws.receive_text())
            assert welcome["view"] == {"title": "Bell", "total": 0, "rang": False}  # no note
            assert welcome["you"] == {"yours": 0}

            added = client.portal.call(tally.submit, Add(actor=S1, at=0, ref="r1", amount=5))
            assert added.ok and added.receipt == {"total": 5} and len(added.events) == 1
            again = client.portal.call(tally.submit, Add(actor=S1, at=0, ref="r1", amount=5))
            assert again.ok and again.events == []  # a resend adds nothing twice
            other = client.portal.call(tally.submit, Add(actor=S2, at=0, ref="r2", amount=3))
            assert other.ok and other.receipt == {"total": 8}
            update = receive_until(ws, lambda m: m["type"] == "update" and m["view"]["total"] == 8)
            assert update["you"] == {"yours": 5} and update["events"] == []  # adds are folded

            ws.send_text('{"type":"bid","bid_id":"b1","lot_id":"L1","amount":1}')  # not a tally's
            refused = receive_until(ws, lambda m: m["type"] == "bid_result")
            assert (refused["status"], refused["reason"]) == ("rejected", "forbidden")

            rang = receive_until(ws, lambda m: any(e["type"] == "rang" for e in m.get("events", ())))
            assert rang["view"]["rang"] is True  # the runtime's timer rang the format's bell

        owner_view = client.get(f"/api/auctions/{tally_id}", headers=bearer(OWNER)).json()
        assert owner_view["view"]["note"] == "hush" and owner_view["view"]["by"] == {"s1": 5, "s2": 3}
        assert "note" not in client.get(f"/api/auctions/{tally_id}", headers=bearer(S2)).json()["view"]
        history = client.get(f"/api/auctions/{tally_id}/bids", headers=bearer(S2)).json()["bids"]
        assert history == [{"ref": "r2", "amount": 3}]
        sheet = client.get(f"/api/auctions/{tally_id}/results.csv", headers=bearer(OWNER)).text
        assert list(csv.reader(io.StringIO(sheet))) == [["supplier", "amount"], ["s1", "5"], ["s2", "3"]]
        assert client.get(f"/api/auctions/{tally_id}/results.csv", headers=bearer(S1)).status_code == 403
        listed = client.get("/api/auctions", headers=bearer(OWNER)).json()["auctions"]
        assert [(i["auction_id"], i["format"], i["phase"]) for i in listed] == [
            (tally_id, "toy_tally", "rang")
        ]
        view_before = owner_view

    redis = Redis.from_url(redis_server.url)
    try:
        stored = redis.xrange(f"bidserver:auction:{tally_id}")
        entries = [(int(i.split(b"-")[0]), fields[b"e"]) for i, fields in stored]
        envelopes = verify(tally_id, entries)  # the chain holds, sealed with the toy's name
        assert [(e.format, msgspec.json.decode(e.event)["type"]) for e in envelopes] == [
            ("toy_tally", "opened"), ("toy_tally", "added"), ("toy_tally", "added"),
            ("toy_tally", "rang"),
        ]
        awards = redis.xrange("bidserver:awards")
        assert [fields[b"award_id"].decode() for _, fields in awards] == [f"{tally_id}:bell"]
    finally:
        redis.close()

    with TestClient(app_on(redis_server.url, tmp_path)) as client:  # a restart: read back, verified
        again = client.get(f"/api/auctions/{tally_id}", headers=bearer(OWNER)).json()
        assert again == view_before
