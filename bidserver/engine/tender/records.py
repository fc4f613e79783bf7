"""What a tender tells beyond the live views: receipts, history, the results table, awards for the
awards stream, and the listing summary. Pure, per role, like the views.

Receipts carry what the server signs for a supplier (EU 2014/24/EU Annex IV (a): the exact time
of receipt; China's Measures: every accepted file gets a receipt), not the journal's sequence
number: a supplier comparing two of its receipts' numbers would learn how many events came
between them, other suppliers' submissions among them, before the deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from .. import ocds_common
from ..format import AwardRelease, Summary, Table
from ..money import money_text
from ..rejections import Reason
from ..values import Actor, Role
from . import conflicts, ocds
from .commands import Command, ConfirmBid, ReviseBid, SubmitBid, WithdrawBid
from .events import AwardFinal, Event, SubmissionKind, TenderCancelled, TenderUnsuccessful
from .state import BidStatus, SealedBid, TenderState


class TenderReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """What the server signs for a supplier's submission, revision, withdrawal or confirmation."""

    tender_id: str
    supplier: str
    kind: SubmissionKind
    bid_id: str
    commitment: str  # the sealed bid's (a withdrawal: the withdrawn bid's)
    received_at: int  # the event's time: when the server decided it
    documents_hash: str  # the documents the bid stands on


def _made(state: TenderState, bid: SealedBid, kind: SubmissionKind, at: int) -> TenderReceipt:
    return TenderReceipt(tender_id=state.auction_id, supplier=bid.supplier, kind=kind,
                         bid_id=bid.bid_id, commitment=bid.commitment, received_at=at,
                         documents_hash=bid.documents_hash)


def _submitted(bid: SealedBid) -> SubmissionKind:
    return SubmissionKind.SUBMITTED if bid.replaces is None else SubmissionKind.REVISED


def receipt(state: TenderState, command: Command) -> TenderReceipt | None:
    """The receipt of a decided submission, revision, withdrawal or confirmation (a resend gets the
    first one's); None for any other command."""
    kind = type(command)
    if kind not in (SubmitBid, ReviseBid, WithdrawBid, ConfirmBid):
        return None
    bid = state.bids.get(command.actor.party, {}).get(command.bid_id)
    if bid is None:
        return None
    if kind is WithdrawBid:
        return _made(state, bid, SubmissionKind.WITHDRAWN, bid.withdrawn_at)
    if kind is ConfirmBid:
        for confirmation in bid.confirmations:
            if confirmation.documents_hash == command.documents_hash:
                return _made(state, bid, SubmissionKind.CONFIRMED, confirmation.at)
        return None  # it stood on those documents already: nothing was confirmed
    return _made(state, bid, _submitted(bid), bid.at)


def logged_receipts(state: TenderState, supplier: str) -> list[tuple[int, TenderReceipt]]:
    """Each submission, revision and withdrawal of ``supplier``, with the seq of the event that
    recorded it, in the order they were decided: what the runtime signs with that journal entry's
    chain hash (the seq itself never leaves the server), in an answer and again on request."""
    logged = []
    for bid in state.bids.get(supplier, {}).values():
        logged.append((bid.seq, _made(state, bid, _submitted(bid), bid.at)))
        if bid.status is BidStatus.WITHDRAWN:
            logged.append((bid.withdrawn_seq, _made(state, bid, SubmissionKind.WITHDRAWN, bid.withdrawn_at)))
    logged.sort(key=lambda pair: pair[0])
    return logged


# ------------------------------------------------------------------ history


def _rows_of(bid: SealedBid) -> list[tuple[int, dict[str, Any]]]:
    kind = SubmissionKind.SUBMITTED if bid.replaces is None else SubmissionKind.REVISED
    rows = [(bid.seq, {"kind": kind.value, "at": bid.at, "bid_id": bid.bid_id,
                       "commitment": bid.commitment, "replaces": bid.replaces,
                       "status": bid.status.value, "user": bid.user or None})]
    rows += [(c.seq, {"kind": SubmissionKind.CONFIRMED.value, "at": c.at, "bid_id": bid.bid_id,
                      "documents_hash": c.documents_hash, "user": None})
             for c in bid.confirmations]
    if bid.status is BidStatus.WITHDRAWN:
        rows.append((bid.withdrawn_seq, {"kind": SubmissionKind.WITHDRAWN.value,
                                         "at": bid.withdrawn_at, "bid_id": bid.bid_id}))
    return rows


