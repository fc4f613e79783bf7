"""Sealed bid documents: they open to the document with the tender's key only, in their own
tender only, never as a bid (nor a bid as one); their size shows only 64 KiB buckets; the
checks without a key refuse sizes that are not sealed documents and plaintext files."""

from __future__ import annotations

import os

import pytest

from bidserver import sealing
from bidserver.sealing.bid import open_bid
from bidserver.sealing.documents import (
    BUCKET, SAMPLE, open_document, plaintext_fault, seal_document, size_fault,
)

SUITE = sealing.FIRST
PRIVATE, PUBLIC = SUITE.keypair()


@pytest.mark.parametrize("size", [0, 1, BUCKET - 8, BUCKET - 7, 3 * BUCKET + 5])
def test_a_document_opens_to_itself_and_its_size_is_bucketed(size):
    document = os.urandom(size)
    sealed = seal_document(SUITE, PUBLIC, "t-1", document)
    assert (len(sealed) - SUITE.overhead) % BUCKET == 0
    assert size_fault(SUITE, len(sealed)) is None
    assert open_document(SUITE, PRIVATE, "t-1", sealed) == document


def test_sizes_within_a_bucket_seal_to_the_same_size():
    sizes = {len(seal_document(SUITE, PUBLIC, "t-1", b"x" * n)) for n in (1, 1000, BUCKET - 8)}
    assert sizes == {BUCKET + SUITE.overhead}


def test_it_opens_only_in_its_tender_with_its_key_and_never_as_a_bid():
    sealed = seal_document(SUITE, PUBLIC, "t-1", b"%PDF-1.7 proposal")
    other_private, _ = SUITE.keypair()
    for private, tender in ((PRIVATE, "t-2"), (other_private, "t-1")):
        with pytest.raises(sealing.SealError):
            open_document(SUITE, private, tender, sealed)
    with pytest.raises(sealing.SealError):
        open_bid(SUITE, PRIVATE, "t-1", sealed)
    altered = bytearray(sealed)
    altered[-1] ^= 1
    with pytest.raises(sealing.SealError):
        open_document(SUITE, PRIVATE, "t-1", bytes(altered))


def test_a_plaintext_of_the_wrong_shape_does_not_open_as_a_document():
    from bidserver.sealing.documents import document_info

    for plaintext in (b"short", (5).to_bytes(8, "big") + b"hello" + b"\x01" * (BUCKET - 13),
                      (BUCKET).to_bytes(8, "big") + bytes(BUCKET - 8)):
        sealed = SUITE.seal(PUBLIC, plaintext, document_info("t-1"))
        with pytest.raises(sealing.SealError):
            open_document(SUITE, PRIVATE, "t-1", sealed)


def test_the_checks_without_a_key_refuse_plaintext_and_odd_sizes():
    sealed = seal_document(SUITE, PUBLIC, "t-1", b"%PDF-1.7 " + b"a" * 100_000)
    assert plaintext_fault(sealed[:SAMPLE]) is None
    for size in (0, SUITE.overhead, BUCKET, BUCKET + SUITE.overhead + 1):
        assert size_fault(SUITE, size) is not None
    text = (b"%PDF-1.7\n" + b"BT /F1 12 Tf (Technical proposal) Tj ET\n" * 2000)[:SAMPLE]
    assert "known document type" in plaintext_fault(text)
    assert "not ciphertext" in plaintext_fault(b"Technical proposal. " * (SAMPLE // 20 + 1))
    zeros = bytes(SAMPLE)
    assert "not ciphertext" in plaintext_fault(zeros)


def test_ciphertext_passes_the_plaintext_check():
    for _ in range(200):
        assert plaintext_fault(os.urandom(SAMPLE)) is None
