"""EU Directive 2014/24/EU, Annex IV, one test per property, on a tender run over the HTTP API
against a real Redis (the server in process, a clock the test moves). The properties, as
../shared/DOMAIN.md sums them up: (a) the exact time of receipt can be determined; (b) no one can
access the data before the deadline; (c) only authorised persons set or change the opening date;
(d) in each stage only authorised persons access all or part of the data; (e) only authorised
persons give access to it, and only after the prescribed date; (f) data received and opened stays
accessible only to the authorised; (g) any infringement or attempt on (b)-(f) can be detected.

Deeper checks of the same properties live beside their code: the end-to-end run killed at every
stage with its scans of Redis, the logs and the data directory (tests/integration/
test_tender_e2e.py), byte-identical answers whatever others bid (test_tender_secrecy.py), the
receipts (test_receipts.py), the audit log (tests/integration/test_audit_log.py)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import msgspec
import pytest
import redis

from bidserver import sealing
from bidserver.audit import export
from bidserver.sealing.bid import LotPrice, bid_content, seal_bid
from bidserver.sealing.receipts import SignedReceipt, verify_receipt
from bidserver.sealing.shamir import share_from_text, share_to_text, split
from bidserver.store.audit_log import AuditFailed, verify

from .test_tenders import BUYER, DOCS, HOUR, T0, auth, declare

SUITE = sealing.FIRST
PRIVATE, PUBLIC = SUITE.keypair()
SHARES = [share_to_text(s) for s in split(PRIVATE, 2, 3)]
DEADLINE, OPENING = T0 + 2 * HOUR, T0 + 3 * HOUR
PRICES = {"sup-a": 7_314_159_265, "sup-b": 8_271_828_182}  # digits found nowhere else
TENDER = {
    "title": "Harbour dredging", "currency": "EUR",
    "lots": [{"lot_id": "L1", "title": "dredging"}],
    "documents_hash": DOCS, "public_key": base64.b64encode(PUBLIC).decode(),
    "officers": ["off-1", "off-2", "off-3"], "k": 2,
    "schedule": {"enquiry_end_at": T0 + HOUR, "submission_deadline_at": DEADLINE,
                 "opening_at": OPENING},
}
SUPPLIER = {party: auth("supplier", party) for party in (*PRICES, "sup-x")}
OFFICER = {name: auth("buyer", "org-b", name) for name in ("off-1", "off-2", "off-3")}
OTHER_BUYER = auth("buyer", "org-other", "someone")
OBSERVER = auth("observer", "org-b", "watcher")


@pytest.fixture
def client(on_redis):
    with on_redis() as client:
        yield client


def sealed(tender: str, party: str, bid_id: str, price: int) -> dict:
    blob = seal_bid(SUITE, PUBLIC, bid_content(tender, party, "EUR", (LotPrice(lot_id="L1", amount=price),)))
    return {"bid_id": bid_id, "sealed": base64.b64encode(blob).decode(),
            "commitment": SUITE.commitment(blob)}


def published(client, clock) -> str:
    tender = client.post("/api/tenders", json={"config": TENDER}, headers=BUYER).json()["view"]["tender_id"]
    for officer in OFFICER:  # none has an interest in a bidder (``tender.conflicts``)
        declare(client, tender, officer)
    for party in PRICES:
        assert client.post(f"/api/tenders/{tender}/invitations", json={"supplier": party},
                           headers=BUYER).status_code == 200
    assert client.post(f"/api/tenders/{tender}/publish", headers=BUYER).status_code == 200
    return tender


def with_bids(client, clock) -> str:
    tender = published(client, clock)
    for n, (party, price) in enumerate(PRICES.items()):
        clock.now = T0 + HOUR + 1000 * (n + 1)
        r = client.post(f"/api/tenders/{tender}/bids", json=sealed(tender, party, f"{party}-1", price),
                        headers=SUPPLIER[party])
        assert r.status_code == 200, r.text
    return tender


def opened(client, clock) -> str:
    tender = with_bids(client, clock)
    clock.now = OPENING  # a command decides what fell due first: the deadline, the opening
    for officer, share in (("off-1", SHARES[0]), ("off-2", SHARES[1])):
        r = client.post(f"/api/tenders/{tender}/shares", json={"share": share}, headers=OFFICER[officer])
        assert r.status_code == 200, r.text
    assert r.json()["view"]["phase"] == "evaluation"
    return tender


def redis_contents(url: str) -> bytes:
    """Every key and value in Redis, as an operator's dump would hold them."""
    r = redis.Redis.from_url(url)
    out = []
    for key in r.scan_iter(count=1000):
        out.append(key)
        kind = r.type(key)
        if kind == b"stream":
            out += [repr(e).encode() for e in r.xrange(key)]
        elif kind == b"hash":
            out += [repr(r.hgetall(key)).encode()]
        elif kind == b"string":
            out.append(r.get(key) or b"")
        elif kind == b"zset":
            out += [repr(r.zrange(key, 0, -1, withscores=True)).encode()]
        elif kind == b"list":
            out += r.lrange(key, 0, -1)
        elif kind == b"set":
            out += list(r.smembers(key))
    return b"\n".join(out)