def history(state: TenderState, actor: Actor) -> list[dict[str, Any]]:
    """Submissions, revisions, withdrawals, confirmations and refused attempts, in the order they
    were decided. A supplier sees its own, always. The buyer's organisation and observers see
    everyone's once the bids are opened; before that the buyer sees only the attempts refused as
    late (as its live room lists them), so nothing tells it who bid before the opening. A named
    officer or evaluator who has not declared "no conflict" sees it as before the opening
    (``conflicts``)."""
    opened = state.opened_at is not None and not conflicts.withheld(state, actor)
    if actor.role is Role.SUPPLIER:
        suppliers = [actor.party]
    elif opened:
        suppliers = sorted(state.bids)
    else:
        suppliers = []
    rows: list[tuple[int, dict[str, Any]]] = []
    for supplier in suppliers:
        for bid in state.bids.get(supplier, {}).values():
            rows += [(seq, {"supplier": supplier, **row}) for seq, row in _rows_of(bid)]
    for refusal in state.refusals:
        mine = actor.role is Role.SUPPLIER and refusal.supplier == actor.party
        late = refusal.reason == Reason.DEADLINE_PASSED
        if mine or (actor.role is not Role.SUPPLIER and (opened or (late and actor.role is Role.BUYER))):
            rows.append((refusal.seq, {
                "supplier": refusal.supplier, "kind": refusal.kind, "at": refusal.at,
                "bid_id": refusal.bid_id, "commitment": refusal.commitment,
                "status": "refused", "reason": refusal.reason, "detail": refusal.detail,
                "user": refusal.user or None,
            }))
    rows.sort(key=lambda row: row[0])
    if actor.role is Role.OBSERVER:  # the buyer's people are the buyer's to name
        return [{k: v for k, v in row.items() if k != "user"} for _, row in rows]
    return [row for _, row in rows]


# ------------------------------------------------------------------ results


RESULTS_HEADER = (
    "tender_id", "lot_id", "lot_title", "supplier", "name", "price", "currency", "bid_id",
    "received_at_ms", "opened", "qualification", "rank", "total_points", "abnormally_low",
    "awarded",
)


def results(state: TenderState, actor: Actor) -> Table | None:
    """The buyer's sheet: the opening record per lot, each bid's qualification, and once decided
    its rank and points (hundredths) and the award. Empty before the opening. Not for a named
    officer or evaluator who has not declared "no conflict" (``conflicts``)."""
    if actor.role is not Role.BUYER or actor.party != state.buyer or conflicts.withheld(state, actor):
        return None
    config = state.config
    titles = {lot.lot_id: lot.title for lot in config.lots}
    ranked = {}
    if state.decision is not None:
        ranked = {(lot.lot_id, r.supplier): (r, lot.winner == r.supplier)
                  for lot in state.decision.lots for r in lot.ranking}
    final = {(a.lot_id, a.supplier) for a in state.awards}
    rows: list[tuple[str | int, ...]] = []
    for line in state.record:
        qualified = state.qualifications.get(line.supplier)
        common = (line.supplier, line.name)
        if line.failed is not None:
            rows.append((state.auction_id, "", "", *common, "", config.currency, line.bid_id,
                         line.received_at, f"failed: {line.failed}", "", "", "", "", ""))
            continue
        for price in line.prices:
            entry, chosen = ranked.get((price.lot_id, line.supplier), (None, False))
            rows.append((
                state.auction_id, price.lot_id, titles[price.lot_id], *common,
                money_text(price.price, config.minor_units), config.currency, line.bid_id,
                line.received_at, "yes", qualified.status if qualified else "",
                entry.rank if entry else "",
                entry.total if entry and entry.total is not None else "",
                "yes" if entry and entry.abnormally_low else "",
                "final" if (price.lot_id, line.supplier) in final else ("decided" if chosen else ""),
            ))
    return Table(RESULTS_HEADER, rows)


def awards(state: TenderState, events: Sequence[Event]) -> list[AwardRelease]:
    """The OCDS releases for ``events`` (``state`` has them applied): one per lot awarded when the
    award becomes final (keyed by its award id ``<tender>:<lot>``), and the release ending a
    cancelled or unsuccessful tender (``lot_id`` "", keyed by the tender's id, which no award's
    id can be)."""
    released = []
    for event in events:
        if type(event) is AwardFinal:
            released += [AwardRelease(award.award_id, award.lot_id, ocds_common.encode(release))
                         for award, release in ocds.award_releases(state)]
        elif type(event) in (TenderCancelled, TenderUnsuccessful):
            released.append(AwardRelease(state.auction_id, "",
                                         ocds_common.encode(ocds.ending_release(state))))
    return released


def releases(state: TenderState, actor: Actor) -> list[dict[str, Any]] | None:
    """The releases ``awards`` published (none before the tender ends), for the buyer's
    organisation and its observers, who see the opening record with the bidders' names too."""
    if actor.role not in (Role.BUYER, Role.OBSERVER) or actor.party != state.buyer:
        return None
    return ocds.releases(state)


def summary(state: TenderState) -> Summary | None:
    if state.config is None:
        return None
    return Summary(
        title=state.config.title,
        buyer=state.buyer,
        suppliers=tuple(sorted(state.suppliers, key=lambda s: (state.suppliers[s].invited_at, s))),
        state=state.phase.value,
        created_at=state.created_at,
        updated_at=state.created_at if state.listed_at is None else state.listed_at,
    )
