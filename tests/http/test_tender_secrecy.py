"""Before the deadline nothing the server answers tells anyone how many bids a tender has or who
bid (EU 2014/24/EU Annex IV (b); China, Measures for Electronic Bidding, Art. 31).

The same tender is run three times on a real Redis, with 0, 1 and 3 other suppliers submitting
(and, with 3, revising, withdrawing and being refused); everything the attacker's positions
receive is recorded as bytes and must be the same in all three runs:

- a supplier who bids itself (``sup-a``), an invited supplier who never bids (``sup-d``), a
  supplier who is not invited (``sup-x``), the buyer (with its officer's token) and an observer;
- over HTTP: the listing (``GET /api/auctions``, every filter), the view, the bid history, the
  results sheet, the presence, the answers to its own commands (a submission with the bid id the
  others use, a revision and a withdrawal of a bid id only the others have, a resend), the
  reverse auction's bid route on the tender, every status, ``content-length`` and content type;
- in the live room: the welcome, everything sent until a ping is answered after the others'
  submissions, then the update of the buyer's answer to a question (a new submission must not
  make the room send anything, nor move anyone's ``seq``), and after a restart the welcome and the
  resume from ``?since=0``;
- then the server is restarted (the listing is written again from the journal) and the HTTP
  reads are made again; again after the buyer changes the documents (the bids in now need
  confirming), after it cancels the tender, and after a second restart.

What legitimately differs between runs is named: nothing but the buyer's presence (its
``presence`` messages in the live room, and the body of ``GET .../presence``), which comes and
goes with the suppliers' sockets on their own schedule (it lists who has the room open, not who
bid, and only to the buyer: tests/ws/test_presence.py); it is left out of the comparison (of the
read, only whether it is allowed is compared); and in the supplier's own receipts, the journal entry's chain hash
(``log_entry``), the signature over it, and the signing key's id (each run's server has its own). That hash covers the whole journal before the entry,
so it differs whenever anything before it does, but it is a SHA-256 of entries the supplier has
never seen: it tells nothing of them (unlike the seq it replaced, which counted them). Its length
and everything else in the answer are compared.
"""

from __future__ import annotations

import base64
import functools
import time

import msgspec
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.auth import mint_token
from bidserver.config import Settings
from bidserver.sealing.bid import LotPrice, bid_content, seal_bid

from .conftest import KEY, Clock
from .test_tenders import HOUR, PUBLIC, SUITE, T0, TENDER

TENDER_ID = "a00000000000000e1"  # the same in every run (the registry's ids are random)
ORG = "org-b"
ME, IDLE, STRANGER = "sup-a", "sup-d", "sup-x"
OTHERS = ("sup-b", "sup-c", "sup-e")
THEIR_IDS = ("bid-1", "bid-6", "bid-7")  # the first is the attacker's too
INVITED = (ME, *OTHERS, IDLE)


def _auth(role: str, party: str, user: str) -> dict[str, str]:
    return {"authorization": f"Bearer {mint_token(KEY, role=role, party=party, user=user)}"}


BUYER = _auth("buyer", ORG, "clerk")
OFFICER = _auth("buyer", ORG, "off-1")
WATCHERS = {
    "me": _auth("supplier", ME, "a-person"),
    "idle": _auth("supplier", IDLE, "d-person"),
    "stranger": _auth("supplier", STRANGER, "x-person"),
    "buyer": BUYER,
    "officer": OFFICER,
    "observer": _auth("observer", ORG, "watcher"),
}
LIVE = ("me", "idle", "buyer", "observer")  # who may open the live room


@functools.cache
def sealed(party: str, bid_id: str, price: int) -> dict:
    """One sealed bid per (party, bid id, price), the same bytes in every run (sealing draws
    randomness)."""
    content = bid_content(TENDER_ID, party, "EUR", (LotPrice(lot_id="L1", amount=price),), None)
    blob = seal_bid(SUITE, PUBLIC, content)
    return {"bid_id": bid_id, "sealed": base64.b64encode(blob).decode(),
            "commitment": SUITE.commitment(blob)}


class Recorder:
    """Everything the watchers receive, in order, as comparable bytes."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, object]] = []

    def http(self, label: str, response) -> None:
        self.seen.append((label, "http", (
            response.status_code, response.headers.get("content-type"),
            response.headers.get("content-length"), response.headers.get("etag"),
            response.headers.get("retry-after"), _without_chain_hash(response.content),
        )))

    def status(self, label: str, response) -> None:
        """Only whether the read was allowed: for an answer that may differ between runs."""
        self.seen.append((label, "status", response.status_code))

    def frame(self, label: str, text: str) -> None:
        self.seen.append((label, "ws", text))


def _without_chain_hash(body: bytes) -> bytes:
    """The body with a receipt's ``log_entry`` and signature masked, their lengths kept (see the
    module's docstring)."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body
    signed = data.get("receipt") if isinstance(data, dict) else None
    if not signed:
        return body
    receipt = signed["receipt"]
    receipt["log_entry"] = "h" * len(receipt["log_entry"])
    receipt["key_id"] = "k" * len(receipt["key_id"])  # each run's server has its own key
    signed["signature"] = "s" * len(signed["signature"])
    return msgspec.json.encode(data)


