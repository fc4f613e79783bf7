"""``bidserver tender`` through click's CliRunner: keygen, seal and open-share, and each failure
as one line with no traceback (``receipt verify``: tests/test_cli_client.py)."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner

from bidserver import cli
from bidserver.sealing import FIRST, ed25519
from bidserver.sealing.bid import check_sealed_bid, open_bid
from bidserver.sealing.officers import seal_share
from bidserver.sealing.pem import public_pem, read_private
from bidserver.sealing.shamir import combine, share_from_text, split


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    """The output of a command that exits with ``code``; a refusal (1) is one line, and nothing
    escapes as an exception (CliRunner would hold it: the traceback a user would see)."""
    result = runner.invoke(cli.main, list(args))
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if code == 1:
        assert result.output.count("\n") == 1, result.output
    return result.output


def test_keygen_then_a_sealed_bid_opens_with_the_private_key(runner, tmp_path):
    out = run(runner, "tender", "keygen", "--out", str(tmp_path / "tender"))
    assert "private.pem" in out and "public.pem" in out
    private = read_private("x25519", (tmp_path / "tender" / "private.pem").read_text())
    assert (tmp_path / "tender" / "private.pem").stat().st_mode & 0o777 == 0o600
    run(runner, "tender", "keygen", "--out", str(tmp_path / "tender"), code=1)  # never overwritten

    printed = json.loads(run(
        runner, "tender", "seal", "--public-key", str(tmp_path / "tender" / "public.pem"), "--tender", "T1",
        "--supplier", "s1", "--currency", "eur", "--lot", "L1", "--amount", "123.45", "--lot", "L2",
        "--amount", "1000", "--bid-security-ref", "BG-7",
    ))
    sealed = base64.b64decode(printed["sealed"])
    assert printed["suite"] == FIRST.name and printed["commitment"] == FIRST.commitment(sealed)
    check_sealed_bid(FIRST, sealed)
    content = open_bid(FIRST, private, "T1", sealed)
    assert [(lot.lot_id, lot.amount) for lot in content.lots] == [("L1", 12345), ("L2", 100000)]
    assert (content.supplier, content.currency, content.bid_security_ref) == ("s1", "EUR", "BG-7")


@pytest.mark.parametrize(("args", "message"), [
    (["--lot", "L1", "--amount", "1.001", "--currency", "EUR"], "more decimals than EUR's 2"),
    (["--lot", "L1", "--amount", "0", "--currency", "EUR"], "positive"),
    (["--lot", "L1", "--amount", "abc", "--currency", "EUR"], "not an amount"),
    (["--lot", "L1", "--amount", "1", "--currency", "EURO"], "ISO 4217"),
    (["--lot", "L1", "--amount", "1", "--currency", "XAU"], "no minor unit"),
    (["--lot", "L1", "--lot", "L2", "--amount", "1", "--currency", "EUR"], "one --amount per --lot"),
    (["--lot", "L1", "--amount", "1", "--lot", "L1", "--amount", "2", "--currency", "EUR"], "given twice"),
])
def test_seal_refuses_bad_amounts_in_one_line(runner, tmp_path, args, message):
    (tmp_path / "public.pem").write_text(public_pem("x25519", FIRST.keypair()[1]))
    out = run(runner, "tender", "seal", "--public-key", str(tmp_path / "public.pem"), "--tender", "T1",
              "--supplier", "s1", *args, code=2)
    assert message in out


def test_seal_refuses_a_key_that_is_not_a_public_x25519_key(runner, tmp_path):
    (tmp_path / "key.pem").write_text(public_pem("ed25519", ed25519.keypair()[1]))
    (tmp_path / "zero.key").write_text(base64.b64encode(bytes(32)).decode())
    seal = ["tender", "seal", "--tender", "T1", "--supplier", "s1", "--currency", "EUR", "--lot", "L1", "--amount", "1"]
    out = run(runner, *seal, "--public-key", str(tmp_path / "key.pem"), code=1)
    assert out == f"Error: {tmp_path / 'key.pem'}: not an X25519 public key (PEM, or base64 of its 32 bytes)\n"
    out = run(runner, *seal, "--public-key", str(tmp_path / "zero.key"), code=1)
    assert out.startswith(f"Error: {tmp_path / 'zero.key'}: not a usable X25519 public key")


def test_officers_open_their_handed_out_shares(runner, tmp_path):
    tender_private, _ = FIRST.keypair()
    shares = split(tender_private, 2, 3)
    opened = []
    for i, share in enumerate(shares[:2]):
        run(runner, "tender", "keygen", "--out", str(tmp_path / f"officer{i}"))
        officer = read_private("x25519", (tmp_path / f"officer{i}" / "private.pem").read_text())
        handed_out = seal_share(FIRST.public_of(officer), share)
        # base64 (as the API will hand it out) for one officer, raw bytes for the other
        (tmp_path / f"share{i}").write_bytes(base64.b64encode(handed_out) if i else handed_out)
        out = run(runner, "tender", "open-share", "--key", str(tmp_path / f"officer{i}" / "private.pem"),
                  "--share", str(tmp_path / f"share{i}"))
        opened.append(share_from_text(out))
    assert opened == shares[:2] and combine(opened) == tender_private
    out = run(runner, "tender", "open-share", "--key", str(tmp_path / "officer0" / "private.pem"),
              "--share", str(tmp_path / "share1"), code=1)
    assert out.startswith("Error: ") and "not a share sealed to this key" in out


def test_a_document_sealed_then_opened_with_the_key_from_the_view(runner, tmp_path):
    import hashlib

    run(runner, "tender", "keygen", "--out", str(tmp_path / "tender"))
    private = read_private("x25519", (tmp_path / "tender" / "private.pem").read_text())
    document = tmp_path / "proposal.pdf"
    document.write_bytes(b"%PDF-1.7 technical proposal " * 5000)
    sealed = tmp_path / "proposal.sealed"
    out = run(runner, "tender", "seal-file", "--public-key", str(tmp_path / "tender" / "public.pem"),
              "--tender", "t-1", "--out", str(sealed), str(document))
    assert out.strip() == "sha256:" + hashlib.sha256(sealed.read_bytes()).hexdigest()
    key = tmp_path / "key.b64"  # as the opened tender's view gives it
    key.write_text(base64.b64encode(private).decode())
    opened = tmp_path / "opened.pdf"
    run(runner, "tender", "open-file", "--key", str(key), "--tender", "t-1", "--out", str(opened),
        str(sealed))
    assert opened.read_bytes() == document.read_bytes()
    run(runner, "tender", "open-file", "--key", str(tmp_path / "tender" / "private.pem"),
        "--tender", "t-2", "--out", str(tmp_path / "x"), str(sealed), code=1)
    run(runner, "tender", "open-file", "--key", str(key), "--tender", "t-1", "--out",
        str(opened), str(sealed), code=1)  # never overwritten
