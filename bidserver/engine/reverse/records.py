"""What a reverse auction tells beyond the live views: answers to bids, bid history, the results
table, awards for the awards stream, and the listing summary. Pure, per role, like the views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from ..format import AwardRelease, Summary, Table
from ..money import money_text
from .. import ocds_common
from ..values import PARTICIPANTS
from . import ocds
from .commands import Command, PlaceBid
from .events import AuctionCancelled, Event, LotAwarded
from .state import AuctionState, BidRecord, LotPhase, Refusal
from .values import Actor, Role
from .views import ranking


class BidStanding(msgspec.Struct, frozen=True):
    """What a supplier is told of its accepted bid: its place in the journal and its rank now."""

    seq: int
    rank: int | None


def receipt(state: AuctionState, command: Command) -> BidStanding | None:
    """The answer to a decided bid (accepted now, or a resend of an accepted one)."""
    if type(command) is not PlaceBid:
        return None
    record = state.bids.get(command.bid_id)
    if record is None:
        return None
    return BidStanding(record.seq, state.lots[record.lot_id].rank_of(record.supplier))


def history(state: AuctionState, actor: Actor) -> list[dict[str, Any]]:
    """Bids per role, in the order they were decided: the buyer sees all with identities, and
    the audit trail (who placed or voided each, and every bid the rules refused: ``status``
    "refused"); a supplier its own bids and its own refused attempts; observers an anonymised
    list of accepted bids (aliases, never identities); the platform's staff and the system
    nothing (``values.PARTICIPANTS``)."""
    if actor.role not in PARTICIPANTS:
        return []
    rows = [(bid.seq, _bid_row(state, bid_id, bid, actor)) for bid_id, bid in state.bids.items()
            if actor.role is not Role.SUPPLIER or bid.supplier == actor.party]
    if actor.role is not Role.OBSERVER:
        rows += [(refusal.seq, _refusal_row(refusal, actor)) for refusal in state.refusals
                 if actor.role is Role.BUYER or refusal.supplier == actor.party]
    rows.sort(key=lambda row: row[0])
    return [row for _, row in rows]


def _bid_row(state: AuctionState, bid_id: str, bid: BidRecord, actor: Actor) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "lot_id": bid.lot_id,
        "amount": bid.amount,
        "at": bid.at,
        "seq": bid.seq,
        "status": "accepted",
        "voided": bid.voided,
    }
    alias = state.suppliers[bid.supplier].alias
    if actor.role is Role.BUYER:
        entry |= {
            "bid_id": bid_id,
            "supplier": bid.supplier,
            "name": state.suppliers[bid.supplier].name,
            "alias": alias,
            "entered_by": bid.entered_by,
            "user": bid.user or None,
            "void_reason": bid.void_reason,
            "void_user": bid.void_user or None,
        }
    elif actor.role is Role.SUPPLIER:
        entry |= {"bid_id": bid_id, "alias": alias, "void_reason": bid.void_reason}
    else:
        entry["alias"] = alias
    return entry


def _refusal_row(refusal: Refusal, actor: Actor) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "lot_id": refusal.lot_id,
        "amount": refusal.amount,
        "at": refusal.at,
        "seq": refusal.seq,
        "status": "refused",
        "bid_id": refusal.bid_id,
        "reason": refusal.reason,
    }
    if actor.role is Role.BUYER:
        entry |= {
            "supplier": refusal.supplier,
            "sent_by": f"{refusal.role}:{refusal.party}",
            "entered_by": refusal.entered_by,
            "user": refusal.user or None,
            "detail": refusal.detail,
        }
    return entry


RESULTS_HEADER = (
    "auction_id", "lot_id", "lot_title", "rank", "supplier", "name", "alias", "amount", "currency",
    "bid_id", "bid_at_ms", "awarded",
)


def results(state: AuctionState, actor: Actor) -> Table | None:
    """The buyer's result sheet: every lot's ranking with identities, and the award. Identities
    are the buyer's alone, so nobody else gets it (None)."""
    if actor.role is not Role.BUYER or actor.party != state.buyer:
        return None
    config = state.config
    rows: list[tuple[str | int, ...]] = []
    for spec in config.lots:
        award = state.lots[spec.lot_id].award
        for entry in ranking(state, spec.lot_id):
            rows.append((
                state.auction_id, spec.lot_id, spec.title, entry.rank, entry.supplier,
                state.suppliers[entry.supplier].name, entry.alias,
                money_text(entry.amount, config.minor_units), config.currency, entry.bid_id,
                entry.at, "yes" if award is not None and award.bid_id == entry.bid_id else "",
            ))
    return Table(RESULTS_HEADER, rows)


def _award_release(state: AuctionState, lot_id: str, open_lots: list[str]) -> dict[str, Any]:
    award = state.lots[lot_id].award
    return ocds.award_release(
        auction_id=state.auction_id,
        config=state.config,
        buyer=state.buyer,
        lot_id=lot_id,
        award_id=award.award_id,
        bid_id=award.bid_id,
        supplier_id=award.supplier,
        supplier_name=state.suppliers[award.supplier].name,
        amount=award.amount,
        bid_at_ms=state.bids[award.bid_id].at,
        awarded_at_ms=award.at,
        basis=award.basis,
        reason=award.reason,
        open_lots=open_lots,
    )


def _cancellation_release(state: AuctionState) -> dict[str, Any]:
    return ocds.cancellation_release(
        auction_id=state.auction_id,
        config=state.config,
        buyer=state.buyer,
        cancelled_at_ms=state.cancelled_at,
        awarded_lots=[lot_id for lot_id, lot in state.lots.items() if lot.award is not None],
    )


def awards(state: AuctionState, events: Sequence[Event]) -> list[AwardRelease]:
    """The OCDS releases for ``events`` (``state`` has them applied): one per lot awarded, and for a
    cancel the release ending the auction (``lot_id`` "", keyed by the auction's id, which no
    award's ``<auction_id>:<lot_id>`` can be)."""
    released = []
    open_lots = [
        lot_id for lot_id, lot in state.lots.items() if lot.phase in (LotPhase.PENDING, LotPhase.OPEN)
    ]
    for event in events:
        if type(event) is LotAwarded:
            release = _award_release(state, event.lot_id, open_lots)
            released.append(AwardRelease(event.award_id, event.lot_id, ocds_common.encode(release)))
        elif type(event) is AuctionCancelled:
            released.append(AwardRelease(state.auction_id, "", ocds_common.encode(_cancellation_release(state))))
    return released


def releases(state: AuctionState, actor: Actor) -> list[dict[str, Any]] | None:
    """The releases ``awards`` published, rebuilt from the state, for the buyer's organisation
    alone (they name the suppliers, whom observers see only by alias). A lot was still taking
    bids at an award's time when it had not reached its end by then (a pending lot has none)."""
    if actor.role is not Role.BUYER or actor.party != state.buyer:
        return None
    released = []
    for lot_id, lot in state.lots.items():
        if lot.award is not None:
            at = lot.award.at
            open_lots = [other for other, o in state.lots.items() if o.end_at is None or o.end_at > at]
            released.append(_award_release(state, lot_id, open_lots))
    released.sort(key=lambda release: release["date"])
    if state.cancelled_at is not None:
        released.append(_cancellation_release(state))
    return released


def summary(state: AuctionState) -> Summary | None:
    if state.config is None:
        return None
    return Summary(
        title=state.config.title,
        buyer=state.buyer,
        suppliers=tuple(state.suppliers),
        state=state.phase.value,
        created_at=state.created_at,
        updated_at=state.created_at if state.listed_at is None else state.listed_at,
    )