def _wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def _app(redis, tmp_path, clock) -> TestClient:
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",),
                        redis_url=redis.url, allow_single_machine_journal=True)
    return TestClient(build_app(settings, now_ms=clock))


def _reads(client: TestClient, rec: Recorder, step: str) -> None:
    """Every read route, as every watcher."""
    base = f"/api/auctions/{TENDER_ID}"
    for who, headers in WATCHERS.items():
        label = f"{step}/{who}"
        for path in ("/api/auctions", "/api/auctions?state=published",
                     "/api/auctions?state=submission", "/api/auctions?limit=1", base,
                     f"{base}/bids", f"{base}/results.csv"):
            rec.http(f"{label} GET {path}", client.get(path, headers=headers))
        # Presence is left out as in the live room (see the module's docstring): when a socket's
        # close is recorded, on the test's stepped clock, depends on the machine's load.
        rec.status(f"{label} GET {base}/presence", client.get(f"{base}/presence", headers=headers))


def _until(ws, kind: str, rec: Recorder, label: str) -> None:
    """Record every frame up to and including the first of type ``kind``; the buyer's presence
    messages are left out (see the module docstring)."""
    while True:
        text = ws.receive_text()
        message = msgspec.json.decode(text)
        if message["type"] == "presence":
            continue
        rec.frame(label, text)
        if message["type"] == kind:
            return


def _sync(sockets: dict, rec: Recorder, label: str) -> None:
    """Whatever each socket was sent before its ping's answer."""
    for who, ws in sockets.items():
        ws.send_text('{"type":"ping","client_time":1}')
        _until(ws, "pong", rec, f"{label}/{who}")


def _theirs(client: TestClient, clock: Clock, others: int, later: bool) -> None:
    """The other suppliers' doings: the attacker's positions must not see any of it."""
    base = f"/api/tenders/{TENDER_ID}"
    for i, party in enumerate(OTHERS[:others]):
        clock.now += 7 + i
        headers = _auth("supplier", party, f"{party}-person")
        if not later:
            r = client.post(f"{base}/bids", json=sealed(party, THEIR_IDS[i], 4_000_000 + i),
                            headers=headers)
            assert r.status_code == 200, r.text
            continue
        if i == 0:  # a revision, after everyone else's last event
            r = client.post(f"{base}/bids/bid-1/revision", json=sealed(party, "bid-9", 3_900_000),
                            headers=headers)
            assert r.status_code == 200, r.text
        elif i == 1:  # a withdrawal, then a plaintext refused (and recorded)
            assert client.post(f"{base}/bids/bid-6/withdrawal", headers=headers).status_code == 200
            plain = {"bid_id": "bid-2", "sealed": base64.b64encode(b'{"L1": 1}' * 120).decode(),
                     "commitment": "sha256:" + "0" * 64}
            assert client.post(f"{base}/bids", json=plain, headers=headers).status_code == 422
    if later and others:
        clock.now += 1
        headers = _auth("supplier", OTHERS[0], "b-person")  # the very last event of the run
        r = client.post(f"{base}/bids/bid-9/confirmation", json={"documents_hash":
                        TENDER["documents_hash"]}, headers=headers)
        assert r.status_code == 200, r.text


def _mine(client: TestClient, rec: Recorder) -> None:
    """The attacker's own commands, whose answers must not depend on the others."""
    base = f"/api/tenders/{TENDER_ID}"
    me = WATCHERS["me"]
    for label, path, body in (
        ("submit bid-1 (the others' id)", f"{base}/bids", sealed(ME, "bid-1", 4_100_000)),
        ("resend bid-1", f"{base}/bids", sealed(ME, "bid-1", 4_100_000)),
        ("revise bid-6 (theirs)", f"{base}/bids/bid-6/revision", sealed(ME, "bid-3", 1)),
        ("withdraw bid-7 (theirs)", f"{base}/bids/bid-7/withdrawal", None),
        ("confirm bid-7 (theirs)", f"{base}/bids/bid-7/confirmation",
         {"documents_hash": TENDER["documents_hash"]}),
        ("submit bid-6 (theirs)", f"{base}/bids", sealed(ME, "bid-6", 4_000_000)),
        ("the auction route", f"/api/auctions/{TENDER_ID}/bids",
         {"bid_id": "bid-1", "lot_id": "L1", "amount": 100}),
    ):
        rec.http(f"me {label}", client.post(path, json=body, headers=me))
    stranger = WATCHERS["stranger"]
    rec.http("stranger submits bid-1",
             client.post(f"{base}/bids", json=sealed(STRANGER, "bid-1", 1), headers=stranger))


