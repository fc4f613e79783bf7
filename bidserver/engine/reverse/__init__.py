"""The reverse auction: suppliers compete downward on price in a live room.

Decrements (amount or %), ceiling and hidden reserve, "improve your own bid" or "beat the leader",
tie rules, visibility (rank only, rank and leading price, anonymised board), parallel or staggered
lots, soft close, pause/resume/extend/cancel, voided and phone-in bids, a fat-finger guard and
awards. ``FORMAT`` is what the runtime knows of it (``engine.format``).
"""

from __future__ import annotations

from ..format import Format
from .commands import Command, CreateAuction, SetSupplierStanding, Tick
from .decide import decide, refusal_record
from .events import Event, decode_event, delivery, encode_event, seals_head
from .evolve import evolve, replay, restore, state_bytes
from .records import awards, history, receipt, releases, results, summary
from .state import AuctionState, BidRecord, LotPhase, LotState, Phase, SupplierEntry
from .values import SYSTEM, Actor, AuctionConfig
from .views import (
    AuctionView, LotView, RankEntry, YouView, audience_view, may_see, next_deadline, personal_to,
    ranking, redact, sees_seq, view_for, you, you_view,
)


def _create(actor: Actor, auction_id: str, config: AuctionConfig) -> CreateAuction:
    return CreateAuction(actor=actor, at=0, auction_id=auction_id, config=config)


def _finished(state: AuctionState) -> bool:
    return state.finished


def _standing(supplier: str, restricted: bool, reason: str, detail: str) -> SetSupplierStanding:
    return SetSupplierStanding(actor=SYSTEM, at=0, supplier=supplier, restricted=restricted,
                               reason=reason, detail=detail)


FORMAT = Format(
    name="reverse_auction",
    config_type=AuctionConfig,
    command_type=Command,
    new_state=AuctionState.new,
    create=_create,
    tick=lambda: Tick(actor=SYSTEM, at=0),
    decide=decide,
    evolve=evolve,
    next_deadline=next_deadline,
    finished=_finished,
    encode_event=encode_event,
    decode_event=decode_event,
    may_see=may_see,
    view=view_for,
    audience_view=audience_view,
    you_view=you,
    redact=redact,
    delivery=delivery,
    personal_to=personal_to,
    receipt=receipt,
    refusal_record=refusal_record,
    history=history,
    results=results,
    awards=awards,
    releases=releases,
    summary=summary,
    state_bytes=state_bytes,
    restore=restore,
    sees_seq=sees_seq,
    seals_head=seals_head,
    standing=_standing,
)

__all__ = [
    "FORMAT", "AuctionConfig", "AuctionState", "AuctionView", "BidRecord", "Command", "Event",
    "LotPhase", "LotState", "LotView", "Phase", "RankEntry", "SupplierEntry", "YouView",
    "audience_view", "decide", "evolve", "may_see", "next_deadline", "personal_to", "ranking",
    "redact", "replay", "state_bytes", "view_for", "you_view",
]
