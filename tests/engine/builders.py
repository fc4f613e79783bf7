"""Small builders for engine tests: a configured auction, its suppliers, commands at given times."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import msgspec

from bidserver.engine.rejections import Rejection
from bidserver.engine.reverse import AuctionState, decide, evolve, refusal_record, state_bytes
from bidserver.engine.reverse.events import Event
from bidserver.engine.reverse.commands import (
    AwardLot,
    CancelAuction,
    CreateAuction,
    ExtendAuction,
    InviteSupplier,
    PauseAuction,
    PlaceBid,
    ResumeAuction,
    SetSupplierStanding,
    StartAuction,
    Tick,
    VoidBid,
)
from bidserver.engine.reverse.values import (
    SYSTEM,
    Actor,
    AuctionConfig,
    Decrement,
    DecrementKind,
    LotSpec,
    Role,
)

@dataclass(slots=True)
class Outcome:
    events: list[Event] = field(default_factory=list)
    rejection: Rejection | None = None


def handle(state: AuctionState, command) -> Outcome:
    """Decide, then apply each event: the whole step, for tests that need no journal between. A
    refusal's record (``refusal_record``) is applied too, as the room journals it."""
    decision = decide(state, command)
    if isinstance(decision, Rejection):
        record = refusal_record(state, command, decision)
        if record is not None:
            evolve(state, record)
        return Outcome(events=[record] if record is not None else [], rejection=decision)
    for event in decision:
        evolve(state, event)
    return Outcome(events=decision)


T0 = 1_800_000_000_000  # ms epoch: every test's clock starts here
BUYER = Actor(Role.BUYER, "org-buyer")
OTHER_BUYER = Actor(Role.BUYER, "org-other")
OBSERVER = Actor(Role.OBSERVER, "org-buyer")  # observers watch their buyer organisation
SUPPLIERS = ("sup-a", "sup-b", "sup-c")
_ids = itertools.count(1)


def supplier(party: str) -> Actor:
    return Actor(Role.SUPPLIER, party)


def lot(lot_id: str = "L1", ceiling: int = 100_000, reserve: int | None = None) -> LotSpec:
    return LotSpec(lot_id=lot_id, title=f"lot {lot_id}", ceiling=ceiling, reserve=reserve)


def config(**overrides) -> AuctionConfig:
    base = AuctionConfig(
        title="Road salt",
        currency="EUR",
        lots=(lot(),),
        duration_ms=60_000,
        decrement=Decrement(DecrementKind.AMOUNT, 100),
    )
    return msgspec.structs.replace(base, **overrides)


def ok(state: AuctionState, command) -> Outcome:
    outcome = handle(state, command)
    assert outcome.rejection is None, outcome.rejection
    return outcome


def draft(cfg: AuctionConfig | None = None, suppliers=SUPPLIERS) -> AuctionState:
    state = AuctionState.new("auc-1")
    ok(state, CreateAuction(actor=BUYER, at=T0 - 10_000, auction_id="auc-1", config=cfg or config()))
    for party in suppliers:
        ok(state, InviteSupplier(actor=BUYER, at=T0 - 5_000, supplier=party, name=party.upper()))
    return state


def opened(cfg: AuctionConfig | None = None, suppliers=SUPPLIERS, at: int = T0) -> AuctionState:
    state = draft(cfg, suppliers)
    ok(state, StartAuction(actor=BUYER, at=at))
    return state


def bid(party: str, amount: int, at: int, lot_id: str = "L1", bid_id: str | None = None, **kw) -> PlaceBid:
    return PlaceBid(
        actor=supplier(party), at=at, lot_id=lot_id, amount=amount,
        bid_id=bid_id or f"bid-{next(_ids)}", **kw,
    )


def tick(at: int) -> Tick:
    return Tick(actor=SYSTEM, at=at)


def standing(party: str, at: int, restricted: bool = True, reason: str = "suspended",
             detail: str = "suspended by the registry", actor: Actor = SYSTEM) -> SetSupplierStanding:
    """The supplier registry's word on ``party``, pushed in by the server."""
    return SetSupplierStanding(actor=actor, at=at, supplier=party, restricted=restricted,
                               reason=reason, detail=detail)


# ------------------------------------------------------------------ more builders (decide, rules,
# evolve and property tests)


def refused(state: AuctionState, command) -> Rejection:
    """The rejection ``command`` gets; asserts that deciding it changed nothing in the state."""
    before = state_bytes(state)
    decision = decide(state, command)
    assert isinstance(decision, Rejection), f"accepted: {decision}"
    assert state_bytes(state) == before  # decide is pure, refusals too
    return decision


def accepted(state: AuctionState, command) -> list:
    """The events ``command`` causes, applied to ``state``."""
    return ok(state, command).events


def phoned(on_behalf_of: str, amount: int, at: int, lot_id: str = "L1", bid_id: str | None = None,
           actor: Actor = BUYER, **kw) -> PlaceBid:
    """A bid the buyer enters on a supplier's behalf (phone-in)."""
    return PlaceBid(actor=actor, at=at, lot_id=lot_id, amount=amount,
                    bid_id=bid_id or f"bid-{next(_ids)}", on_behalf_of=on_behalf_of, **kw)


def pause(at: int, reason: str = "", actor: Actor = BUYER) -> PauseAuction:
    return PauseAuction(actor=actor, at=at, reason=reason)


def resume(at: int, actor: Actor = BUYER) -> ResumeAuction:
    return ResumeAuction(actor=actor, at=at)


def extend(at: int, by_ms: int, lot_id: str | None = None, actor: Actor = BUYER) -> ExtendAuction:
    return ExtendAuction(actor=actor, at=at, by_ms=by_ms, lot_id=lot_id)


def cancel(at: int, reason: str = "specification error", actor: Actor = BUYER) -> CancelAuction:
    return CancelAuction(actor=actor, at=at, reason=reason)


def void(bid_id: str, at: int, reason: str = "typing error confirmed", actor: Actor = BUYER) -> VoidBid:
    return VoidBid(actor=actor, at=at, bid_id=bid_id, reason=reason)


def award(lot_id: str, at: int, bid_id: str | None = None, reason: str = "",
          actor: Actor = BUYER) -> AwardLot:
    return AwardLot(actor=actor, at=at, lot_id=lot_id, bid_id=bid_id, reason=reason)


def lots(*ids: str, ceiling: int = 100_000) -> tuple[LotSpec, ...]:
    return tuple(lot(i, ceiling=ceiling) for i in ids)


def ends(state: AuctionState) -> dict[str, int | None]:
    return {lot_id: lot_state.end_at for lot_id, lot_state in state.lots.items()}


def of_type(events, kind) -> list:
    return [e for e in events if isinstance(e, kind)]


def setup_log(cfg: AuctionConfig, suppliers=SUPPLIERS, at: int = T0) -> tuple[AuctionState, list]:
    """An opened auction and the events that built it (for replays)."""
    state = AuctionState.new("auc-1")
    log: list = []
    commands = [
        CreateAuction(actor=BUYER, at=at - 10_000, auction_id="auc-1", config=cfg),
        *(InviteSupplier(actor=BUYER, at=at - 5_000, supplier=p, name=p.upper()) for p in suppliers),
        StartAuction(actor=BUYER, at=at),
    ]
    for command in commands:
        log += ok(state, command).events
    return state, log
