"""A tender's signed receipts over HTTP (the in-memory journal twin, a clock the test moves): each
submission, revision and withdrawal answer carries one that verifies with the published key, at
the event's time, naming the journal entry's chain hash; a supplier fetches its own again, byte
for byte, and nobody else's; an altered journal is never signed for."""

from __future__ import annotations

import asyncio

import msgspec

from bidserver.sealing import ed25519
from bidserver.sealing.pem import read_private, read_public
from bidserver.sealing.receipts import SignedReceipt, key_id, verify_receipt
from bidserver.store.audit_log import export_bytes
from bidserver.store.chain import Envelope

from .test_tenders import BUYER, HOUR, auth, client, create, sealed_body  # noqa: F401 - client: its fixture

A, B = auth("supplier", "sup-a", "ann"), auth("supplier", "sup-b", "bob")


def published(client, clock) -> tuple[str, str]:
    tender_id = create(client)
    base = f"/api/tenders/{tender_id}"
    for party in ("sup-a", "sup-b"):
        assert client.post(f"{base}/invitations", json={"supplier": party}, headers=BUYER).status_code == 200
    assert client.post(f"{base}/publish", headers=BUYER).status_code == 200
    clock.now += HOUR + 1  # the submission phase
    return tender_id, base


def server_key(client) -> bytes:
    r = client.get("/api/keys/signing")  # no token
    assert r.status_code == 200, r.text
    key = r.json()
    public = read_public("ed25519", key["public_key"])
    assert read_public("ed25519", key["pem"]) == public
    assert (key["algorithm"], key["key_id"]) == ("ed25519", key_id(public))
    return public


def receipt_of(r) -> SignedReceipt:
    assert r.status_code == 200, r.text
    return msgspec.json.decode(msgspec.json.encode(r.json()["receipt"]), type=SignedReceipt)


def envelopes(journal, tender_id: str) -> dict[str, Envelope]:
    entries = asyncio.run(journal.read(tender_id))
    return {e.hash: e for e in (msgspec.json.decode(data, type=Envelope) for _, data in entries)}


def test_every_answer_carries_a_receipt_of_the_event(client, clock, journal):
    tender_id, base = published(client, clock)
    public = server_key(client)
    body = sealed_body(tender_id, "sup-a", "a1", 4_000_000)
    submitted = receipt_of(client.post(f"{base}/bids", json=body, headers=A))
    at_submission = clock.now
    clock.now += 1000
    client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-b", "b1", 4_100_000), headers=B)
    clock.now += 1000
    revision = sealed_body(tender_id, "sup-a", "a2", 3_900_000)
    revised = receipt_of(client.post(f"{base}/bids/a1/revision", json=revision, headers=A))
    clock.now += 1000
    withdrawn = receipt_of(client.post(f"{base}/bids/a2/withdrawal", headers=A))

    expected = [("submitted", "a1", body["commitment"], at_submission),
                ("revised", "a2", revision["commitment"], at_submission + 2000),
                ("withdrawn", "a2", revision["commitment"], at_submission + 3000)]
    by_hash = envelopes(journal, tender_id)
    for signed, (kind, bid_id, commitment, at) in zip((submitted, revised, withdrawn), expected, strict=True):
        r = signed.receipt
        assert verify_receipt(public, signed)
        assert (r.kind, r.bid_id, r.commitment, r.supplier, r.tender_id) == (kind, bid_id, commitment, "sup-a", tender_id)
        assert r.received_at_ms == at  # the server's clock when it decided the event
        entry = by_hash[r.log_entry]  # the journal entry with that chain hash: the event itself
        event = msgspec.json.decode(entry.event)
        assert (entry.at, event["bid_id"]) == (at, bid_id)
        assert event["type"] == ("bid_withdrawn" if kind == "withdrawn" else "bid_submitted")

    altered = msgspec.structs.replace(
        submitted, receipt=msgspec.structs.replace(submitted.receipt, received_at_ms=at_submission - 1000))
    assert not verify_receipt(public, altered)

    # resending the submission: the same receipt, byte for byte (Ed25519 is deterministic)
    again = client.post(f"{base}/bids", json=body, headers=A)
    assert receipt_of(again) == submitted
    assert msgspec.json.encode(again.json()["receipt"]) == msgspec.json.encode(submitted)


def test_the_log_entry_is_the_exported_entrys_hash(client, clock, journal):
    tender_id, base = published(client, clock)
    signed = receipt_of(client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-a", "a1", 1), headers=A))
    exported = export_bytes(tender_id, asyncio.run(journal.read(tender_id)), [], {}, clock.now)
    lines = [msgspec.json.decode(line) for line in exported.splitlines()[1:]]
    (entry,) = [line for line in lines if line.get("hash") == signed.receipt.log_entry]
    assert entry["at"] == signed.receipt.received_at_ms and entry["event"]["bid_id"] == "a1"


def test_a_supplier_fetches_its_own_receipts_again_and_nobody_elses(client, clock):
    tender_id, base = published(client, clock)
    mine = [receipt_of(client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-a", "a1", 5), headers=A))]
    theirs = receipt_of(client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-b", "b1", 6), headers=B))
    mine.append(receipt_of(client.post(f"{base}/bids/a1/withdrawal", headers=A)))

    r = client.get(f"{base}/receipts", headers=A)
    assert r.status_code == 200, r.text
    fetched = msgspec.json.decode(r.content, type=dict[str, list[SignedReceipt]])["receipts"]
    assert fetched == mine  # the same signatures too
    r = client.get(f"{base}/receipts", headers=B)
    assert msgspec.json.decode(r.content, type=dict[str, list[SignedReceipt]])["receipts"] == [theirs]
    assert "\"sup-a\"" not in r.text and "\"a1\"" not in r.text
    assert client.get(f"{base}/receipts", headers=auth("supplier", "sup-c")).status_code == 404  # not invited
    for who in (BUYER, auth("buyer", "org-b", "off-1"), auth("observer", "org-b")):
        r = client.get(f"{base}/receipts", headers=who)  # their number would be the bids'
        assert (r.status_code, r.json()["reason"]) == (403, "bad_role"), r.text
    assert client.get(f"{base}/receipts").status_code == 401


def test_an_altered_journal_entry_is_never_signed_for(client, clock, journal):
    tender_id, base = published(client, clock)
    receipt_of(client.post(f"{base}/bids", json=sealed_body(tender_id, "sup-a", "a1", 5), headers=A))
    entries = asyncio.run(journal.read(tender_id))
    # The bid's entry (the room's timer may have journaled the enquiries' close after it).
    seq, data = next((seq, data) for seq, data in entries if b'"bid_id":"a1"' in data)
    journal.replace(tender_id, seq, data.replace(b'"a1"', b'"a9"'))
    r = client.get(f"{base}/receipts", headers=A)
    assert (r.status_code, r.json()["reason"]) == (503, "journal_broken"), r.text


def test_the_published_key_is_the_servers_signing_key(client, tmp_path):
    private = read_private("ed25519", (tmp_path / "signing.key").read_text())
    assert server_key(client) == ed25519.public_of(private)
