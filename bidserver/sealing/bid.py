"""A sealed bid: what a supplier's client encrypts, and the checks on what it sends.

The plaintext is a small JSON document, ``SealedBidContent`` (msgspec JSON, UTF-8), padded with
spaces (JSON whitespace, so it still parses as it is) to the next multiple of ``BUCKET`` bytes
before sealing: every bid of up to about twenty lots is exactly one bucket, so the ciphertext's size
tells nobody how many digits a price has, which lots a bid covers or whether it names a bid
security (nor, for an RFQ's quote, its delivery time, validity or a few certificates). The HPKE
``info`` names the tender, so a bid sealed for one tender does not open in another; the content
names it too, and the supplier, which the engine checks against the submitter at the opening (a
copy of another supplier's blob opens to that supplier's name).

A bid may name its documents (``BidDocument``: a name and the digest of the sealed file, sealed
and uploaded apart, ``documents``): inside the sealed content, so that before the opening nobody
learns from the journal whether a bid has documents, how many or what they are called. A few
documents fit in the bid's one bucket with its lots; many documents with many lots take a second
bucket, which tells only that the bid is a large one.
"""

from __future__ import annotations

import secrets

import msgspec

from .errors import SealError
from .suites import Suite

BUCKET = 1024  # plaintext sizes are multiples of this
MAX_CONTENT = 64 * BUCKET  # some 1,500 lots: a larger bid is refused before it is sealed or stored
NONCE_SIZE = 16
_INFO = b"bidserver/sealed-bid/v1\x00"


class LotPrice(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    lot_id: str
    amount: int  # the tender currency's minor units (970.50 EUR is 97050)


class BidDocument(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A document of the bid: its name as the supplier calls it ("technical-proposal.pdf") and
    ``sha256:<hex>`` of the sealed file uploaded for it (``documents.seal_document``)."""

    name: str
    digest: str


class SealedBidContent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    tender_id: str
    supplier: str
    currency: str  # ISO 4217: the amounts' currency, checked against the tender's at the opening
    lots: tuple[LotPrice, ...]
    bid_security_ref: str | None = None  # the bid security's (投标保证金) reference, when required
    # A quote in a request for quotations (procedure ``rfq``) also states, checked at the opening:
    delivery_days: int | None = None  # days from the order to delivery (0: from stock)
    validity_days: int | None = None  # days from the deadline the quote stays binding
    certificates: tuple[str, ...] = ()  # what the supplier claims to hold ("ISO 9001")
    documents: tuple[BidDocument, ...] = ()  # its sealed files, checked at the opening
    # Random: no two bids are the same document, even with equal prices, so a content (or its hash,
    # once opened) names one sealing by one supplier and cannot be passed off as another's.
    nonce: bytes


def bid_content(
    tender_id: str, supplier: str, currency: str, lots: tuple[LotPrice, ...],
    bid_security_ref: str | None = None, *, delivery_days: int | None = None,
    validity_days: int | None = None, certificates: tuple[str, ...] = (),
    documents: tuple[BidDocument, ...] = (),
) -> SealedBidContent:
    """A bid's content with a fresh nonce from the OS CSPRNG (an RFQ's quote with its delivery
    time, validity and certificates; any bid's documents)."""
    return SealedBidContent(tender_id=tender_id, supplier=supplier, currency=currency, lots=lots,
                            bid_security_ref=bid_security_ref, delivery_days=delivery_days,
                            validity_days=validity_days, certificates=certificates,
                            documents=documents, nonce=secrets.token_bytes(NONCE_SIZE))


def bid_info(tender_id: str) -> bytes:
    """HPKE's ``info`` for a bid of this tender."""
    return _INFO + tender_id.encode()


def padded(content: SealedBidContent) -> bytes:
    """The plaintext that is sealed: the JSON document, then spaces up to a multiple of BUCKET."""
    data = msgspec.json.encode(content)
    if len(data) > MAX_CONTENT:
        raise ValueError(f"a bid of {len(data)} bytes is over the {MAX_CONTENT}-byte limit")
    return data + b" " * (-len(data) % BUCKET)


def seal_bid(suite: Suite, public: bytes, content: SealedBidContent) -> bytes:
    return suite.seal(public, padded(content), bid_info(content.tender_id))


def check_sealed_bid(suite: Suite, sealed: bytes) -> None:
    """What the server checks on a submission without any key: the bytes have the shape of a bid
    sealed with this suite (the suite's overhead plus whole buckets, no more than the limit) and are
    not text. A plaintext bid fails this (its JSON is not of that size, and is text); so does
    a blob sealed without the padding. ``SealError`` says which."""
    size = len(sealed) - suite.overhead
    if size <= 0 or size % BUCKET or size > MAX_CONTENT:
        raise SealError(
            f"{len(sealed)} bytes is not the size of a bid sealed with {suite.name} "
            f"({suite.overhead} bytes over a multiple of {BUCKET}, up to {MAX_CONTENT})"
        )
    try:
        sealed.decode()
    except UnicodeDecodeError:
        return  # ciphertext: random bytes are never a kilobyte of valid UTF-8
    raise SealError("the bid is text, not sealed: seal it to the tender's public key first")


def open_bid(suite: Suite, private: bytes, tender_id: str, sealed: bytes) -> SealedBidContent:
    """The content of a bid sealed for this tender; ``SealError`` for anything else: another
    tender's bid, a wrong key, altered bytes, or a plaintext that is no bid of this tender."""
    plaintext = suite.open(private, sealed, bid_info(tender_id))
    try:
        content = msgspec.json.decode(plaintext, type=SealedBidContent)
    except msgspec.DecodeError as exc:
        raise SealError(f"opened, but is not a bid: {exc}") from None
    if content.tender_id != tender_id:
        raise SealError(f"opened, but is a bid for tender {content.tender_id!r}")
    return content