def run(redis, tmp_path, others: int) -> list:
    clock, rec = Clock(), Recorder()
    base = f"/api/tenders/{TENDER_ID}"
    with _app(redis, tmp_path, clock) as client:
        client.app.state.services.rooms._id_factory = lambda: TENDER_ID
        r = client.post("/api/tenders", json={"config": TENDER}, headers=BUYER)
        assert r.status_code == 201, r.text
        for party in INVITED:
            clock.now += 1
            assert client.post(f"{base}/invitations", json={"supplier": party},
                               headers=BUYER).status_code == 200
        clock.now += 1
        assert client.post(f"{base}/publish", headers=BUYER).status_code == 200
        clock.now += 1
        r = client.post(f"{base}/questions", json={"question_id": "q1", "text": "Grain size?"},
                        headers=WATCHERS["me"])
        assert r.status_code == 200, r.text
        _reads(client, rec, "published")

        sockets = {}
        for who in LIVE:
            ws = client.websocket_connect(f"/ws/auctions/{TENDER_ID}", headers=WATCHERS[who])
            sockets[who] = ws.__enter__()
            _until(sockets[who], "welcome", rec, f"live/{who}")
        try:
            clock.now = T0 + 100
            _theirs(client, clock, others, later=False)
            clock.now = T0 + 200  # the same in every run, whatever the others did
            _sync(sockets, rec, "after their bids")
            _mine(client, rec)
            sockets["me"].send_text('{"type":"bid","bid_id":"bid-6","lot_id":"L1","amount":9}')
            _until(sockets["me"], "bid_result", rec, "me bids in the live room")
            _sync(sockets, rec, "after mine")
            _reads(client, rec, "bids in")
            clock.now = T0 + 300
            r = client.post(f"{base}/questions/q1/answer",
                            json={"supplier": ME, "answer": "2-5 mm"}, headers=BUYER)
            rec.http("buyer answers", r)
            for who, ws in sockets.items():
                _until(ws, "update", rec, f"answer/{who}")
            clock.now = T0 + 400
            _theirs(client, clock, others, later=True)
            clock.now = T0 + 500
            _sync(sockets, rec, "after their last")
            _reads(client, rec, "after their last")
        finally:
            for ws in sockets.values():
                ws.__exit__(None, None, None)

    clock.now = T0 + 100_000  # the restart: the listing is written again from the journal
    with _app(redis, tmp_path, clock) as client:
        _wait_until(lambda: client.get("/readyz").status_code == 200)
        _reads(client, rec, "restarted")
        for who in LIVE:
            with client.websocket_connect(f"/ws/auctions/{TENDER_ID}?since=0",
                                          headers=WATCHERS[who]) as ws:
                _until(ws, "welcome", rec, f"resumed/{who}")
                _sync({who: ws}, rec, "resumed")
        clock.now = T0 + 200_000  # new documents, the deadline later: every bid in must be
        documents = {"documents_hash": "sha256:" + "cd" * 32,  # confirmed, which tells nobody
                     "submission_deadline_at": T0 + 3 * HOUR}
        rec.http("buyer changes the documents",
                 client.post(f"{base}/documents", json=documents, headers=BUYER))
        _reads(client, rec, "documents changed")
        clock.now = T0 + 300_000  # cancelled before the deadline: the bids stay untold
        rec.http("buyer cancels",
                 client.post(f"{base}/cancel", json={"reason": "budget withdrawn"}, headers=BUYER))
        _reads(client, rec, "cancelled")
    clock.now = T0 + 400_000
    with _app(redis, tmp_path, clock) as client:  # a finished tender, read from the journal
        _wait_until(lambda: client.get("/readyz").status_code == 200)
        _reads(client, rec, "cancelled, restarted")
        assert client.get(f"/api/auctions/{TENDER_ID}", headers=BUYER).json()["view"]["phase"] \
            == "cancelled"
    assert T0 + 2 * HOUR > clock.now  # all of it before the deadline
    return rec.seen


def test_nothing_anyone_receives_before_the_deadline_depends_on_the_others_bids(
        redis_factory, tmp_path):
    runs = {n: run(redis_factory(name=f"redis-{n}"), tmp_path / f"data-{n}", n) for n in (0, 1, 3)}
    for n in (1, 3):
        assert len(runs[n]) == len(runs[0])
        for got, expected in zip(runs[n], runs[0]):
            assert got == expected, f"with {n} other bidders, {got[0]} differs"


def test_the_listing_keeps_the_time_of_its_last_change_after_a_restart(redis_factory, tmp_path):
    """The listing's ``updated_at`` is the publication's, not the last submission's, before and
    after a restart (when the entry is written again from the journal), until the tender is
    cancelled."""
    seen = run(redis_factory(), tmp_path, 3)
    updated = {label.split("/")[0]: msgspec.json.decode(value[-1])["auctions"][0]["updated_at"]
               for label, kind, value in seen
               if kind == "http" and label.endswith("/me GET /api/auctions")}
    published_at = T0 + len(INVITED) + 1
    assert updated == {"published": published_at, "bids in": published_at,
                       "after their last": published_at, "restarted": published_at,
                       "documents changed": published_at, "cancelled": T0 + 300_000,
                       "cancelled, restarted": T0 + 300_000}
