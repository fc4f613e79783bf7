"""A sealed tender's end as Open Contracting Data Standard 1.1 releases: one per lot awarded when
the award becomes final (``events.AwardFinal``, tag ``award``), or one release that ends it
(``tenderCancellation`` when it is cancelled, ``tenderUpdate`` with ``tender.status``
``unsuccessful`` when no valid bid remains). Pure: built from the folded state.

What is used, and from where (fields outside the core schema come from the extensions
``ocds_common.EXTENSIONS`` declares):

- core 1.1: ``tender`` (``status``, ``value`` = the lots' estimated values when every lot has one,
  ``items`` (each classified by the tender's CPV category, when it has one),
  ``procurementMethod`` ``open`` (an RFQ: ``limited``), ``awardCriteria`` ``priceOnly`` or
  ``ratedCriteria`` with the published formula in ``awardCriteriaDetails``, ``submissionMethod``
  ``electronicSubmission``, ``tenderPeriod``, ``enquiryPeriod`` (none for an RFQ without one),
  ``awardPeriod``, ``numberOfTenderers``, ``tenderers``),
  ``parties`` (the buyer; every bidder a ``tenderer``; a winner also a ``supplier``), ``awards``;
- lots extension: ``tender.lots``, ``items[].relatedLot``, ``awards[].relatedLots``,
  ``bids.details[].relatedLots``;
- bids extension: ``bids.statistics`` and ``bids.details`` (status ``valid``, ``disqualified``,
  ``withdrawn``, or ``pending`` before qualification; ``rank`` on its lot once decided),
  ``awards[].relatedBids``.

What a release may tell follows the tender's rule: nothing about bids before the deadline (a
cancellation then carries no ``bids`` and no number of tenderers); their number once it passed;
every bid's prices once they were opened (the opening record went to every participant). An
RFQ's quotes, which no supplier saw, are in its releases too: a release is the buyer's open-data
publication once the RFQ has ended (as Prozorro publishes below-threshold quotes), not a view a
supplier has while it runs.

A tender's bid is one sealed document pricing one or more lots; OCDS's bid has one value, so each
opened bid is one detail per lot it prices, with the id ``<supplier>/<bid id>/<lot id>`` (``/``
is in no id, and bid ids are each supplier's own); a bid that did not open, or was withdrawn, is
one detail ``<supplier>/<bid id>`` without a value.
"""

from __future__ import annotations

from typing import Any

from ..ocds_common import Parties, classified, ocid, rfc3339, value
from .commands import Qualification
from .events import FinalAward
from .state import BidStatus, Phase, TenderState
from .values import AwardKind

_METHOD_DETAILS = "Sealed electronic tender opened by k of n officers' key shares"
# An RFQ is OCDS's ``limited`` method: the buyer asks suppliers of its choice for quotations.
_RFQ_DETAILS = ("Request for quotations (询价) among invited suppliers: sealed electronic "
                "quotes opened by k of n of the buyer's key shares, compared by the buyer")


def _method(state: TenderState) -> dict[str, str]:
    if state.config.rfq:
        return {"procurementMethod": "limited", "procurementMethodDetails": _RFQ_DETAILS}
    return {"procurementMethod": "open", "procurementMethodDetails": _METHOD_DETAILS}


def _value(state: TenderState, amount: int) -> dict[str, Any]:
    config = state.config
    return value(amount, config.minor_units, config.currency)


def _period(start: int | None, end: int | None) -> dict[str, str]:
    return {k: rfc3339(v) for k, v in (("startDate", start), ("endDate", end)) if v is not None}


def _criteria_details(state: TenderState) -> str:
    award = state.config.award
    if award.kind is AwardKind.LOWEST_PRICE:
        return "Lowest price among the valid bids, per lot"
    parts = ", ".join(f"{c.name} {c.weight}" for c in award.criteria)
    return ("Most economically advantageous tender, out of 100 points per lot: " + parts
            + " (price points = weight x lowest price / price; quality points = weight x the "
            "evaluators' mean score / 100)")


