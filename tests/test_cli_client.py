"""``bidserver receipt verify`` and the supplier's commands that talk to a server, through click's
CliRunner: what needs no server (a running one: tests/integration/test_tender_receipts.py)."""

from __future__ import annotations

import base64
import json
import socket

import msgspec
import pytest
from click.testing import CliRunner

from bidserver.sealing import FIRST, ed25519
from bidserver.sealing.pem import public_pem
from bidserver.sealing.receipts import Receipt, ReceiptKind, SignedReceipt, key_id, sign_receipt

from .test_cli_sealing import run


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_receipt_verify_valid_tampered_and_other_key(runner, tmp_path):
    private, public = ed25519.keypair()
    (tmp_path / "server.pem").write_text(public_pem("ed25519", public))
    receipt = Receipt(bid_id="b1", commitment="sha256:" + "0" * 64, key_id=key_id(public),
                      kind=ReceiptKind.SUBMITTED, log_entry="e" * 64, received_at_ms=1767225600123,
                      supplier="s1", tender_id="T1")
    (tmp_path / "receipt.json").write_bytes(msgspec.json.encode(sign_receipt(private, receipt)))
    out = run(runner, "receipt", "verify", str(tmp_path / "receipt.json"), "--public-key", str(tmp_path / "server.pem"))
    assert out == (f"valid: submitted bid 'b1' of supplier 's1' in tender 'T1', sha256:{'0' * 64}, received "
                   f"2026-01-01T00:00:00.123Z, log entry {'e' * 64}, key {key_id(public)}\n")

    data = json.loads((tmp_path / "receipt.json").read_text())
    data["receipt"]["received_at_ms"] -= 1000  # a supplier claiming it was in a second earlier
    (tmp_path / "tampered.json").write_text(json.dumps(data))
    out = run(runner, "receipt", "verify", str(tmp_path / "tampered.json"), "--public-key", str(tmp_path / "server.pem"), code=1)
    assert out == "invalid: the signature does not match: the receipt was altered\n"

    (tmp_path / "other.pem").write_text(base64.b64encode(ed25519.keypair()[1]).decode())
    out = run(runner, "receipt", "verify", str(tmp_path / "receipt.json"), "--public-key", str(tmp_path / "other.pem"), code=1)
    assert out.startswith(f"invalid: signed with key {key_id(public)}, not with this one")

    (tmp_path / "junk.json").write_text('{"receipt": 1}')
    out = run(runner, "receipt", "verify", str(tmp_path / "junk.json"), "--public-key", str(tmp_path / "server.pem"), code=1)
    assert out.startswith(f"invalid: {tmp_path / 'junk.json'} is not a receipt: ")
    assert msgspec.json.decode((tmp_path / "receipt.json").read_bytes(), type=SignedReceipt).receipt == receipt


def test_receipt_verify_needs_one_key(runner, tmp_path):
    (tmp_path / "receipt.json").write_text("{}")
    (tmp_path / "server.pem").write_text(base64.b64encode(ed25519.keypair()[1]).decode())
    for keys in ((), ("--public-key", str(tmp_path / "server.pem"), "--server", "http://127.0.0.1:1")):
        out = run(runner, "receipt", "verify", str(tmp_path / "receipt.json"), *keys, code=2)
        assert "--public-key FILE (offline) or --server URL" in out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_bid_sealed_here_and_not_answered_is_kept_to_send_again(runner, tmp_path):
    _, public = FIRST.keypair()
    (tmp_path / "tender.pem").write_text(public_pem("x25519", public))
    out = run(runner, "tender", "submit", "--server", f"http://127.0.0.1:{_closed_port()}", "--token", "t",
              "--tender", "T1", "--public-key", str(tmp_path / "tender.pem"), "--supplier", "s1",
              "--currency", "EUR", "--lot", "L1", "--amount", "10", "--bid-id", "b1",
              "--receipt", str(tmp_path / "r.json"), code=1)
    kept = tmp_path / "r.json.sealed.json"
    assert out.startswith("Error: cannot reach http://127.0.0.1:")
    assert out.rstrip().endswith(f"to send the same bid again: --sealed {kept} --bid-id b1")
    sealed = json.loads(kept.read_text())
    assert sealed["tender_id"] == "T1" and FIRST.commitment(base64.b64decode(sealed["sealed"])) == sealed["commitment"]
    assert not (tmp_path / "r.json").exists()


def test_submit_refuses_before_posting(runner, tmp_path):
    (tmp_path / "r.json").write_text("kept")
    (tmp_path / "sealed.json").write_text(json.dumps({"tender_id": "T2", "sealed": "AAAA"}))
    server = ("--server", f"http://127.0.0.1:{_closed_port()}", "--token", "t", "--tender", "T1")
    out = run(runner, "tender", "submit", *server, "--sealed", str(tmp_path / "sealed.json"),
              "--receipt", str(tmp_path / "r.json"), code=1)
    assert "exists: a receipt is never overwritten" in out
    out = run(runner, "tender", "submit", *server, "--sealed", str(tmp_path / "sealed.json"),
              "--receipt", str(tmp_path / "r2.json"), code=1)
    assert "sealed for tender 'T2', not 'T1'" in out
    out = run(runner, "tender", "submit", *server, "--receipt", str(tmp_path / "r2.json"), code=2)
    assert "give either --sealed" in out


def test_a_bid_signed_with_the_organisations_key_carries_its_signature(runner, tmp_path, monkeypatch):
    from bidserver import cli_client
    from bidserver.sealing.bid_signature import BidStatement, verify_bid_signature
    from bidserver.sealing.pem import read_public

    run(runner, "tender", "keygen-signing", "--out", str(tmp_path / "org"))
    public = read_public("ed25519", (tmp_path / "org" / "public.pem").read_text())
    _, tender_public = FIRST.keypair()
    (tmp_path / "tender.pem").write_text(public_pem("x25519", tender_public))
    posted = []

    def unanswered(server, token, method, path, body=None):
        posted.append(body)
        raise cli_client._Unanswered("cannot reach the server")

    monkeypatch.setattr(cli_client, "_call", unanswered)
    bid = ("tender", "submit", "--server", "http://server", "--token", "t", "--tender", "T1",
           "--public-key", str(tmp_path / "tender.pem"), "--currency", "EUR", "--lot", "L1",
           "--amount", "10", "--bid-id", "b1", "--signing-key", str(tmp_path / "org" / "private.pem"))
    out = run(runner, *bid, "--receipt", str(tmp_path / "r.json"), code=2)
    assert "--signing-key needs --supplier" in out and not posted
    out = run(runner, *bid, "--supplier", "s1", "--receipt", str(tmp_path / "r.json"), code=1)
    assert out.rstrip().endswith(f"--bid-id b1 --signing-key {tmp_path / 'org' / 'private.pem'}")
    (body,) = posted
    statement = BidStatement(bid_id="b1", commitment=body["commitment"], supplier="s1", tender_id="T1")
    assert verify_bid_signature(FIRST, public, statement, base64.b64decode(body["signature"]))
