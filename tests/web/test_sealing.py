"""A bid sealed in Chromium by the page's own module (``web/static/js/sealing.js``, HPKE from the
vendored ``@hpke/core`` on WebCrypto) opens with the server's Python code (``bidserver.sealing``):
one format, two implementations, checked against each other in a real browser."""

from __future__ import annotations

import base64

import pytest

from bidserver.sealing import SealError
from bidserver.sealing.bid import BUCKET, check_sealed_bid, open_bid
from bidserver.sealing.hpke_x25519 import SUITE

SEAL = """async ([publicKey, content]) => {
  const { sealBid, toBase64 } = await import("/static/js/sealing.js");
  const { sealed, commitment } = await sealBid("hpke-x25519-sha256-aes256gcm+ed25519", publicKey, content);
  return { sealed: toBase64(sealed), commitment };
}"""

CONTENT = {"tender_id": "t-roads-2027", "supplier": "acme", "currency": "CNY",
           "lots": [{"lot_id": "L1", "amount": 123_456_789}, {"lot_id": "L2", "amount": 970_50}],
           "bid_security_ref": "保函-2027-001"}


@pytest.fixture
def page(server, new_page):
    page = new_page(who="supplier sealing")
    page.goto(f"{server.base_url}/#/signin")
    return page


def seal_in_browser(page, public: bytes, content: dict) -> tuple[bytes, str]:
    answer = page.evaluate(SEAL, [base64.b64encode(public).decode(), content])
    return base64.b64decode(answer["sealed"]), answer["commitment"]


def test_a_bid_sealed_in_the_browser_opens_with_the_servers_code(page):
    private, public = SUITE.keypair()
    sealed, commitment = seal_in_browser(page, public, CONTENT)

    check_sealed_bid(SUITE, sealed)  # what the server checks on submission, without a key
    assert len(sealed) == SUITE.overhead + BUCKET
    assert commitment == SUITE.commitment(sealed)
    opened = open_bid(SUITE, private, CONTENT["tender_id"], sealed)
    assert opened.supplier == "acme" and opened.currency == "CNY"
    assert [(lot.lot_id, lot.amount) for lot in opened.lots] == [("L1", 123_456_789), ("L2", 97050)]
    assert opened.bid_security_ref == "保函-2027-001"
    assert len(opened.nonce) == 16


def test_each_sealing_differs_and_opens_only_for_its_tender_and_key(page):
    private, public = SUITE.keypair()
    first, _ = seal_in_browser(page, public, CONTENT)
    second, _ = seal_in_browser(page, public, CONTENT)
    assert first != second  # a fresh HPKE key and nonce each time
    assert open_bid(SUITE, private, "t-roads-2027", second).nonce != open_bid(
        SUITE, private, "t-roads-2027", first).nonce
    with pytest.raises(SealError):
        open_bid(SUITE, private, "another-tender", first)  # HPKE's info names the tender
    with pytest.raises(SealError):
        open_bid(SUITE, SUITE.keypair()[0], "t-roads-2027", first)
    altered = bytearray(first)
    altered[-1] ^= 1
    with pytest.raises(SealError):
        open_bid(SUITE, private, "t-roads-2027", bytes(altered))


def test_the_page_refuses_what_it_must_not_seal(page):
    _, public = SUITE.keypair()
    key = base64.b64encode(public).decode()
    refused = """async ([suite, publicKey, content]) => {
      const { sealBid } = await import("/static/js/sealing.js");
      try { await sealBid(suite, publicKey, content); return null; } catch (e) { return String(e); }
    }"""
    assert "cannot seal with the suite sm2" in page.evaluate(refused, ["sm2", key, CONTENT])
    fractional = dict(CONTENT, lots=[{"lot_id": "L1", "amount": 12.5}])
    assert "not a positive whole number" in page.evaluate(
        refused, ["hpke-x25519-sha256-aes256gcm+ed25519", key, fractional])
    huge = dict(CONTENT, lots=[{"lot_id": f"L{i}", "amount": 1} for i in range(5000)])
    assert "over the 65536-byte limit" in page.evaluate(
        refused, ["hpke-x25519-sha256-aes256gcm+ed25519", key, huge])


def test_a_document_sealed_in_the_browser_opens_with_the_servers_code(page):
    from bidserver.sealing.documents import BUCKET as DOCUMENT_BUCKET
    from bidserver.sealing.documents import open_document, size_fault

    private, public = SUITE.keypair()
    document = bytes(range(256)) * 300 + "技术方案".encode()  # 76,812 bytes: two buckets
    answer = page.evaluate("""async ([publicKey, bytes]) => {
      const { sealDocument, toBase64, fromBase64 } = await import("/static/js/sealing.js");
      const { sealed, commitment } = await sealDocument(
        "hpke-x25519-sha256-aes256gcm+ed25519", publicKey, "t-roads-2027", fromBase64(bytes));
      return { sealed: toBase64(sealed), commitment };
    }""", [base64.b64encode(public).decode(), base64.b64encode(document).decode()])
    sealed = base64.b64decode(answer["sealed"])
    assert size_fault(SUITE, len(sealed)) is None
    assert len(sealed) == SUITE.overhead + 2 * DOCUMENT_BUCKET
    assert answer["commitment"] == SUITE.commitment(sealed)
    assert open_document(SUITE, private, "t-roads-2027", sealed) == document
    with pytest.raises(SealError):
        open_bid(SUITE, private, "t-roads-2027", sealed)  # a document never opens as a bid
