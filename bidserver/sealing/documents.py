"""A sealed bid document: a technical proposal, a certificate's scan, sealed like the bid itself.

A bid's documents are too large for the journal (a bid there is one kilobyte; a proposal is
megabytes), so the supplier's client seals each one on its own to the tender's public key, with
an HPKE ``info`` that names the tender and says it is a document (a sealed document never opens
as a bid, nor a bid as a document, nor either in another tender), uploads the sealed bytes to the
server's file store, and names each file in its sealed bid by the ``sha256:<hex>`` of the sealed
bytes (``bid.BidDocument``). The bid's commitment thus commits to its documents too: the receipt
for the bid covers them, and a file swapped after the deadline is not the one the bid names.

The plaintext is the document's length (8 bytes, big-endian), the document, then zeros up to the
next multiple of ``BUCKET`` (64 KiB): the file's size tells the store's operator the document's
size to within 64 KiB, never exactly. Opening checks the length and that the padding is zeros,
so altered padding is no second document with the same content.
"""

from __future__ import annotations

from collections import Counter

from .errors import SealError
from .suites import Suite

BUCKET = 64 * 1024  # plaintext sizes are multiples of this
_LENGTH = 8  # bytes of the length prefix
_INFO = b"bidserver/sealed-document/v1\x00"
# Files whose first bytes say what they are: a document the client forgot to seal. Ciphertext
# starts with an X25519 public key, random bytes, which these match once in 2**32 or less.
PLAINTEXT_MAGIC = (b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff",
                   b"GIF8", b"Rar!", b"7z\xbc\xaf", b"{\\rtf", b"II*\x00", b"MM\x00*")
SAMPLE = 64 * 1024  # bytes the uniformity check reads, from the file's start
# Pearson's chi-square of 256 byte counts (255 degrees of freedom): random bytes exceed this about
# once in 10**17 (Wilson-Hilferty); text, a PDF or an office document exceed it by far.
_CHI2_LIMIT = 500.0


def document_info(tender_id: str) -> bytes:
    """HPKE's ``info`` for a document of this tender."""
    return _INFO + tender_id.encode()


def padded_size(length: int) -> int:
    """The sealed plaintext's size for a document of ``length`` bytes."""
    return -(-(length + _LENGTH) // BUCKET) * BUCKET


def seal_document(suite: Suite, public: bytes, tender_id: str, document: bytes) -> bytes:
    """The document sealed to the tender's key: what the supplier uploads."""
    plaintext = bytearray(padded_size(len(document)))
    plaintext[:_LENGTH] = len(document).to_bytes(_LENGTH, "big")
    plaintext[_LENGTH:_LENGTH + len(document)] = document
    return suite.seal(public, bytes(plaintext), document_info(tender_id))


def open_document(suite: Suite, private: bytes, tender_id: str, sealed: bytes) -> bytes:
    """The document; ``SealError`` for anything else (another tender's document, a bid, a wrong
    key, altered bytes, a length or padding that is not this format's)."""
    plaintext = suite.open(private, sealed, document_info(tender_id))
    if len(plaintext) < _LENGTH or len(plaintext) % BUCKET:
        raise SealError(f"opened, but {len(plaintext)} bytes is not a padded document")
    length = int.from_bytes(plaintext[:_LENGTH], "big")
    end = _LENGTH + length
    if end > len(plaintext) or padded_size(length) != len(plaintext):
        raise SealError("opened, but its length does not fit its padding")
    if any(plaintext[end:]):
        raise SealError("opened, but its padding is not zeros")
    return plaintext[_LENGTH:end]


def size_fault(suite: Suite, size: int) -> str | None:
    """Why ``size`` bytes cannot be a document sealed with this suite (the suite's overhead over
    whole buckets), checked before any byte is read; None if they can be."""
    plain = size - suite.overhead
    if plain <= 0 or plain % BUCKET:
        return (f"{size} bytes is not the size of a document sealed with {suite.name} "
                f"({suite.overhead} bytes over a multiple of {BUCKET})")
    return None


def plaintext_fault(head: bytes) -> str | None:
    """Why the file starting with ``head`` (its first ``SAMPLE`` bytes, or all of a shorter one)
    is not ciphertext: a known file type's signature, or bytes far from uniform (text, a PDF, an
    office document). A guard against a client that forgot to seal, as ``bid.check_sealed_bid``
    is for bids, not a proof: without the key no one can tell every plaintext from ciphertext.
    None if the bytes look random."""
    if head.startswith(PLAINTEXT_MAGIC):
        return "the file is a known document type, not sealed: seal it to the tender's key first"
    if len(head) < SAMPLE:  # a sealed document is never shorter (``size_fault``)
        return f"{len(head)} bytes is too short to be a sealed document"
    counts = Counter(head)
    expected = len(head) / 256
    chi2 = sum((counts.get(byte, 0) - expected) ** 2 for byte in range(256)) / expected
    if chi2 > _CHI2_LIMIT:
        return "the file's bytes are not ciphertext (not sealed): seal it to the tender's key first"
    return None