def _bid_status(state: TenderState, supplier: str) -> str:
    qualified = state.qualifications.get(supplier)
    if qualified is None:
        return "pending"
    return "valid" if qualified.status == Qualification.VALID else "disqualified"


def _bids(state: TenderState, parties: Parties) -> dict[str, Any] | None:
    """Statistics once the deadline passed, details once the bids were opened; None before."""
    if state.received is None:
        return None
    statistics = [{"id": "bids", "measure": "bids", "value": state.received}]
    if state.opened_at is None:
        return {"statistics": statistics}
    statuses = {line.supplier: ("disqualified" if line.failed else _bid_status(state, line.supplier))
                for line in state.record}
    statistics += [
        {"id": "validBids", "measure": "validBids",
         "value": sum(status == "valid" for status in statuses.values())},
        {"id": "disqualifiedBids", "measure": "disqualifiedBids",
         "value": sum(status == "disqualified" for status in statuses.values())},
    ]
    ranks = {(lot.lot_id, r.supplier): r.rank
             for lot in (state.decision.lots if state.decision else ()) for r in lot.ranking}
    details: list[dict[str, Any]] = []
    for line in state.record:
        common = {"date": rfc3339(line.received_at), "status": statuses[line.supplier],
                  "tenderers": [parties.ref(line.supplier)]}
        qualified = state.qualifications.get(line.supplier)
        reason = line.failed and f"The bid did not open: {line.failed}"
        if qualified is not None and qualified.status == Qualification.DISQUALIFIED:
            reason = f"Disqualified: {qualified.reason}"
        if reason:
            common["description"] = reason
        if line.failed:
            details.append({"id": f"{line.supplier}/{line.bid_id}", **common})
            continue
        for price in line.prices:
            detail = {"id": f"{line.supplier}/{line.bid_id}/{price.lot_id}", **common,
                      "value": _value(state, price.price), "relatedLots": [price.lot_id]}
            rank = ranks.get((price.lot_id, line.supplier))
            if rank is not None:
                detail |= {"hasRank": True, "rank": rank}
            details.append(detail)
    for supplier, bids in sorted(state.bids.items()):
        for bid in bids.values():
            if bid.status is BidStatus.WITHDRAWN:
                details.append({"id": f"{supplier}/{bid.bid_id}", "date": rfc3339(bid.at),
                                "status": "withdrawn", "tenderers": [parties.ref(supplier)]})
    return {"statistics": statistics, "details": details}


def _tenderers(state: TenderState) -> list[str]:
    """Who bid, once it may be told: the opening record's bidders, then those who withdrew."""
    if state.opened_at is None:
        return []
    bidders = [line.supplier for line in state.record]
    withdrawn = sorted(s for s, bids in state.bids.items()
                       if s not in bidders and any(b.status is BidStatus.WITHDRAWN for b in bids.values()))
    return bidders + withdrawn


