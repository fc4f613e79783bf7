"""The pure engine of reverse auctions: commands in, events or rejections out, time passed in.

``decide`` validates and emits events without touching the state; ``evolve`` applies one event;
``handle`` is both; ``replay`` is a fold. No I/O, no clock, no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .commands import Command
from .decide import decide
from .events import Event
from .evolve import evolve, replay, state_bytes
from .rejections import Reason, Rejection
from .state import AuctionState, BidRecord, LotPhase, LotState, Phase, SupplierEntry
from .views import (
    AuctionView, LotView, RankEntry, YouView, audience_view, conflated, next_deadline, personal_to,
    ranking, redact, view_for, you_view,
)


@dataclass(slots=True)
class Outcome:
    events: list[Event] = field(default_factory=list)
    rejection: Rejection | None = None


def handle(state: AuctionState, command: Command) -> Outcome:
    """Decide, then apply each event: the whole step for callers that need no journal between."""
    decision = decide(state, command)
    if isinstance(decision, Rejection):
        return Outcome(rejection=decision)
    for event in decision:
        evolve(state, event)
    return Outcome(events=decision)


__all__ = [
    "AuctionState", "AuctionView", "BidRecord", "LotPhase", "LotState", "LotView", "Outcome",
    "Phase", "RankEntry", "Reason", "Rejection", "SupplierEntry", "decide", "evolve", "handle",
    "next_deadline", "ranking", "redact", "replay", "state_bytes", "view_for", "YouView",
    "audience_view", "conflated", "personal_to", "you_view",
]
