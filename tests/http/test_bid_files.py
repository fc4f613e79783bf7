"""A sealed bid's documents over the HTTP API, on a real Redis journal (a clock the test moves):
uploaded sealed by an invited supplier before the deadline, stored by their SHA-256 on disk
(idempotent), refused past the size limit (413), for bytes that are not the path's digest (422)
or not sealed (422), by a buyer and after the deadline; downloaded by the uploader always, by
the buyer's organisation once the bids are opened and only a file an opened bid names from the
supplier whose bid names it, by nobody else (404); and never in the journal: every Redis key is
read and holds no byte run of any document, sealed or not."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
import redis

from bidserver.sealing.bid import BidDocument, LotPrice, bid_content, seal_bid
from bidserver.sealing.documents import BUCKET, open_document, seal_document

from .test_tenders import BUYER, HOUR, PUBLIC, SHARES, SUITE, T0, TENDER, auth, declare

LIMIT = 3 * BUCKET + SUITE.overhead  # documents of up to three buckets
A, B = auth("supplier", "sup-a", "ann"), auth("supplier", "sup-b", "bob")
STRANGER = auth("supplier", "sup-x")
OBSERVER = auth("observer", "org-b", "auditor")


@pytest.fixture
def client(on_redis):
    with on_redis(max_bid_file_bytes=LIMIT) as client:
        yield client


@pytest.fixture
def tender(client, clock) -> str:
    """A published tender taking bids, sup-a and sup-b invited."""
    r = client.post("/api/tenders", json={"config": TENDER}, headers=BUYER)
    assert r.status_code == 201, r.text
    tender_id = r.json()["view"]["tender_id"]
    for party in ("sup-a", "sup-b"):
        r = client.post(f"/api/tenders/{tender_id}/invitations", json={"supplier": party},
                        headers=BUYER)
        assert r.status_code == 200, r.text
    assert client.post(f"/api/tenders/{tender_id}/publish", headers=BUYER).status_code == 200
    clock.now += HOUR + 1
    return tender_id


def sealed_doc(tender_id: str, text: bytes) -> tuple[bytes, str]:
    sealed = seal_document(SUITE, PUBLIC, tender_id, text)
    return sealed, hashlib.sha256(sealed).hexdigest()


def put(client, tender_id: str, hexdigest: str, data, headers):
    return client.put(f"/api/tenders/{tender_id}/files/{hexdigest}", content=data,
                      headers={**headers, "content-type": "application/octet-stream"})


def bid(client, tender_id: str, party: str, headers, documents: tuple[BidDocument, ...]):
    content = bid_content(tender_id, party, "EUR", (LotPrice(lot_id="L1", amount=4_000_000),),
                          documents=documents)
    blob = seal_bid(SUITE, PUBLIC, content)
    body = {"bid_id": f"{party}-1", "sealed": base64.b64encode(blob).decode(),
            "commitment": SUITE.commitment(blob)}
    r = client.post(f"/api/tenders/{tender_id}/bids", json=body, headers=headers)
    assert r.status_code == 200, r.text


def redis_values(url: str) -> list[bytes]:
    """Every value of every key in the Redis, whatever its type."""
    r = redis.Redis.from_url(url)
    out: list[bytes] = []
    for key in r.scan_iter(count=1000):
        kind = r.type(key).decode()
        if kind == "stream":
            out += [v for _, fields in r.xrange(key) for v in (*fields.keys(), *fields.values())]
        elif kind == "string":
            out.append(r.get(key))
        elif kind == "hash":
            out += [v for pair in r.hgetall(key).items() for v in pair]
        elif kind == "zset":
            out += r.zrange(key, 0, -1)
        elif kind == "list":
            out += r.lrange(key, 0, -1)
        elif kind == "set":
            out += list(r.smembers(key))
    r.close()
    return out


def test_documents_from_upload_to_the_opening_and_never_in_the_journal(
        client, tender, clock, redis_server, tmp_path):
    base = f"/api/tenders/{tender}"
    proposal = b"%PDF-1.7 technical proposal " + os.urandom(100_000)
    sealed, hexdigest = sealed_doc(tender, proposal)
    r = put(client, tender, hexdigest, sealed, A)
    assert r.status_code == 200, r.text
    assert r.json() == {"digest": f"sha256:{hexdigest}", "size": len(sealed), "created": True}
    stored = tmp_path / "files" / tender / "sup-a" / hexdigest
    assert stored.read_bytes() == sealed
    r = put(client, tender, hexdigest, sealed, A)  # the same bytes again: idempotent
    assert (r.status_code, r.json()["created"]) == (200, False)
    assert [p.name for p in stored.parent.iterdir()] == [hexdigest]  # no partial upload left

    r = client.get(f"{base}/files/{hexdigest}", headers=A)
    assert r.status_code == 200 and r.content == sealed
    assert r.headers["content-type"] == "application/octet-stream"
    for headers in (B, BUYER, OBSERVER):  # before the opening: the uploader only
        r = client.get(f"{base}/files/{hexdigest}", headers=headers)
        assert (r.status_code, r.json()["reason"]) == (404, "not_found"), headers
    r = client.get(f"{base}/files/{hexdigest}", headers=STRANGER)
    assert (r.status_code, r.json()["reason"]) == (404, "unknown_auction")
    assert client.get(f"{base}/files", headers=A).json()["uploads"] == [
        {"digest": f"sha256:{hexdigest}", "size": len(sealed), "created": False}]
    assert client.get(f"{base}/files", headers=B).json()["uploads"] == []
    r = client.get(f"{base}/files", headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (409, "wrong_phase")

    # sup-a names its file; sup-b names sup-a's file (which is not its own) and one it never sent
    missing = "sha256:" + "0" * 64
    bid(client, tender, "sup-a", A, (BidDocument(name="proposal.pdf", digest=f"sha256:{hexdigest}"),))
    bid(client, tender, "sup-b", B, (BidDocument(name="copy.pdf", digest=f"sha256:{hexdigest}"),
                                     BidDocument(name="lost.pdf", digest=missing)))
    clock.now = T0 + 2 * HOUR
    late, late_hex = sealed_doc(tender, b"late annex")
    r = put(client, tender, late_hex, late, B)
    assert (r.status_code, r.json()["reason"]) == (409, "deadline_passed")

    clock.now = T0 + 3 * HOUR
    for user, share in (("off-1", SHARES[0]), ("off-2", SHARES[1])):
        declare(client, tender, user)
        r = client.post(f"{base}/shares", json={"share": share},
                        headers=auth("buyer", "org-b", user))
        assert r.status_code == 200, r.text
    view = client.get(f"/api/auctions/{tender}", headers=BUYER).json()["view"]
    record = {line["supplier"]: line for line in view["opening"]["record"]}
    assert record["sup-a"]["documents"] == [{"name": "proposal.pdf", "digest": f"sha256:{hexdigest}"}]

    for headers in (BUYER, OBSERVER, A):
        r = client.get(f"{base}/files/{hexdigest}", headers=headers)
        assert r.status_code == 200 and r.content == sealed, headers
    private = base64.b64decode(view["opening"]["private_key"])
    assert open_document(SUITE, private, tender, r.content) == proposal
    for headers in (B, STRANGER):  # another bidder, even one naming the file, and a stranger
        assert client.get(f"{base}/files/{hexdigest}", headers=headers).status_code == 404
    assert client.get(f"{base}/files/{missing[7:]}", headers=BUYER).status_code == 404
    listed = client.get(f"{base}/files", headers=BUYER).json()["documents"]
    assert [(d["supplier"], d["name"], d["stored"]) for d in listed] == [
        ("sup-a", "proposal.pdf", True), ("sup-b", "copy.pdf", False),
        ("sup-b", "lost.pdf", False)]

    # the journal holds the bids (ciphertext) and digests, never a document's bytes
    values = redis_values(redis_server.url)
    assert any(hexdigest.encode() in v for v in values)  # the digest is (the opening record)
    # runs of 33 bytes at offsets divisible by 3: their base64 is in the base64 of the whole
    for data in (sealed, proposal):
        for i in range(0, len(data) - 33, 4095):
            run = data[i:i + 33]
            assert not any(e in v for v in values
                           for e in (run, base64.b64encode(run), run.hex().encode()))


def test_uploads_refused_with_a_reason(client, tender):
    base = f"/api/tenders/{tender}"
    too_big, too_big_hex = sealed_doc(tender, os.urandom(3 * BUCKET))  # four buckets
    r = put(client, tender, too_big_hex, too_big, A)
    assert (r.status_code, r.json()["reason"]) == (413, "message_too_big")
    assert str(LIMIT) in r.json()["detail"]
    r = put(client, tender, too_big_hex, iter([too_big[:BUCKET], too_big[BUCKET:]]), A)
    assert (r.status_code, r.json()["reason"]) == (413, "message_too_big")  # sent, not declared

    sealed, hexdigest = sealed_doc(tender, b"annex")
    r = put(client, tender, "ab" * 32, sealed, A)
    assert (r.status_code, r.json()["reason"]) == (422, "commitment_mismatch")
    r = put(client, tender, "not-a-digest", sealed, A)
    assert (r.status_code, r.json()["reason"]) == (422, "commitment_mismatch")

    pdf = (b"%PDF-1.7\n" + os.urandom(BUCKET))[:BUCKET + SUITE.overhead]  # the right size
    text = (b"Technical proposal, chapter one. " * 3000)[:BUCKET + SUITE.overhead]
    for plain in (pdf, text, b"%PDF-1.7 short"):
        r = put(client, tender, hashlib.sha256(plain).hexdigest(), plain, A)
        assert (r.status_code, r.json()["reason"]) == (422, "not_sealed"), plain[:20]

    r = put(client, tender, hexdigest, sealed, BUYER)
    assert (r.status_code, r.json()["reason"]) == (403, "forbidden")
    r = put(client, tender, hexdigest, sealed, STRANGER)
    assert (r.status_code, r.json()["reason"]) == (404, "unknown_auction")
    assert not (client.app.state.services.settings.files_at / tender / "sup-a").exists() or [
        p.name for p in (client.app.state.services.settings.files_at / tender / "sup-a").iterdir()
    ] == []  # nothing refused was kept, not even in part


def test_the_routes_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    upload = paths["/api/tenders/{auction_id}/files/{sha256}"]["put"]
    assert upload["requestBody"]["content"] == {"application/octet-stream": {"schema": {
        "type": "string", "contentMediaType": "application/octet-stream"}}}
    assert {"200", "403", "404", "409", "413", "422"} <= upload["responses"].keys()
    download = paths["/api/tenders/{auction_id}/files/{sha256}"]["get"]
    assert list(download["responses"]["200"]["content"]) == ["application/octet-stream"]
    listing = paths["/api/tenders/{auction_id}/files"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FileList"}