def files_under(path: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())


def every_answer(client, tender: str) -> bytes:
    """What every role is answered about the tender: its view, history and the listing."""
    out = []
    for headers in (BUYER, OBSERVER, *SUPPLIER.values(), *OFFICER.values(), OTHER_BUYER):
        for path in (f"/api/auctions/{tender}", f"/api/auctions/{tender}/bids", "/api/auctions"):
            out.append(client.get(path, headers=headers).content)
    return b"\n".join(out)


def test_a_the_exact_time_of_every_receipt_is_known_and_signed(client, clock):
    tender = published(client, clock)
    base = f"/api/tenders/{tender}"
    steps = [(T0 + 1_234, "submitted", "POST", f"{base}/bids", sealed(tender, "sup-a", "a-1", 100)),
             (T0 + 5_678, "revised", "POST", f"{base}/bids/a-1/revision", sealed(tender, "sup-a", "a-2", 99)),
             (T0 + 9_999, "withdrawn", "POST", f"{base}/bids/a-2/withdrawal", None)]
    key = base64.b64decode(client.get("/api/keys/signing").json()["public_key"])
    for at, kind, method, path, body in steps:
        clock.now = at
        answer = client.request(method, path, json=body, headers=SUPPLIER["sup-a"])
        assert answer.status_code == 200, answer.text
        receipt = msgspec.convert(answer.json()["receipt"], SignedReceipt, strict=False)
        assert verify_receipt(key, receipt)
        assert (receipt.receipt.kind, receipt.receipt.received_at_ms) == (kind, at)  # to the ms


def test_b_no_one_reads_a_price_before_the_deadline(client, clock, redis_server, tmp_path):
    tender = with_bids(client, clock)
    clock.now = DEADLINE - 1
    seen = every_answer(client, tender) + redis_contents(redis_server.url) + files_under(tmp_path)
    for price in PRICES.values():
        for form in (str(price), f"{price // 100}.{price % 100:02d}", str(price).encode().hex()):
            assert form.encode() not in seen, f"{form} is readable before the deadline"
    # Nor how many bids there are: nobody's view has a count before the deadline.
    for headers in (BUYER, OBSERVER, SUPPLIER["sup-a"]):
        assert client.get(f"/api/auctions/{tender}", headers=headers).json()["view"]["received"] is None


def test_c_only_the_buyer_sets_or_changes_the_opening_date(client, clock):
    tender = published(client, clock)
    later = {"documents_hash": "sha256:" + "ef" * 32, "opening_at": OPENING + HOUR}
    for headers, status in ((SUPPLIER["sup-a"], 403), (OBSERVER, 403), (OTHER_BUYER, 404),
                            (SUPPLIER["sup-x"], 404)):
        r = client.post(f"/api/tenders/{tender}/documents", json=later, headers=headers)
        assert r.status_code == status, r.text
    config = dict(TENDER, schedule=dict(TENDER["schedule"], opening_at=OPENING + HOUR))
    r = client.put(f"/api/auctions/{tender}/config", json={"config": config}, headers=BUYER)
    assert r.status_code == 409, r.text  # published: the schedule changes only with the documents
    assert client.get(f"/api/auctions/{tender}", headers=BUYER).json()["view"]["schedule"]["opening_at"] == OPENING
    r = client.post(f"/api/tenders/{tender}/documents", json=later, headers=BUYER)
    assert r.status_code == 200, r.text
    assert r.json()["view"]["schedule"]["opening_at"] == OPENING + HOUR


def test_d_each_stage_shows_each_role_only_its_part(client, clock):
    tender = with_bids(client, clock)
    mine = client.get(f"/api/auctions/{tender}/bids", headers=SUPPLIER["sup-a"]).json()
    theirs = client.get(f"/api/auctions/{tender}/bids", headers=SUPPLIER["sup-b"]).json()
    assert b"sup-b" not in msgspec.json.encode(mine) and b"sup-a" not in msgspec.json.encode(theirs)
    assert b"sup-" not in client.get(f"/api/auctions/{tender}/bids", headers=BUYER).content
    tender_opened = opened_again(client, clock, tender)
    for headers in (BUYER, SUPPLIER["sup-a"], SUPPLIER["sup-b"]):
        record = client.get(f"/api/auctions/{tender_opened}", headers=headers).json()["view"]["opening"]["record"]
        assert {line["supplier"]: line["prices"][0]["price"] for line in record} == PRICES


