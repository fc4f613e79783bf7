"""A supplier's terminal against a real server: ``bidserver tender submit|revise|withdraw`` (real
processes) post sealed bids and save the server's receipts, which ``receipt verify`` accepts with
the key the server publishes and the one ``audit public-key`` prints; ``receipt fetch`` gets the
same bytes again; each receipt's log entry is the hash of its event's entry in ``audit export``;
a refusal is one line and exit 1."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

from bidserver.auth import mint_token
from bidserver.sealing import FIRST
from bidserver.sealing.pem import public_pem
from bidserver.sealing.shamir import share_to_text, split

from .conftest import BUYER, ON_BOTH_BACKENDS
from .harness import JWT_KEY, Api, token, wait_until

pytestmark = ON_BOTH_BACKENDS

S1, S2 = "sup-alpha-7f3", "sup-bravo-91c"
HOUR = 3_600_000


def run(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "bidserver", *args], capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == code, done.stdout + done.stderr
    if code == 1:
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        return done.stderr
    return done.stdout


async def published_tender(server, public: bytes, signing_keys: dict[str, bytes] | None = None) -> str:
    """``signing_keys``: the suppliers' registered public signing keys, with their invitations."""
    now = int(time.time() * 1000)
    config = {
        "title": "Road salt", "currency": "EUR",
        "lots": [{"lot_id": "L1", "title": "salt", "estimated_value": 5_000_000}],
        "documents_hash": "sha256:" + "ab" * 32, "public_key": base64.b64encode(public).decode(),
        "officers": ["off-1", "off-2", "off-3"], "k": 2,
        "schedule": {"enquiry_end_at": now + HOUR, "submission_deadline_at": now + 2 * HOUR,
                     "opening_at": now + 3 * HOUR},
    }
    buyer = Api(server, token("buyer", BUYER, "Municipality of Example"))
    r = await buyer.call("POST", "/api/tenders", {"config": config})
    assert r.status_code == 201, r.text
    tender_id = r.json()["view"]["tender_id"]
    for supplier in (S1, S2):
        invitation = {"supplier": supplier}
        if supplier in (signing_keys or {}):
            invitation["signing_key"] = base64.b64encode(signing_keys[supplier]).decode()
        r = await buyer.call("POST", f"/api/tenders/{tender_id}/invitations", invitation)
        assert r.status_code == 200, r.text
    assert (await buyer.call("POST", f"/api/tenders/{tender_id}/publish")).status_code == 200
    return tender_id


