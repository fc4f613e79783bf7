"""Awards and cancellations as Open Contracting Data Standard 1.1 releases: pure functions, no
I/O, no clock. An auction's releases: one per awarded lot (tag ``award``), and, if it is cancelled,
one that ends it (tag ``tenderCancellation``).

Why OCDS: it is what open-data portals, contract-signing services and red-flag tools (Cardinal and
the like) already read, so an award leaves bidserver in a shape they understand.

What is used, and from where (a field outside the core schema must come from an extension the
package declares, see ``EXTENSIONS``):

- core 1.1: ``ocid``, ``id``, ``date``, ``tag``, ``initiationType``, ``parties``, ``buyer``,
  ``tender`` (``status``, ``procurementMethod``, ``submissionMethod`` = ``electronicAuction``,
  ``awardCriteria``, ``value``, ``items``, ``procuringEntity``), ``awards``;
- lots extension: ``tender.lots``, ``tender.items[].relatedLot``, ``awards[].relatedLots``;
- techniques extension: ``tender.techniques.hasElectronicAuction``;
- bids extension: ``bids.details`` (the awarded bid) and ``awards[].relatedBids`` naming it (its
  ``relatedBid`` is deprecated in favour of it).

Amounts are ``Decimal`` values converted exactly from integer minor units by ``engine.money``
(97050 with 2 minor units is ``Decimal("970.50")``, never a float), written as JSON numbers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from ..money import money
from .values import AuctionConfig

OCID_PREFIX = "ocds-bidsrv"  # replace with the publisher's registered prefix when publishing

# Declared in every release package. The bids extension is pinned to the commit its schema in
# ../shared/ocds/1.1/bids-extension comes from, the one the tests validate against.
LOTS_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json"
TECHNIQUES_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_techniques_extension/master/extension.json"
BIDS_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/d62ff4b0ba393d823ca8113a9039b12edf7acb8f/extension.json"
EXTENSIONS = (LOTS_EXTENSION, TECHNIQUES_EXTENSION, BIDS_EXTENSION)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_encoder = msgspec.json.Encoder(decimal_format="number")


def rfc3339(ms: int) -> str:
    """``1767261600123`` -> ``"2026-01-01T10:00:00.123Z"``: UTC, exact (integer arithmetic)."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _value(amount_minor: int, config: AuctionConfig) -> dict[str, Any]:
    return {"amount": money(amount_minor, config.minor_units), "currency": config.currency}


def encode(document: Any) -> bytes:
    """JSON with every ``Decimal`` as a number (``970.50``), not a string."""
    return _encoder.encode(document)


class Parties:
    """A release's ``parties``, one per organisation id: an id named twice (a buyer organisation
    whose id is also an invited supplier's) is one party holding both sets of roles, so every
    reference to it (``buyer``, ``suppliers``...) names the one party, by the one name."""

    def __init__(self) -> None:
        self._parties: dict[str, dict[str, Any]] = {}

    def add(self, party_id: str, name: str, roles: Sequence[str]) -> None:
        """Name a party in its roles: its first name that is not blank is kept (take references
        once every party is added), and a party without one is named by its id (OCDS wants one)."""
        party = self._parties.setdefault(party_id, {"id": party_id, "name": "", "roles": []})
        party["name"] = party["name"] or name.strip()
        party["roles"] += [role for role in roles if role not in party["roles"]]

    def ref(self, party_id: str) -> dict[str, str]:
        """An ``OrganizationReference`` to the party: its id and name."""
        party = self._parties[party_id]
        return {"id": party_id, "name": party["name"] or party_id}

    def listed(self) -> list[dict[str, Any]]:
        return [{**party, **self.ref(party_id)} for party_id, party in self._parties.items()]


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
        "ocid": f"{ocid_prefix}-{auction_id}",
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
        "ocid": f"{ocid_prefix}-{auction_id}",
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
