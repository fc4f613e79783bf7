"""Small builders for engine tests: a configured auction, its suppliers, commands at given times."""

from __future__ import annotations

import itertools

import msgspec

from bidserver.engine import AuctionState, Outcome, handle
from bidserver.engine.commands import (
    CreateAuction,
    InviteSupplier,
    PlaceBid,
    StartAuction,
    Tick,
)
from bidserver.engine.values import (
    SYSTEM,
    Actor,
    AuctionConfig,
    Decrement,
    DecrementKind,
    LotSpec,
    Role,
)

T0 = 1_800_000_000_000  # ms epoch: every test's clock starts here
BUYER = Actor(Role.BUYER, "org-buyer")
OTHER_BUYER = Actor(Role.BUYER, "org-other")
OBSERVER = Actor(Role.OBSERVER, "obs-1")
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