async def test_a_supplier_submits_revises_and_withdraws_from_its_terminal(server, journal_url, tmp_path):
    _, public = FIRST.keypair()
    (tmp_path / "tender.pem").write_text(public_pem("x25519", public))
    tender_id = await published_tender(server, public)
    url, me = server.base_url, token("supplier", S1, "Ann")
    connection = ("--server", url, "--token", me, "--tender", tender_id)

    out = run("tender", "submit", *connection, "--public-key", str(tmp_path / "tender.pem"),
              "--supplier", S1, "--currency", "EUR", "--lot", "L1", "--amount", "40000.00",
              "--bid-id", "a1", "--receipt", str(tmp_path / "r1.json"))
    assert out.startswith(f"submitted bid 'a1' to tender '{tender_id}': received ") and "r1.json" in out

    sealed = run("tender", "seal", "--public-key", str(tmp_path / "tender.pem"), "--tender", tender_id,
                 "--supplier", S1, "--currency", "EUR", "--lot", "L1", "--amount", "39000")
    (tmp_path / "sealed.json").write_text(sealed)
    for out in ("r2.json", "r2-again.json"):  # the answer lost: the same sealed bid, the same id
        run("tender", "revise", *connection, "--replaces", "a1", "--sealed", str(tmp_path / "sealed.json"),
            "--bid-id", "a2", "--receipt", str(tmp_path / out))
    assert (tmp_path / "r2-again.json").read_bytes() == (tmp_path / "r2.json").read_bytes()
    run("tender", "withdraw", "--server", url, "--token", me, "--tender", tender_id, "--bid", "a2",
        "--receipt", str(tmp_path / "r3.json"))
    receipts = [json.loads((tmp_path / f"r{n}.json").read_text()) for n in (1, 2, 3)]
    assert [r["receipt"]["kind"] for r in receipts] == ["submitted", "revised", "withdrawn"]
    assert receipts[1]["receipt"]["commitment"] == json.loads(sealed)["commitment"]

    run("tender", "withdraw", "--server", url, "--token", me, "--tender", tender_id, "--bid", "a2",
        "--receipt", str(tmp_path / "r3-again.json"))  # a resend: the same receipt
    assert (tmp_path / "r3-again.json").read_bytes() == (tmp_path / "r3.json").read_bytes()

    # refused: one line, exit 1; a receipt file is never overwritten
    err = run("tender", "withdraw", "--server", url, "--token", me, "--tender", tender_id, "--bid", "zz",
              "--receipt", str(tmp_path / "r4.json"), code=1)
    assert err.startswith("Error: refused (4") and not (tmp_path / "r4.json").exists(), err
    err = run("tender", "withdraw", "--server", url, "--token", me, "--tender", tender_id, "--bid", "a2",
              "--receipt", str(tmp_path / "r3.json"), code=1)
    assert "exists: a receipt is never overwritten" in err

    # checked online, and offline against the key the operator publishes
    key = tmp_path / "server.pem"
    key.write_text(run("audit", "public-key", "--data-dir", str(server.data_dir)))
    for n in (1, 2, 3):
        assert run("receipt", "verify", str(tmp_path / f"r{n}.json"), "--server", url).startswith("valid: ")
        assert run("receipt", "verify", str(tmp_path / f"r{n}.json"), "--public-key", str(key)).startswith("valid: ")

    # fetched again: the same bytes; another supplier gets none of them
    run("receipt", "fetch", *connection, "--out", str(tmp_path / "again"))
    again = {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir()}
    assert sorted(again.values()) == sorted((tmp_path / f"r{n}.json").read_bytes() for n in (1, 2, 3))
    out = run("receipt", "fetch", "--server", url, "--token", token("supplier", S2), "--tender", tender_id,
              "--out", str(tmp_path / "theirs"))
    assert out.startswith("0 receipts") and not list((tmp_path / "theirs").iterdir())

    # each log entry is its event's entry in the audit export
    export = tmp_path / "audit.jsonl"
    run("audit", "export", "--redis-url", journal_url, "--out", str(export), tender_id)
    entries = {e["hash"]: e for e in map(json.loads, export.read_text().splitlines()[1:]) if "hash" in e}
    for r in receipts:
        entry = entries[r["receipt"]["log_entry"]]
        assert entry["at"] == r["receipt"]["received_at_ms"]
        assert entry["event"]["bid_id"] == r["receipt"]["bid_id"] and entry["event"]["supplier"] == S1


async def test_a_supplier_signs_its_bid_with_its_organisations_key(server, journal_url, tmp_path):
    from bidserver.sealing.pem import read_public

    _, public = FIRST.keypair()
    (tmp_path / "tender.pem").write_text(public_pem("x25519", public))
    for org in ("org", "other"):
        run("tender", "keygen-signing", "--out", str(tmp_path / org))
    registered = read_public("ed25519", (tmp_path / "org" / "public.pem").read_text())
    tender_id = await published_tender(server, public, {S1: registered})
    bid = ("tender", "submit", "--server", server.base_url, "--token", token("supplier", S1, "Ann"),
           "--tender", tender_id, "--public-key", str(tmp_path / "tender.pem"), "--supplier", S1,
           "--currency", "EUR", "--lot", "L1", "--amount", "40000.00")
    err = run(*bid, "--bid-id", "x1", "--signing-key", str(tmp_path / "other" / "private.pem"),
              "--receipt", str(tmp_path / "r0.json"), code=1)
    assert err.startswith("Error: refused (422 bad_signature)"), err
    out = run(*bid, "--bid-id", "a1", "--signing-key", str(tmp_path / "org" / "private.pem"),
              "--receipt", str(tmp_path / "r1.json"))
    assert out.startswith(f"submitted bid 'a1' to tender '{tender_id}': received ")


