"""The opening: officers' shares combined into the tender's key, and every bid decrypted with it.

Pure: the sealing package's functions are pure but for drawing randomness, which nothing here
does. The key is found from the shares the writing room holds (``shares``: the journal has only
their fingerprints): once ``k`` are held, every set of ``k`` that holds the newest share is tried
(a handful: officers are few) until one combines to the key whose public key the tender published.
So one altered or mistaken share never blocks the opening while ``k`` good ones are presented, and
no subset is tried twice while the room holds its shares (each was tried when its newest share
came; after a restart, again as the shares are presented again).

Every current bid that stands on the current documents is opened; a bid that does not decrypt, or
opens to something that is not this supplier's bid for this tender in its currency with a price
for known lots only (and the bid security's reference where one is required), is reported as
failed with the reason, and the others are opened (China, Measures for Electronic Bidding, Art. 31).
A bid the documents changed under and its supplier did not confirm is not opened. An RFQ's quote
must also state its delivery time and validity (``rfq_fault``): a quote without them cannot be
compared or held to, and is reported as failed in the same way. So is a bid whose list of
documents is malformed (``documents_fault``); whether the files it names are in the store and
open is for the edge to tell (``http.bid_files``): the engine does no I/O.
"""

from __future__ import annotations

import itertools

import msgspec

from ... import sealing
from ...sealing.bid import SealedBidContent, open_bid
from ...sealing.shamir import Share, combine
from .events import Document, LotPrice, OpenedBid
from .state import SealedBid, TenderState
from .values import MAX_CERTIFICATES, certificate_key

MAX_DAYS = 3660  # ten years: a longer delivery time or validity is a mistake, not a quote
MAX_CERTIFICATE_NAME = 100
MAX_DOCUMENTS = 50
MAX_DOCUMENT_NAME = 200
_HEX = frozenset("0123456789abcdef")


def find_key(state: TenderState, officer: str, share: Share,
             held: dict[str, Share]) -> tuple[bytes, tuple[str, ...]] | None:
    """The tender's private key and whose shares gave it, from the shares the room holds
    (``shares.held``) and this new one; None while no ``k`` of them combine to the published key."""
    config = state.config
    if len(held) + 1 < config.k:
        return None
    public_of = sealing.suite(config.suite).public_of
    for group in itertools.combinations(sorted(held), config.k - 1):
        try:
            key = combine([share, *(held[name] for name in group)])
        except sealing.ShareError:
            continue
        if public_of(key) == config.public_key:
            return key, tuple(sorted((*group, officer)))
    return None


def to_open(state: TenderState) -> list[SealedBid]:
    """The bids the opening reports on: every supplier's current bid, in the order received."""
    bids = [state.current_bid(supplier) for supplier in state.current]
    return sorted(bids, key=lambda bid: (bid.at, bid.seq))


def rfq_fault(content: SealedBidContent) -> str | None:
    """Why an opened RFQ quote is not one: no delivery time or validity (or one out of range),
    or certificates that are not a short list of distinct names."""
    if content.delivery_days is None:
        return "states no delivery time, which a quote must"
    if content.validity_days is None:
        return "states no validity, which a quote must"
    if not 0 <= content.delivery_days <= MAX_DAYS:
        return f"the delivery time must be from 0 to {MAX_DAYS} days"
    if not 1 <= content.validity_days <= MAX_DAYS:
        return f"the validity must be from 1 to {MAX_DAYS} days"
    if len(content.certificates) > MAX_CERTIFICATES:
        return f"claims more than {MAX_CERTIFICATES} certificates"
    keys = [certificate_key(name) for name in content.certificates]
    if any(not key or len(name) > MAX_CERTIFICATE_NAME
           for key, name in zip(keys, content.certificates)):
        return f"a certificate's name must be 1 to {MAX_CERTIFICATE_NAME} characters"
    if len(set(keys)) != len(keys):
        return "names a certificate twice"
    return None


def _is_digest(text: str) -> bool:
    hexdigits = text.removeprefix("sha256:")
    return text.startswith("sha256:") and len(hexdigits) == 64 and set(hexdigits) <= _HEX


def documents_fault(content: SealedBidContent) -> str | None:
    """Why a bid's list of documents is not one: too many, a name empty or too long, a digest
    that is not ``sha256:<64 hex>``, or a file named twice."""
    documents = content.documents
    if len(documents) > MAX_DOCUMENTS:
        return f"names more than {MAX_DOCUMENTS} documents"
    for document in documents:
        if not document.name.strip() or len(document.name) > MAX_DOCUMENT_NAME:
            return f"a document's name must be 1 to {MAX_DOCUMENT_NAME} characters"
        if not _is_digest(document.digest):
            return f"document {document.name!r}: its digest is not sha256:<64 hex digits>"
    if len({d.digest for d in documents}) != len(documents):
        return "names a document's file twice"
    return None


def _open_one(state: TenderState, key: bytes, bid: SealedBid) -> OpenedBid:
    config = state.config
    entry = state.suppliers[bid.supplier]
    # A signed bid's line carries its signature and the key that checks it, whether it opened or
    # not: who handed in the sealed bytes is a fact apart from what they hold.
    line = OpenedBid(supplier=bid.supplier, name=entry.name, bid_id=bid.bid_id,
                     commitment=bid.commitment, received_at=bid.at, signature=bid.signature,
                     signing_key=entry.signing_key if bid.signature is not None else None)

    def failed(reason: str) -> OpenedBid:
        return msgspec.structs.replace(line, failed=reason)

    if bid.documents_hash != state.config.documents_hash:
        return failed("not confirmed after the documents changed: not opened")
    try:
        content = open_bid(sealing.suite(config.suite), key, state.auction_id, bid.sealed)
    except sealing.SealError as exc:
        return failed(f"does not decrypt: {exc}")
    if content.supplier != bid.supplier:
        return failed("sealed by another supplier")
    if content.currency != config.currency:
        return failed(f"priced in {content.currency}, not {config.currency}")
    lots = {lot.lot_id for lot in config.lots}
    seen: set[str] = set()
    for price in content.lots:
        if price.lot_id not in lots or price.lot_id in seen:
            return failed(f"lot {price.lot_id!r} is unknown or priced twice")
        if price.amount <= 0:
            return failed(f"lot {price.lot_id}: the price must be positive")
        seen.add(price.lot_id)
    if not seen:
        return failed("prices no lot")
    if config.bid_security is not None and not (content.bid_security_ref or "").strip():
        return failed("names no bid security, which the tender requires")
    fault = documents_fault(content)
    if fault is not None:
        return failed(fault)
    prices = tuple(LotPrice(p.lot_id, p.amount) for p in content.lots)
    documents = tuple(Document(d.name, d.digest) for d in content.documents)
    if not config.rfq:
        return msgspec.structs.replace(line, prices=prices,
                                       bid_security_ref=content.bid_security_ref,
                                       documents=documents)
    fault = rfq_fault(content)
    if fault is not None:
        return failed(fault)
    return msgspec.structs.replace(line, prices=prices, bid_security_ref=content.bid_security_ref,
                                   delivery_days=content.delivery_days,
                                   validity_days=content.validity_days,
                                   certificates=content.certificates, documents=documents)


def opening_record(state: TenderState, key: bytes) -> tuple[OpenedBid, ...]:
    return tuple(_open_one(state, key, bid) for bid in to_open(state))