def opened_again(client, clock, tender: str) -> str:
    clock.now = OPENING
    for officer, share in (("off-1", SHARES[0]), ("off-3", SHARES[2])):
        r = client.post(f"/api/tenders/{tender}/shares", json={"share": share}, headers=OFFICER[officer])
        assert r.status_code == 200, r.text
    assert r.json()["view"]["phase"] == "evaluation"
    return tender


def test_e_only_officers_give_access_and_only_from_the_opening_time(client, clock, redis_server):
    tender = with_bids(client, clock)
    clock.now = DEADLINE + 1  # closed, the opening time not yet come
    r = client.post(f"/api/tenders/{tender}/shares", json={"share": SHARES[0]}, headers=OFFICER["off-1"])
    assert (r.status_code, r.json()["reason"]) == (409, "opening_not_due")
    clock.now = OPENING
    for headers in (BUYER, SUPPLIER["sup-a"], OBSERVER):  # not an officer: refused, whoever it is
        r = client.post(f"/api/tenders/{tender}/shares", json={"share": SHARES[1]}, headers=headers)
        assert r.status_code in (403, 409), r.text
    r = client.post(f"/api/tenders/{tender}/shares", json={"share": SHARES[0]}, headers=OFFICER["off-1"])
    assert r.status_code == 200 and r.json()["view"]["opening"] is None  # one share opens nothing
    # Nor can the operator with one more officer: the share presented is not in Redis.
    assert share_value(SHARES[0]) not in redis_contents(redis_server.url)
    r = client.post(f"/api/tenders/{tender}/shares", json={"share": SHARES[1]}, headers=OFFICER["off-2"])
    assert r.status_code == 200 and r.json()["view"]["opening"] is not None
    assert not any(share_value(share) in redis_contents(redis_server.url) for share in SHARES)


def share_value(text: str) -> bytes:
    """A share's secret value as its text writes it (hex), however the text is quoted around it."""
    return share_from_text(text).value.hex().encode()


def test_f_what_was_opened_stays_with_those_entitled(client, clock):
    tender = opened(client, clock)
    for headers in (OTHER_BUYER, SUPPLIER["sup-x"], auth("observer", "org-other", "w")):
        assert client.get(f"/api/auctions/{tender}", headers=headers).status_code == 404
        assert client.get(f"/api/auctions/{tender}/bids", headers=headers).status_code == 404
        listed = client.get("/api/auctions", headers=headers).json()["auctions"]
        assert tender not in [row["auction_id"] for row in listed]


def test_g_every_attempt_is_refused_and_recorded_and_tampering_is_detected(client, clock, redis_server):
    tender = with_bids(client, clock)
    clock.now = DEADLINE + 1
    late = client.post(f"/api/tenders/{tender}/bids", json=sealed(tender, "sup-a", "late", 1),
                       headers=SUPPLIER["sup-a"])
    assert late.json()["reason"] == "deadline_passed"
    early = client.post(f"/api/tenders/{tender}/shares", json={"share": SHARES[0]}, headers=OFFICER["off-1"])
    assert early.json()["reason"] == "opening_not_due"
    # Refused reads too: the receipts (a buyer's), the documents before the opening, another's file.
    for headers, path, status in ((BUYER, "receipts", 403), (BUYER, "files", 409),
                                  (SUPPLIER["sup-b"], "files/" + "0" * 64, 404)):
        assert client.get(f"/api/tenders/{tender}/{path}", headers=headers).status_code == status
    # Each refused attempt is an entry of the journal, with who tried and when.
    journal = redis_contents(redis_server.url)
    assert journal.count(b"submission_refused") >= 1 and journal.count(b"share_refused") >= 1
    # The audit export verifies; a changed entry, a removed one or a cut tail is detected.
    data, _, _ = asyncio.run(export(redis_server.url, tender, None, clock.now))
    verify(data)
    refused_reads = [(e["event"]["party"], e["event"]["what"], e["event"]["reason"])
                     for e in map(msgspec.json.decode, data.splitlines()[1:])
                     if e.get("event", {}).get("type") == "access_refused"]
    assert refused_reads == [("org-b", "receipts", "bad_role"), ("org-b", "files", "wrong_phase"),
                             ("sup-b", "file sha256:" + "0" * 64, "not_found")]
    lines = data.split(b"\n")
    last = len(lines) - 2  # the final line is empty
    assert b'"at":' in lines[last]
    changed = lines[:last] + [lines[last].replace(b'"at":', b'"at":1', 1)] + lines[last + 1:]
    for tampered in (b"\n".join(changed), b"\n".join(lines[:last - 1] + lines[last:]),
                     b"\n".join(lines[:-2]) + b"\n"):
        with pytest.raises(AuditFailed):
            verify(tampered)
