"""A supplier's signature over its sealed bid: non-repudiation, as the CA-certified signatures of
the public e-procurement platforms (China's 电子招标投标 platforms, eIDAS-signed tenders in the EU).

The server's receipt proves what the server received; a bid signature proves who handed it in:
the supplier's organisation, with a key registered for it (for now the buyer records it with the
invitation). The supplier signs, with the tender's suite, a domain-separated message naming the
tender, the supplier, its bid id and the bid's commitment: the commitment is the digest of the
sealed bytes, so the signature covers the sealed bid without revealing anything of it, and
naming the tender, the supplier and the bid id keeps it from being replayed for another tender's
bid, another supplier's or another of its own bids.

The signed message is ``b"bidserver/bid-signature/v1\\n"`` followed by ``BidStatement``'s canonical
encoding: msgspec JSON with the keys in sorted order, no whitespace, UTF-8. Pure: the engine checks
signatures with it at submission, the command line signs with it, anyone re-checks the opening
record with it.
"""

from __future__ import annotations

import msgspec

from .suites import Suite

_DOMAIN = b"bidserver/bid-signature/v1\n"


class BidStatement(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a bid signature states: this supplier hands in this sealed bid, under this id, to this
    tender. A revision is signed the same way (its own bid id and commitment)."""

    bid_id: str
    commitment: str  # ``sha256:<hex>`` of the sealed bytes
    supplier: str
    tender_id: str


def signed_message(statement: BidStatement) -> bytes:
    return _DOMAIN + msgspec.json.encode(statement, order="sorted")


def sign_bid(suite: Suite, private: bytes, statement: BidStatement) -> bytes:
    """The supplier's signature over ``statement`` with its organisation's private key."""
    return suite.sign(private, signed_message(statement))


def verify_bid_signature(suite: Suite, public: bytes, statement: BidStatement,
                         signature: bytes) -> bool:
    """Whether ``public`` (the supplier's registered key, raw) signed exactly ``statement``; never
    raises (a malformed key or signature is no valid signature)."""
    return suite.verify(public, signed_message(statement), signature)