def _release(state: TenderState, *, release_id: str, tag: str, at: int, status: str,
             lot_status: dict[str, str], award: FinalAward | None = None) -> dict[str, Any]:
    config = state.config
    schedule = config.schedule
    parties = Parties()
    parties.add(state.buyer, config.buyer_name or "", ("buyer", "procuringEntity"))
    for supplier in _tenderers(state):
        parties.add(supplier, state.suppliers[supplier].name, ("tenderer",))
    if award is not None:
        parties.add(award.supplier, state.suppliers[award.supplier].name, ("supplier",))
    buyer_ref = parties.ref(state.buyer)
    estimates = [lot.estimated_value for lot in config.lots]
    tender: dict[str, Any] = {
        "id": state.auction_id,
        "title": config.title,
        "status": status,
        "procuringEntity": buyer_ref,
        **_method(state),
        "awardCriteria": "priceOnly" if config.award.kind is AwardKind.LOWEST_PRICE else "ratedCriteria",
        "awardCriteriaDetails": _criteria_details(state),
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": _period(state.published_at, schedule.submission_deadline_at),
        "items": [{"id": lot.lot_id, "description": lot.title, "quantity": lot.quantity,
                   "unit": {"name": lot.unit}, "relatedLot": lot.lot_id,
                   **classified(config.category)} for lot in config.lots],
        "lots": [{"id": lot.lot_id, "title": lot.title, "status": lot_status[lot.lot_id],
                  **({"value": _value(state, lot.estimated_value)} if lot.estimated_value else {})}
                 for lot in config.lots],
    }
    if state.published_at is None or schedule.enquiry_end_at > state.published_at:
        tender["enquiryPeriod"] = _period(state.published_at, schedule.enquiry_end_at)
    if all(estimates):
        tender["value"] = _value(state, sum(estimates))
    if state.opened_at is not None:
        end = at if award is not None else state.standstill_ends_at
        tender["awardPeriod"] = _period(state.opened_at, end)
    if state.received is not None:
        tenderers = _tenderers(state)
        tender["numberOfTenderers"] = len(tenderers) if tenderers else state.received
        if tenderers:
            tender["tenderers"] = [parties.ref(s) for s in tenderers]
    release: dict[str, Any] = {
        "ocid": ocid(state.auction_id),
        "id": release_id,
        "date": rfc3339(at),
        "tag": [tag],
        "initiationType": "tender",
        "parties": [],  # filled last: every party is added by then
        "buyer": buyer_ref,
        "tender": tender,
    }
    bids = _bids(state, parties)
    if award is not None:
        winning = next(line for line in state.record if line.supplier == award.supplier)
        release["awards"] = [{
            "id": award.award_id,
            "title": next(lot.title for lot in config.lots if lot.lot_id == award.lot_id),
            "description": _award_description(state, award),
            "status": "active",
            "date": rfc3339(at),
            "value": _value(state, award.price),
            "suppliers": [parties.ref(award.supplier)],
            "relatedLots": [award.lot_id],
            "relatedBids": [f"{award.supplier}/{winning.bid_id}/{award.lot_id}"],
        }]
    if bids is not None:
        release["bids"] = bids
    release["parties"] = parties.listed()
    return release


def _award_description(state: TenderState, award: FinalAward) -> str:
    lot = next(lot for lot in state.decision.lots if lot.lot_id == award.lot_id)
    best = lot.ranking[0]
    if best.total is None:
        return "The lowest price among the valid bids on the lot."
    return (f"The highest score by the published formula: {best.total // 100}."
            f"{best.total % 100:02d} of 100 points.")


def award_releases(state: TenderState) -> list[tuple[FinalAward, dict[str, Any]]]:
    """One release per lot awarded (id ``award-<award id>``, the award id ``<tender>:<lot>``),
    with the state the final award left: every lot ``complete``, or ``unsuccessful`` where no
    valid bid priced it."""
    awarded = {a.lot_id for a in state.awards}
    lot_status = {lot.lot_id: "complete" if lot.lot_id in awarded else "unsuccessful"
                  for lot in state.config.lots}
    return [(award, _release(state, release_id=f"award-{award.award_id}", tag="award",
                             at=state.ended_at, status="complete", lot_status=lot_status, award=award))
            for award in state.awards]


def ending_release(state: TenderState) -> dict[str, Any]:
    """The release that ends a cancelled or unsuccessful tender, dated when it ended: id
    ``cancellation-<tender>`` (tag ``tenderCancellation``) or ``unsuccessful-<tender>`` (tag
    ``tenderUpdate``); a tender ends once. Its reason is not in it: OCDS 1.1 has no field for it
    (it stays in the journal and the views, as the reverse auction's)."""
    cancelled = state.phase is Phase.CANCELLED
    status = "cancelled" if cancelled else "unsuccessful"
    return _release(state, release_id=f"{'cancellation' if cancelled else status}-{state.auction_id}",
                    tag="tenderCancellation" if cancelled else "tenderUpdate", at=state.ended_at,
                    status=status, lot_status={lot.lot_id: status for lot in state.config.lots})


def releases(state: TenderState) -> list[dict[str, Any]]:
    """Every release the tender has published on the awards stream: none until it ends."""
    if state.phase is Phase.AWARDED:
        return [release for _, release in award_releases(state)]
    if state.phase in (Phase.CANCELLED, Phase.UNSUCCESSFUL):
        return [ending_release(state)]
    return []
