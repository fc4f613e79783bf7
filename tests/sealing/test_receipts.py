"""Signed receipts: verify unchanged with the server's key only; the encoding never drifts."""

from __future__ import annotations

import msgspec
import pytest

from bidserver.sealing import ed25519
from bidserver.sealing.receipts import (
    Receipt,
    ReceiptKind,
    SignedReceipt,
    canonical,
    key_id,
    sign_receipt,
    verify_receipt,
)

PRIVATE = bytes(range(32))  # fixed, so the golden receipt below is reproducible
PUBLIC = ed25519.public_of(PRIVATE)
LOG_ENTRY = "c0ffee" + "0" * 58
RECEIPT = Receipt(
    bid_id="b-2", commitment="sha256:" + "ab" * 32, key_id=key_id(PUBLIC), kind=ReceiptKind.REVISED,
    log_entry=LOG_ENTRY, received_at_ms=1767225600123, supplier="供应商 3", tender_id="T-2026-001",
)
# A receipt as a supplier's file holds it: any later release must still verify it (and encode the
# same receipt to these bytes), or receipts already handed out stop being proof.
GOLDEN = (
    '{"receipt":{"bid_id":"b-2","commitment":"sha256:abababababababababababababababababababababababababababababababab",'
    '"key_id":"56475aa75463474c","kind":"revised","log_entry":"c0ffee0000000000000000000000000000000000000000000000000000000000",'
    '"received_at_ms":1767225600123,"supplier":"供应商 3","tender_id":"T-2026-001"},"signature":"Gu4jdNrjAYhB2yF8/Pxcy94LEyQ6G'
    'fFc7C9MODMh7XEQWEMx58TR1PLXhdY36og7aSYunJWAhWFxHiwcX0q/CA=="}'
)


def test_a_signed_receipt_verifies_with_the_servers_key():
    signed = sign_receipt(PRIVATE, RECEIPT)
    assert verify_receipt(PUBLIC, signed)
    assert not verify_receipt(ed25519.keypair()[1], signed)


def test_the_golden_receipt_verifies_and_encodes_to_the_same_bytes():
    signed = msgspec.json.decode(GOLDEN, type=SignedReceipt)
    assert verify_receipt(PUBLIC, signed)
    assert msgspec.json.encode(sign_receipt(PRIVATE, RECEIPT)).decode() == GOLDEN
    assert canonical(RECEIPT) == b"bidserver/receipt/v2\n" + msgspec.json.encode(RECEIPT)


def test_key_order_and_spacing_of_the_file_do_not_matter():
    data = msgspec.json.decode(GOLDEN)
    reordered = {"signature": data["signature"], "receipt": dict(reversed(data["receipt"].items()))}
    text = msgspec.json.format(msgspec.json.encode(reordered), indent=4)
    assert verify_receipt(PUBLIC, msgspec.json.decode(text, type=SignedReceipt))


# Named by the field: the key id is drawn at collection, and test ids must not change between
# runs or between the workers of a parallel run.
_CHANGES = [
    ("commitment", "sha256:" + "ab" * 31 + "ac"), ("kind", ReceiptKind.SUBMITTED),
    ("log_entry", "c0ffee" + "0" * 57 + "1"), ("bid_id", "b-3"),
    ("received_at_ms", 1767225600124), ("supplier", "供应商 4"), ("tender_id", "T-2026-002"),
    ("key_id", key_id(ed25519.keypair()[1])),
]


@pytest.mark.parametrize(("field", "value"), [pytest.param(*c, id=c[0]) for c in _CHANGES])
def test_any_changed_field_fails_verification(field, value):
    signed = sign_receipt(PRIVATE, RECEIPT)
    changed = msgspec.structs.replace(signed, receipt=msgspec.structs.replace(RECEIPT, **{field: value}))
    assert not verify_receipt(PUBLIC, changed)


def test_a_changed_signature_fails_verification():
    signature = sign_receipt(PRIVATE, RECEIPT).signature
    for bad in (signature[:-1] + bytes([signature[-1] ^ 1]), signature[:32], b""):
        assert not verify_receipt(PUBLIC, SignedReceipt(receipt=RECEIPT, signature=bad))


def test_a_receipt_must_name_the_key_that_signs_it():
    with pytest.raises(ValueError, match="names key"):
        sign_receipt(ed25519.keypair()[0], RECEIPT)


@pytest.mark.parametrize("change", [
    {"log_entry": 42}, {"log_entry": "C0FFEE" + "0" * 58}, {"log_entry": "c0ffee"}, {"log_position": 42},
    {"received_at_ms": -1}, {"kind": "opened"},
])
def test_a_file_with_impossible_values_is_no_receipt(change):
    data = msgspec.json.decode(GOLDEN)
    data["receipt"].update(change)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(data), type=SignedReceipt)
