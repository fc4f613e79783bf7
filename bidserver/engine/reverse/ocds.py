"""Awards and cancellations as Open Contracting Data Standard 1.1 releases: pure functions, no
I/O, no clock. An auction's releases: one per awarded lot (tag ``award``), and, if it is cancelled,
one that ends it (tag ``tenderCancellation``).

Why OCDS: it is what open-data portals, contract-signing services and red-flag tools (Cardinal and
the like) already read, so an award leaves bidserver in a shape they understand.

What is used, and from where (a field outside the core schema must come from an extension the
package declares, see ``ocds_common.EXTENSIONS``):

- core 1.1: ``ocid``, ``id``, ``date``, ``tag``, ``initiationType``, ``parties``, ``buyer``,
  ``tender`` (``status``, ``procurementMethod``, ``submissionMethod`` = ``electronicAuction``,
  ``awardCriteria``, ``value``, ``items`` (each classified by the auction's CPV category, when it
  has one), ``procuringEntity``), ``awards``;
- lots extension: ``tender.lots``, ``tender.items[].relatedLot``, ``awards[].relatedLots``;
- techniques extension: ``tender.techniques.hasElectronicAuction``;
- bids extension: ``bids.details`` (the awarded bid) and ``awards[].relatedBids`` naming it (its
  ``relatedBid`` is deprecated in favour of it).

Dates, amounts, parties and the extensions' URLs are every format's (``engine.ocds_common``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ..ocds_common import OCID_PREFIX, Parties, classified, ocid, rfc3339, value
from .values import AuctionConfig


def _value(amount_minor: int, config: AuctionConfig) -> dict[str, Any]:
    return value(amount_minor, config.minor_units, config.currency)


def rationale(basis: str, reason: str) -> str:
    """Why this bid won, for ``awards[].description``: the automatic text, and the buyer's written
    reason whenever there is one (a choice other than the lowest bid, or the lowest bid awarded
    below the hidden reserve: the reason says why, the reserve itself stays hidden)."""
    if str(basis) == "lowest":
        text = "The lowest valid bid when the lot closed."
        return f"{text} The buyer's reason for awarding it: {reason}" if reason else text
    return "Chosen by the buyer" + (f": {reason}" if reason else ".")


def _tender(
    auction_id: str, config: AuctionConfig, buyer_ref: dict[str, str], status: str,
    lot_status: dict[str, str],
) -> dict[str, Any]:
    """The ``tender`` every release repeats: what was auctioned, its ``status`` and each lot's."""
    return {
        "id": auction_id,
        "title": config.title,
        "status": status,
        "procuringEntity": buyer_ref,
        "value": _value(sum(lot.ceiling for lot in config.lots), config),
        # "selective": only suppliers the buyer invited may bid (method codelist).
        "procurementMethod": "selective",
        "procurementMethodDetails": "Electronic reverse auction",
        "awardCriteria": "priceOnly",
        "awardCriteriaDetails": "Lowest price in an electronic reverse auction",
        "submissionMethod": ["electronicAuction"],
        "techniques": {"hasElectronicAuction": True},
        "items": [
            {
                "id": lot.lot_id,
                "description": lot.title,
                "quantity": lot.quantity,
                "unit": {"name": lot.unit},
                "relatedLot": lot.lot_id,
                **classified(config.category),
            }
            for lot in config.lots
        ],
        "lots": [
            {
                "id": lot.lot_id,
                "title": lot.title,
                "status": lot_status[lot.lot_id],
                "value": _value(lot.ceiling, config),
            }
            for lot in config.lots
        ],
    }


