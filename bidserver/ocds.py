"""Awards in the shape of the Open Contracting Data Standard (OCDS 1.1). Pure functions.

Only fields of the core release schema are used (lots are an OCDS extension, so each lot is
published as a tender item, and the award names the item it covers). Amounts are converted
exactly from integer minor units with Decimal and emitted as JSON numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .engine.values import AuctionConfig

OCID_PREFIX = "ocds-bidsrv"


def rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def money(amount_minor: int, minor_units: int) -> Decimal:
    """Exact: 97050 with 2 minor units is Decimal('970.50')."""
    return Decimal(amount_minor).scaleb(-minor_units)


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
    awarded_at_ms: int,
    basis: str,
    reason: str = "",
    ocid_prefix: str = OCID_PREFIX,
) -> dict[str, Any]:
    """One OCDS release (tag ``award``) for one awarded lot; ``id`` is stable per award."""
    spec = next(lot for lot in config.lots if lot.lot_id == lot_id)
    item = {
        "id": lot_id,
        "description": spec.title,
        "quantity": float(spec.quantity) if spec.quantity % 1 else int(spec.quantity),
        "unit": {"name": spec.unit},
    }
    details = "lowest valid bid" if basis == "lowest" else f"buyer's choice: {reason}"
    return {
        "ocid": f"{ocid_prefix}-{auction_id}",
        "id": f"award-{award_id}",
        "date": rfc3339(awarded_at_ms),
        "tag": ["award"],
        "initiationType": "tender",
        "parties": [
            {"id": buyer, "name": buyer, "roles": ["buyer", "procuringEntity"]},
            {"id": supplier_id, "name": supplier_name or supplier_id, "roles": ["supplier", "tenderer"]},
        ],
        "buyer": {"id": buyer, "name": buyer},
        "tender": {
            "id": auction_id,
            "title": config.title,
            "status": "complete",
            "procurementMethodDetails": "Electronic reverse auction",
            "awardCriteria": "priceOnly",
            "awardCriteriaDetails": details,
            "submissionMethod": ["electronicAuction"],
            "items": [item],
            "value": {"amount": money(spec.ceiling, config.minor_units), "currency": config.currency},
        },
        "awards": [
            {
                "id": award_id,
                "title": f"{config.title}: {spec.title}",
                "description": f"Bid {bid_id}; basis: {details}",
                "status": "active",
                "date": rfc3339(awarded_at_ms),
                "value": {"amount": money(amount, config.minor_units), "currency": config.currency},
                "suppliers": [{"id": supplier_id, "name": supplier_name or supplier_id}],
                "items": [item],
            }
        ],
    }


def release_package(
    releases: list[dict[str, Any]], *, uri: str, published_at_ms: int, publisher_name: str
) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": "1.1",
        "publishedDate": rfc3339(published_at_ms),
        "publisher": {"name": publisher_name},
        "releases": releases,
    }