async def test_an_rfq_quote_with_a_document_from_the_terminal(server, tmp_path):
    """An RFQ's quote terms and a document, sealed, uploaded and submitted with the commands; after
    the opening, the buyer reads them in the record and opens the document with `open-file`."""
    private, public = FIRST.keypair()
    (tmp_path / "tender.pem").write_text(public_pem("x25519", public))
    deadline = int(time.time() * 1000) + 12_000  # four CLI runs before it, on a loaded machine
    config = {
        "procedure": "rfq", "title": "Toner", "currency": "EUR",
        "lots": [{"lot_id": "L1", "title": "toner", "quantity": "10", "unit": "piece"}],
        "documents_hash": "sha256:" + "ab" * 32, "public_key": base64.b64encode(public).decode(),
        "officers": ["off-1"], "k": 1, "standstill_ms": 0,
        "schedule": {"submission_deadline_at": deadline, "opening_at": deadline},
    }
    buyer = Api(server, mint_token(JWT_KEY, role="buyer", party=BUYER, user="off-1"))
    tender_id = (await buyer.call("POST", "/api/tenders", {"config": config})).json()["view"]["tender_id"]
    assert (await buyer.call("POST", f"/api/tenders/{tender_id}/invitations", {"supplier": S1})).status_code == 200
    assert (await buyer.call("POST", f"/api/tenders/{tender_id}/publish")).status_code == 200
    declaration = {"conflict": False, "statement": "No interest in any supplier."}  # an officer
    assert (await buyer.call("POST", f"/api/tenders/{tender_id}/declarations", declaration)).status_code == 200
    connection = ("--server", server.base_url, "--token", token("supplier", S1, "Ann"), "--tender", tender_id)

    (tmp_path / "offer.txt").write_text("Toner: original cartridges, 2 year warranty.")
    digest = run("tender", "seal-file", "--public-key", str(tmp_path / "tender.pem"), "--tender", tender_id,
                 "--out", str(tmp_path / "offer.sealed"), str(tmp_path / "offer.txt")).strip()
    assert run("tender", "upload", *connection, str(tmp_path / "offer.sealed")).startswith(f"stored: offer.sealed as {digest}")
    assert "already stored" in run("tender", "upload", *connection, str(tmp_path / "offer.sealed"))
    run("tender", "submit", *connection, "--public-key", str(tmp_path / "tender.pem"), "--supplier", S1,
        "--currency", "EUR", "--lot", "L1", "--amount", "420.00", "--delivery-days", "3",
        "--validity-days", "30", "--certificate", "ISO 9001", "--document", f"offer.txt={digest}",
        "--receipt", str(tmp_path / "quote.json"))

    async def opening_due() -> bool:
        r = await buyer.call("GET", f"/api/auctions/{tender_id}")
        return r.json()["view"]["phase"] == "opening"

    await wait_until(opening_due, 30, "the deadline")
    share = share_to_text(split(private, 1, 1)[0])
    assert (await buyer.call("POST", f"/api/tenders/{tender_id}/shares", {"share": share})).status_code == 200
    view = (await buyer.call("GET", f"/api/auctions/{tender_id}")).json()["view"]
    (line,) = view["opening"]["record"]
    assert (line["prices"][0]["price"], line["delivery_days"], line["validity_days"], line["certificates"]) == (
        42_000, 3, 30, ["ISO 9001"])
    assert line["documents"] == [{"name": "offer.txt", "digest": digest}]
    r = await buyer.call("GET", f"/api/tenders/{tender_id}/files/{digest.removeprefix('sha256:')}")
    (tmp_path / "fetched.sealed").write_bytes(r.content)
    (tmp_path / "key.txt").write_text(view["opening"]["private_key"])
    run("tender", "open-file", "--key", str(tmp_path / "key.txt"), "--tender", tender_id,
        "--out", str(tmp_path / "opened.txt"), str(tmp_path / "fetched.sealed"))
    assert (tmp_path / "opened.txt").read_text() == (tmp_path / "offer.txt").read_text()