def award_release(
    *,
    auction_id: str,
    config: AuctionConfig,
    buyer: str,
    lot_id: str,
    award_id: str,
    bid_id: str,
    supplier_id: str,
    supplier_name: str,
    amount: int,
    bid_at_ms: int,
    awarded_at_ms: int,
    basis: str,
    reason: str = "",
    ocid_prefix: str = OCID_PREFIX,
    open_lots: Collection[str] = (),
) -> dict[str, Any]:
    """One release (tag ``award``) for one awarded lot.

    ``id`` is ``award-<award_id>``: the same award always gives the same release id, and two
    awards of one auction never share one. ``open_lots`` are lots still taking bids (a staggered
    close awards lot 1 while lot 2 runs): they make the tender ``active``; otherwise it is
    ``complete`` (bidding is over). The awarded bid (``bid_id``, received at ``bid_at_ms``) is in
    ``bids.details``, which ``relatedBids`` refers to: bid ids are unique within an auction, so
    within its ``ocid``. Hidden reserve prices are never published.
    """
    spec = next((lot for lot in config.lots if lot.lot_id == lot_id), None)
    if spec is None:
        raise ValueError(f"lot {lot_id!r} is not in the auction's configuration")
    when = rfc3339(awarded_at_ms)
    parties = Parties()
    parties.add(buyer, config.buyer_name or "", ("buyer", "procuringEntity"))
    parties.add(supplier_id, supplier_name, ("supplier", "tenderer"))
    buyer_ref, supplier_ref = parties.ref(buyer), parties.ref(supplier_id)
    return {
        "ocid": ocid(auction_id, ocid_prefix),
        "id": f"award-{award_id}",
        "date": when,
        "tag": ["award"],
        "initiationType": "tender",
        "parties": parties.listed(),
        "buyer": buyer_ref,
        "tender": _tender(
            auction_id, config, buyer_ref, "active" if open_lots else "complete",
            {lot.lot_id: "active" if lot.lot_id in open_lots else "complete" for lot in config.lots},
        ),
        "awards": [
            {
                "id": award_id,
                "title": spec.title,
                "description": rationale(basis, reason),
                "status": "active",
                "date": when,
                "value": _value(amount, config),
                "suppliers": [supplier_ref],
                "relatedLots": [lot_id],
                "relatedBids": [bid_id],
            }
        ],
        "bids": {
            "details": [
                {
                    "id": bid_id,
                    "date": rfc3339(bid_at_ms),
                    "status": "valid",  # bidStatus: it met the auction's rules and was not voided
                    "tenderers": [supplier_ref],
                    "value": _value(amount, config),
                    "relatedLots": [lot_id],
                }
            ]
        },
    }


def cancellation_release(
    *,
    auction_id: str,
    config: AuctionConfig,
    buyer: str,
    cancelled_at_ms: int,
    awarded_lots: Collection[str] = (),
    ocid_prefix: str = OCID_PREFIX,
) -> dict[str, Any]:
    """The release (tag ``tenderCancellation``) that ends a cancelled auction: ``tender.status``
    ``cancelled``, no award. Without it, the last release a consumer holds could still say the
    tender is ``active`` (a staggered lot awarded before the cancel). Lots awarded before the cancel
    (``awarded_lots``) stay ``complete``, their awards stand; every other lot is ``cancelled``.
    ``id`` is ``cancellation-<auction_id>``: an auction is cancelled once. The buyer's reason for
    cancelling is not published: OCDS 1.1 has no field for it (it stays in the auction's journal).
    """
    parties = Parties()
    parties.add(buyer, config.buyer_name or "", ("buyer", "procuringEntity"))
    buyer_ref = parties.ref(buyer)
    return {
        "ocid": ocid(auction_id, ocid_prefix),
        "id": f"cancellation-{auction_id}",
        "date": rfc3339(cancelled_at_ms),
        "tag": ["tenderCancellation"],
        "initiationType": "tender",
        "parties": parties.listed(),
        "buyer": buyer_ref,
        "tender": _tender(
            auction_id, config, buyer_ref, "cancelled",
            {lot.lot_id: "complete" if lot.lot_id in awarded_lots else "cancelled" for lot in config.lots},
        ),
    }
