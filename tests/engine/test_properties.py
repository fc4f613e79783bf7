"""Properties of the engine over random auctions (Hypothesis), checked against an independent model.

Random but valid configurations (lots, parallel or staggered closing, decrements, bid and tie rules,
visibility, soft close, fat-finger guard, rate limit, reserves, award mode) and random streams of
bids (random suppliers, amounts and times on a clock that only moves forward, phone-in bids,
resends), buyer actions (pause, resume, extend, void, award, cancel) and timer ticks. The clock
often jumps to the interesting instants: a lot's end, one ms before it, the soft-close window's edge.

The model below knows nothing of the engine's state: it is rebuilt from the events alone (which
bids were accepted and voided, which ends were set), and every rule is recomputed from the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidserver.engine.rejections import Rejection
from bidserver.engine.reverse import (
    AuctionState,
    decide,
    evolve,
    ranking,
    redact,
    refusal_record,
    replay,
    state_bytes,
    view_for,
    you_view,
)
from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse.commands import (
    AwardLot,
    CancelAuction,
    CreateAuction,
    ExtendAuction,
    InviteSupplier,
    PauseAuction,
    PlaceBid,
    ResumeAuction,
    StartAuction,
    Tick,
    VoidBid,
)
from bidserver.engine.rejections import Reason
from bidserver.engine.reverse.values import (
    SYSTEM,
    Actor,
    AuctionConfig,
    AwardMode,
    BidRule,
    Decrement,
    DecrementKind,
    LotCloseMode,
    LotSpec,
    Role,
    SoftClose,
    SoftCloseTrigger,
    TieRule,
    Visibility,
)

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

T0 = 1_800_000_000_000
BUYER = Actor(Role.BUYER, "org-buyer-q4")
OBSERVER = Actor(Role.OBSERVER, BUYER.party)  # observers watch their buyer organisation
# Distinctive ids and names, so that a leak into a view is found by a plain substring search.
PARTIES = ("acme-7f3q", "bolt-2k9z", "crane-x81m", "delta-55pw")
NAMES = {party: f"Name-of-{party}" for party in PARTIES}
OUTSIDER = "eagle-0u0u"  # never invited


# ================================================================== generation


@st.composite
def configs(draw) -> AuctionConfig:
    count = draw(st.integers(1, 3))
    specs = []
    for i in range(count):
        ceiling = draw(st.integers(50, 200_000))
        reserve = draw(st.none() | st.integers(1, ceiling))
        specs.append(LotSpec(lot_id=f"L{i + 1}", title=f"lot {i + 1}", ceiling=ceiling, reserve=reserve))
    staggered = count > 1 and draw(st.booleans())
    soft = None
    if draw(st.booleans()):
        soft = SoftClose(
            window_ms=draw(st.integers(200, 15_000)),
            extension_ms=draw(st.integers(200, 15_000)),
            trigger=draw(st.sampled_from(SoftCloseTrigger)),
            max_extensions=draw(st.none() | st.integers(0, 4)),
        )
    kind = draw(st.sampled_from(DecrementKind))
    value = draw(st.integers(1, 2_000)) if kind is DecrementKind.AMOUNT else draw(st.integers(1, 1_500))
    return AuctionConfig(
        title="Property auction",
        currency="EUR",
        lots=tuple(specs),
        duration_ms=draw(st.integers(2_000, 40_000)),
        decrement=Decrement(kind, value),
        bid_rule=draw(st.sampled_from(BidRule)),
        tie_rule=draw(st.sampled_from(TieRule)),
        visibility=draw(st.sampled_from(Visibility)),
        lot_close=LotCloseMode.STAGGERED if staggered else LotCloseMode.PARALLEL,
        stagger_ms=draw(st.integers(1, 10_000)) if staggered else 0,
        soft_close=soft,
        fat_finger_bp=draw(st.none() | st.integers(1, 10_000)),
        min_bid_interval_ms=draw(st.sampled_from([0, 0, 0, 1, 250, 1_000])),
        award_mode=draw(st.sampled_from(AwardMode)),
    )


KINDS = (
    ["bid"] * 10 + ["late_bid"] * 4 + ["phone"] * 2 + ["wait"] * 3 + ["jump"] + ["tick"] * 3
    + ["pause", "resume", "extend", "void", "award", "award", "intruder", "resend"]
)  # a cancel is drawn apart (``cancel_at``): it ends everything, so at most once
HOW = ("limit",) * 3 + ("below",) * 3 + ("just_too_high",) * 2 + ("tie",) * 2 + (
    "anywhere", "over", "nonpositive")

step_data = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 3),  # which supplier
    st.integers(0, 2),  # which lot
    st.sampled_from(HOW),
    st.integers(0, 10_000),  # a free parameter
    st.booleans(),
    st.booleans(),
    st.integers(0, 7),  # where in time a "jump" or a "late_bid" lands
)


@st.composite
def plans(draw):
    cfg = draw(configs())
    invited = PARTIES[: draw(st.integers(2, 4))]
    steps = draw(st.lists(step_data, min_size=20, max_size=80))
    cancel_at = draw(st.integers(0, 80)) if draw(st.integers(0, 9)) == 7 else None  # rarely
    return cfg, invited, steps, cancel_at


# ================================================================== the independent model


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class Bid:
    index: int  # position in the accepted-bid order
    bid_id: str
    lot_id: str
    supplier: str
    amount: int
    at: int
    entered_by: str | None
    voided: bool = False

    @property
    def key(self):
        return (self.amount, self.at, self.index)


@dataclass
class Model:
    """What the events say, and the rules recomputed from the config."""

    cfg: AuctionConfig
    phase: str = "open"
    paused_at: int | None = None
    bids: list[Bid] = field(default_factory=list)
    by_id: dict[str, Bid] = field(default_factory=dict)
    end: dict[str, int] = field(default_factory=dict)
    soft_extensions: dict[str, int] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    awarded: dict[str, str] = field(default_factory=dict)  # lot -> bid id
    last_bid_at: dict[str, int] = field(default_factory=dict)
    # A bid id is decided once: an id used up by a refusal -> (whom it was for, lot, amount, answer)
    refused: dict[str, tuple[str, str, int, Rejection]] = field(default_factory=dict)
    refused_commands: list[PlaceBid] = field(default_factory=list)  # for resends

    def record_refusal(self, command: PlaceBid, record: ev.BidRefused, answer: Rejection) -> None:
        """A refusal by the rules is recorded; it uses up the id unless it asks for the same bid
        again (docs/protocol.md, "Bid ids")."""
        assert record.bid_id == command.bid_id and record.reason is answer.reason
        assert answer.reason is not Reason.DUPLICATE_BID_ID and command.bid_id not in self.by_id
        self.refused_commands.append(command)
        if answer.reason not in (Reason.RATE_LIMITED, Reason.CONFIRMATION_REQUIRED):
            party = command.on_behalf_of if command.actor == BUYER else command.actor.party
            self.refused[command.bid_id] = (party, command.lot_id, command.amount, answer)

    def spec(self, lot_id: str) -> LotSpec:
        return next(s for s in self.cfg.lots if s.lot_id == lot_id)

    def valid(self, lot_id: str) -> list[Bid]:
        return [b for b in self.bids if b.lot_id == lot_id and not b.voided]

    def best_of(self, lot_id: str, supplier: str) -> Bid | None:
        mine = [b for b in self.valid(lot_id) if b.supplier == supplier]
        return min(mine, key=lambda b: b.key, default=None)

    def last_of(self, lot_id: str, supplier: str) -> Bid | None:
        mine = [b for b in self.valid(lot_id) if b.supplier == supplier]
        return max(mine, key=lambda b: b.index, default=None)

    def leader(self, lot_id: str) -> Bid | None:
        return min(self.valid(lot_id), key=lambda b: b.key, default=None)

    def ranking(self, lot_id: str) -> list[Bid]:
        bests = {}
        for b in self.valid(lot_id):
            if b.supplier not in bests or b.key < bests[b.supplier].key:
                bests[b.supplier] = b
        return sorted(bests.values(), key=lambda b: b.key)

    def step(self, reference: int) -> int:
        d = self.cfg.decrement
        if d.kind is DecrementKind.AMOUNT:
            return d.value
        return max(1, ceil_div(reference * d.value, 10_000))

    def limit(self, lot_id: str, supplier: str) -> int:
        """The highest acceptable amount, by the rules as the issue states them."""
        ceiling = self.spec(lot_id).ceiling
        if self.cfg.bid_rule is BidRule.BEAT_LEADER:
            reference = self.leader(lot_id)
        else:
            reference = self.best_of(lot_id, supplier)
        if reference is None:
            return ceiling
        return min(ceiling, reference.amount - self.step(reference.amount))

    def own_limit(self, lot_id: str, supplier: str) -> int:
        """What a supplier can know without seeing anyone's price: the ceiling and its own step."""
        own = self.best_of(lot_id, supplier)
        ceiling = self.spec(lot_id).ceiling
        return ceiling if own is None else min(ceiling, own.amount - self.step(own.amount))

    def now(self, at: int) -> int:
        """The auction's clock: it stops while paused."""
        return self.paused_at if self.phase == "paused" else at

    def running(self, lot_id: str, at: int) -> bool:
        return lot_id not in self.closed and self.now(at) < self.end[lot_id]

    def bid_reasons(self, command: PlaceBid, invited) -> set[Reason]:
        """Every rule this bid breaks (empty: it must be accepted)."""
        actor = command.actor
        if actor.role is Role.BUYER and actor.party == BUYER.party and command.on_behalf_of:
            party = command.on_behalf_of
        elif actor.role is not Role.SUPPLIER or command.on_behalf_of is not None:
            return {Reason.FORBIDDEN}
        else:
            party = actor.party
        if party not in invited:
            return {Reason.NOT_INVITED}
        known = self.by_id.get(command.bid_id)
        if known is not None:  # a resend is answered whatever the phase
            same = (known.supplier, known.lot_id, known.amount) == (party, command.lot_id, command.amount)
            return set() if same else {Reason.DUPLICATE_BID_ID}
        first = self.refused.get(command.bid_id)
        if first is not None:  # so is a resend of a refused bid, with its first answer
            same = first[:3] == (party, command.lot_id, command.amount)
            return {first[3].reason} if same else {Reason.DUPLICATE_BID_ID}
        if self.phase != "open":
            return {{"paused": Reason.AUCTION_PAUSED, "closed": Reason.AUCTION_CLOSED,
                     "cancelled": Reason.AUCTION_CANCELLED}[self.phase]}
        reasons = set()
        lot_id = command.lot_id
        spec = self.spec(lot_id)
        if not self.running(lot_id, command.at):
            reasons.add(Reason.LOT_CLOSED)
        if command.amount <= 0:
            reasons.add(Reason.INVALID_AMOUNT)
        if command.amount > spec.ceiling:
            reasons.add(Reason.ABOVE_CEILING)
        last_at = self.last_bid_at.get(party)
        if last_at is not None and command.at - last_at < self.cfg.min_bid_interval_ms:
            reasons.add(Reason.RATE_LIMITED)
        if command.amount > self.limit(lot_id, party):
            reasons.add(Reason.DECREMENT_TOO_SMALL)
        if self.cfg.tie_rule is TieRule.REJECT and any(
            b.amount == command.amount and b.supplier != party for b in self.ranking(lot_id)
        ):
            reasons.add(Reason.TIE_NOT_ALLOWED)
        if self.cfg.fat_finger_bp is not None and not command.confirm:
            last = self.last_of(lot_id, party)
            reference = last.amount if last is not None else spec.ceiling
            if (reference - command.amount) * 10_000 > reference * self.cfg.fat_finger_bp:
                reasons.add(Reason.CONFIRMATION_REQUIRED)
        return reasons


# ================================================================== the run


@dataclass
class Checks:
    leader: bool = False
    closing: bool = False
    extensions: bool = False
    bids: bool = False
    money: bool = False
    snapshots: bool = False
    limits: bool = False


@dataclass
class Run:
    state: AuctionState
    log: list
    snapshots: dict[int, bytes]
    model: Model


def setup(cfg: AuctionConfig, invited) -> tuple[AuctionState, list]:
    state = AuctionState.new("auc-p")
    log: list = []
    commands = [
        CreateAuction(actor=BUYER, at=T0 - 1_000, auction_id="auc-p", config=cfg),
        *(InviteSupplier(actor=BUYER, at=T0 - 500, supplier=p, name=NAMES[p]) for p in invited),
        StartAuction(actor=BUYER, at=T0),
    ]
    for command in commands:
        decision = decide(state, command)
        assert not isinstance(decision, Rejection), decision
        for event in decision:
            evolve(state, event)
            log.append(event)
    return state, log


def make_command(model: Model, now: int, step, invited, serial: int):
    kind, who, which_lot, how, param, flag, flag2, _ = step
    cfg = model.cfg
    party = invited[who % len(invited)]
    lot_id = cfg.lots[which_lot % len(cfg.lots)].lot_id
    if kind in ("bid", "late_bid", "phone"):
        spec = model.spec(lot_id)
        if how == "limit":
            amount = model.limit(lot_id, party)
        elif how == "below":
            amount = model.limit(lot_id, party) - param % 97
        elif how == "just_too_high":
            amount = model.limit(lot_id, party) + 1
        elif how == "tie":
            others = [b.amount for b in model.ranking(lot_id) if b.supplier != party]
            amount = others[param % len(others)] if others else spec.ceiling
        elif how == "anywhere":
            amount = 1 + param * spec.ceiling // 10_000
        elif how == "over":
            amount = spec.ceiling + 1 + param % 3
        else:
            amount = -(param % 3)
        bid_id = f"bid-{serial}"
        if kind == "phone":
            return PlaceBid(actor=BUYER, at=now, lot_id=lot_id, amount=amount, bid_id=bid_id,
                            on_behalf_of=party, confirm=flag)
        bidder = OUTSIDER if param % 50 == 49 else party
        return PlaceBid(actor=Actor(Role.SUPPLIER, bidder), at=now, lot_id=lot_id, amount=amount,
                        bid_id=bid_id, confirm=flag or flag2)
    if kind == "resend" and flag2 and model.refused_commands:  # a refused bid, or another under its id
        old = model.refused_commands[param % len(model.refused_commands)]
        return msgspec.structs.replace(old, at=now, amount=old.amount if flag else old.amount - 1)
    if kind == "resend":
        if not model.bids:
            return Tick(actor=SYSTEM, at=now)
        old = model.bids[param % len(model.bids)]
        amount = old.amount if flag else old.amount - 1
        actor = Actor(Role.SUPPLIER, old.supplier)
        if old.entered_by is not None:
            return PlaceBid(actor=BUYER, at=now, lot_id=old.lot_id, amount=amount, bid_id=old.bid_id,
                            on_behalf_of=old.supplier)
        return PlaceBid(actor=actor, at=now, lot_id=old.lot_id, amount=amount, bid_id=old.bid_id)
    if kind in ("wait", "jump", "tick"):
        return Tick(actor=SYSTEM, at=now)
    if kind == "pause":
        return PauseAuction(actor=BUYER, at=now, reason="check" if flag else "")
    if kind == "resume":
        return ResumeAuction(actor=BUYER, at=now)
    if kind == "extend":
        return ExtendAuction(actor=BUYER, at=now, by_ms=param % 5_000 - (1 if flag2 else 0),
                             lot_id=lot_id if flag else None)
    if kind == "void":
        target = model.bids[param % len(model.bids)].bid_id if model.bids else "nothing"
        return VoidBid(actor=BUYER, at=now, bid_id=target, reason="verified error" if flag or flag2 else "")
    if kind == "award":
        chosen = None
        valid = model.valid(lot_id)
        if flag and valid:
            chosen = valid[param % len(valid)].bid_id
        return AwardLot(actor=BUYER, at=now, lot_id=lot_id, bid_id=chosen,
                        reason="best value" if flag2 else "")
    # an intruder: a supplier or an observer trying a buyer action
    intruder = Actor(Role.SUPPLIER, party) if flag else OBSERVER
    actions = [
        PauseAuction(actor=intruder, at=now),
        ExtendAuction(actor=intruder, at=now, by_ms=60_000),
        CancelAuction(actor=intruder, at=now, reason="mine"),
        VoidBid(actor=intruder, at=now, bid_id=model.bids[0].bid_id if model.bids else "x", reason="x"),
        AwardLot(actor=intruder, at=now, lot_id=lot_id, reason="x"),
        ResumeAuction(actor=intruder, at=now),
        PlaceBid(actor=intruder, at=now, lot_id=lot_id, amount=1, bid_id=f"bid-{serial}",
                 on_behalf_of=invited[(who + 1) % len(invited)], confirm=True),
    ]
    return actions[param % len(actions)]


def advance(model: Model, now: int, step) -> int:
    """The clock of the next command: it never goes back; a "jump" lands on an interesting instant."""
    kind, _, which_lot, _, param, flag, _, edge = step
    if kind == "wait":
        return now + param % max(1, model.cfg.duration_ms // 10)
    if kind == "jump":
        lot_id = model.cfg.lots[which_lot % len(model.cfg.lots)].lot_id
        soft = model.cfg.soft_close
        window = soft.window_ms if soft is not None else 1
        offsets = (-window - 1, -window, -1, 0, 1, -2, -window + 1, 2)
        return max(now, model.end[lot_id] + offsets[edge])
    if kind == "late_bid":  # a bid at the very end, or at (or inside) the soft-close window's edge
        lot_id = model.cfg.lots[which_lot % len(model.cfg.lots)].lot_id
        soft = model.cfg.soft_close
        window = soft.window_ms if soft is not None else 0
        edges = (window, 1, window + 1, 0, window - 1, 2)
        back = edges[edge] if edge < len(edges) else param % (window + 2)
        return max(now, model.end[lot_id] - back)
    return now + (param % 40 if flag else 0)


def run(cfg: AuctionConfig, invited, steps, cancel_at, checks: Checks) -> Run:
    state, log = setup(cfg, invited)
    model = Model(cfg)
    for event in log:
        if isinstance(event, ev.AuctionOpened):
            model.end = {e.lot_id: e.end_at for e in event.lot_ends}
            model.soft_extensions = {e.lot_id: 0 for e in event.lot_ends}
    snapshots = {len(log): state_bytes(state)}
    now = T0
    resume_at: int | None = None  # the step at which a pause ends (a pause lasts a few steps)
    for serial, step in enumerate(steps):
        if state.finished:  # cancelled, or every lot decided: nothing can happen any more
            break
        now = advance(model, now, step)
        kind, param = step[0], step[4]
        if serial == cancel_at:
            command = CancelAuction(actor=BUYER, at=now, reason="budget withdrawn")
        elif model.phase == "paused" and serial == resume_at:
            command = ResumeAuction(actor=BUYER, at=now)
        elif model.phase == "closed" and kind in ("bid", "late_bid", "phone") and param % 3:
            # after the close, mostly the buyer's decisions: awards (and some voids)
            award_step = ("award" if param % 3 == 1 else "void", *step[1:])
            command = make_command(model, now, award_step, invited, serial)
        else:
            command = make_command(model, now, step, invited, serial)
            if isinstance(command, PauseAuction):
                resume_at = serial + 1 + param % 5
        before = state_bytes(state) if checks.snapshots else None
        decision = decide(state, command)
        if before is not None:
            assert state_bytes(state) == before  # decide never mutates
        judge(model, state, command, decision, invited, checks)
        if isinstance(decision, Rejection):
            record = refusal_record(state, command, decision)
            if isinstance(command, PlaceBid) and decision.reason is not Reason.DUPLICATE_BID_ID:
                decided = command.bid_id in model.by_id or command.bid_id in model.refused
                assert (record is None) == decided, "a refused bid went unrecorded, or twice"
            if record is not None:  # journalled as the room does
                evolve(state, record)
                log.append(record)
                model.record_refusal(command, record, decision)
            continue
        for event in decision:
            evolve(state, event)
            log.append(event)
        if checks.snapshots:
            snapshots[len(log)] = state_bytes(state)
        compare(model, state, invited, checks)
    return Run(state, log, snapshots, model)


# ================================================================== judging one decision


def judge(model: Model, state: AuctionState, command, decision, invited, checks: Checks) -> None:
    """Check the decision against the model, then fold its events into the model."""
    cfg = model.cfg
    if checks.money and isinstance(decision, Rejection):
        assert decision.max_amount is None or type(decision.max_amount) is int
    if isinstance(command, PlaceBid) and checks.bids:
        judge_bid(model, command, decision, invited)
    if isinstance(command, (PauseAuction, ResumeAuction, ExtendAuction, CancelAuction, VoidBid,
                            AwardLot)) and command.actor != BUYER:
        assert isinstance(decision, Rejection) and decision.reason is Reason.FORBIDDEN
    if isinstance(decision, Rejection):
        return
    pending_soft = None  # (lot, old end) of a bid that must extend its lot
    for event in decision:
        if checks.money:
            assert_exact(msgspec.to_builtins(event))
        match event:
            case ev.BidAccepted():
                assert isinstance(command, PlaceBid)
                if checks.closing:
                    assert model.phase == "open"
                    assert event.lot_id not in model.closed
                    assert event.at < model.end[event.lot_id], "a bid at or after its lot's end"
                if checks.money:
                    assert type(event.amount) is int
                leader = model.leader(event.lot_id)
                old_end = model.end[event.lot_id]
                soft = cfg.soft_close
                if soft is not None and old_end - event.at <= soft.window_ms:
                    fires = soft.trigger is SoftCloseTrigger.ANY_BID or leader is None or (
                        event.amount < leader.amount)
                    room = soft.max_extensions is None or (
                        model.soft_extensions[event.lot_id] < soft.max_extensions)
                    if fires and room:
                        pending_soft = (event.lot_id, old_end)
                bid = Bid(len(model.bids), event.bid_id, event.lot_id, event.supplier, event.amount,
                          event.at, event.entered_by)
                model.bids.append(bid)
                model.by_id[bid.bid_id] = bid
                model.last_bid_at[event.supplier] = event.at
            case ev.LotExtended():
                judge_extension(model, command, event, decision, checks)
                if event.cause is ev.ExtensionCause.SOFT_CLOSE:
                    assert pending_soft is not None and pending_soft[0] == event.lot_id
                    pending_soft = None
                model.end[event.lot_id] = event.end_at
                if event.cause is ev.ExtensionCause.SOFT_CLOSE:
                    model.soft_extensions[event.lot_id] += 1
            case ev.AuctionPaused():
                assert isinstance(command, PauseAuction) and model.phase == "open"
                model.phase, model.paused_at = "paused", event.at
            case ev.AuctionResumed():
                assert isinstance(command, ResumeAuction) and model.phase == "paused"
                paused_for = event.at - model.paused_at
                expected = {lot: end + paused_for for lot, end in model.end.items()
                            if lot not in model.closed}
                if checks.extensions:
                    assert {e.lot_id: e.end_at for e in event.lot_ends} == expected
                model.end.update({e.lot_id: e.end_at for e in event.lot_ends})
                model.phase, model.paused_at = "open", None
            case ev.AuctionCancelled():
                assert isinstance(command, CancelAuction) and command.reason.strip()
                model.phase = "cancelled"
            case ev.BidVoided():
                assert isinstance(command, VoidBid) and command.reason.strip()
                assert not model.by_id[event.bid_id].voided and event.lot_id not in model.awarded
                model.by_id[event.bid_id].voided = True
            case ev.LotClosed():
                if checks.closing:
                    assert isinstance(command, Tick) and model.phase == "open"
                    assert event.lot_id not in model.closed and model.end[event.lot_id] <= event.at
                model.closed.add(event.lot_id)
            case ev.LotAwarded():
                judge_award(model, command, event, checks)
                model.awarded[event.lot_id] = event.bid_id
            case ev.AuctionClosed():
                assert model.closed == set(model.end)
                model.phase = "closed"
            case _:
                raise AssertionError(f"unexpected {event}")
    if checks.extensions:
        assert pending_soft is None, f"a bid in the window did not extend its lot: {pending_soft}"
    if checks.closing and isinstance(command, Tick) and model.phase in ("open", "closed"):
        # every lot whose end has come is closed by the tick, and only those
        assert all(lot in model.closed for lot, end in model.end.items() if end <= command.at)
        if cfg.award_mode is AwardMode.AUTO_LOWEST:
            for lot_id in model.closed:
                leader = model.leader(lot_id)
                reserve = model.spec(lot_id).reserve
                if leader is not None and (reserve is None or leader.amount <= reserve):
                    assert lot_id in model.awarded


def judge_bid(model: Model, command: PlaceBid, decision, invited) -> None:
    reasons = model.bid_reasons(command, invited)
    first = model.refused.get(command.bid_id)
    if first is not None and reasons == {first[3].reason}:  # a resend of a refused bid
        assert decision == first[3], "a refused bid id was decided again"
        return
    if isinstance(decision, Rejection):
        assert reasons, f"a valid bid was refused: {decision} for {command}"
        assert decision.reason in reasons, (decision.reason, reasons)
        if decision.reason is Reason.ABOVE_CEILING:
            assert decision.max_amount == model.spec(command.lot_id).ceiling
        if decision.reason is Reason.DECREMENT_TOO_SMALL and decision.max_amount is not None:
            party = command.on_behalf_of or command.actor.party
            assert decision.max_amount == model.limit(command.lot_id, party)
            if model.cfg.visibility is Visibility.RANK_ONLY:  # tells no one else's price
                assert decision.max_amount == model.own_limit(command.lot_id, party)
    else:
        assert not reasons, f"a bid breaking {reasons} was accepted: {command}"
        if decision:  # not a resend
            accepted = decision[0]
            assert isinstance(accepted, ev.BidAccepted) and accepted.bid_id == command.bid_id
            if command.on_behalf_of is not None:
                assert (accepted.supplier, accepted.entered_by) == (command.on_behalf_of, BUYER.party)
            else:
                assert (accepted.supplier, accepted.entered_by) == (command.actor.party, None)


def judge_extension(model: Model, command, event: ev.LotExtended, decision, checks: Checks) -> None:
    if not checks.extensions:
        return
    cfg = model.cfg
    old_end = model.end[event.lot_id]
    assert event.lot_id not in model.closed and event.end_at > old_end
    if event.cause is ev.ExtensionCause.SOFT_CLOSE:
        soft = cfg.soft_close
        assert soft is not None and isinstance(command, PlaceBid)
        assert old_end - command.at <= soft.window_ms  # inside the window
        assert event.end_at == old_end + soft.extension_ms  # by the configured extension, from the end
        assert event.extensions == model.soft_extensions[event.lot_id] + 1
        assert soft.max_extensions is None or event.extensions <= soft.max_extensions
    elif event.cause is ev.ExtensionCause.BUYER:
        assert isinstance(command, ExtendAuction) and command.by_ms > 0
        assert command.lot_id in (None, event.lot_id)
        assert event.end_at == old_end + command.by_ms
        assert model.now(command.at) < old_end, "a lot extended after its end"
        assert event.extensions == model.soft_extensions[event.lot_id]
    else:
        assert event.cause is ev.ExtensionCause.STAGGER
        assert cfg.lot_close is LotCloseMode.STAGGERED
        index = [s.lot_id for s in cfg.lots].index(event.lot_id)
        assert index > 0
        before = cfg.lots[index - 1].lot_id
        assert event.end_at == model.end[before] + cfg.stagger_ms  # exactly the gap again
        assert event.extensions == model.soft_extensions[event.lot_id]


def judge_award(model: Model, command, event: ev.LotAwarded, checks: Checks) -> None:
    leader = model.leader(event.lot_id)
    reserve = model.spec(event.lot_id).reserve
    chosen = model.by_id[event.bid_id]
    assert event.lot_id in model.closed and event.lot_id not in model.awarded
    assert not chosen.voided and chosen.lot_id == event.lot_id
    assert (event.supplier, event.amount) == (chosen.supplier, chosen.amount)
    assert event.award_id == f"auc-p:{event.lot_id}"
    if isinstance(command, Tick):
        assert model.cfg.award_mode is AwardMode.AUTO_LOWEST
        assert chosen is leader and (reserve is None or chosen.amount <= reserve)
        assert event.basis is ev.AwardBasis.LOWEST
    else:
        assert isinstance(command, AwardLot)
        if command.bid_id is None:
            assert chosen is leader
        is_lowest = chosen is leader  # an equal but later bid ranks after the leader
        assert (event.basis is ev.AwardBasis.LOWEST) == is_lowest
        if not is_lowest or (reserve is not None and chosen.amount > reserve):
            assert command.reason.strip() and event.reason == command.reason


def compare(model: Model, state: AuctionState, invited, checks: Checks) -> None:
    """After each step: the engine's state agrees with the model."""
    if checks.leader:
        for spec in model.cfg.lots:
            expected = model.leader(spec.lot_id)
            leader = state.lots[spec.lot_id].leader()
            assert (leader and leader.bid_id) == (expected and expected.bid_id)
            ranked = [(r.rank, r.supplier, r.bid_id, r.amount) for r in ranking(state, spec.lot_id)]
            assert ranked == [
                (n, b.supplier, b.bid_id, b.amount) for n, b in enumerate(model.ranking(spec.lot_id), 1)]
            for n, b in enumerate(model.ranking(spec.lot_id), 1):
                assert state.lots[spec.lot_id].rank_of(b.supplier) == n
    if checks.closing or checks.extensions:
        assert {i: lot.end_at for i, lot in state.lots.items()} == model.end
        assert {i for i, lot in state.lots.items() if lot.phase.value in ("closed", "awarded")} == (
            model.closed)
        assert state.phase.value == model.phase
    if checks.extensions:
        assert {i: lot.extensions for i, lot in state.lots.items()} == model.soft_extensions
    if checks.limits:
        for party in invited:
            compare_limits(model, party, you_view(state, party))
    if checks.money:
        for record in state.bids.values():
            assert type(record.amount) is int
        for lot in state.lots.values():
            assert lot.award is None or type(lot.award.amount) is int


def compare_limits(model: Model, party: str, you) -> None:
    """A supplier's ``max_bid`` and ``confirm_below`` are the model's rules (``limit``, the
    guard as the configuration states it), told only where they reveal no one else's price."""
    cfg = model.cfg
    for spec, mine in zip(cfg.lots, you.lots, strict=True):
        lot_id = spec.lot_id
        if model.phase not in ("open", "paused") or lot_id in model.closed:
            assert (mine.max_bid, mine.confirm_below) == (None, None)
            continue
        leader = model.leader(lot_id)
        hidden = (cfg.visibility is Visibility.RANK_ONLY and cfg.bid_rule is BidRule.BEAT_LEADER
                  and (leader is None or leader.supplier != party))
        assert mine.max_bid == (None if hidden else model.limit(lot_id, party))
        if cfg.fat_finger_bp is None:
            assert mine.confirm_below is None
            continue
        last = model.last_of(lot_id, party)
        reference = last.amount if last is not None else spec.ceiling
        assert mine.confirm_below == reference - reference * cfg.fat_finger_bp // 10_000


def assert_exact(value) -> None:
    """No float anywhere in an encoded value (money and times are ints; quantities Decimal)."""
    if isinstance(value, dict):
        for item in value.values():
            assert_exact(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            assert_exact(item)
    else:
        assert not isinstance(value, float), value


# ================================================================== the properties


@PROPERTY
@given(plans())
def test_the_leader_is_always_the_best_valid_bid(plan):
    run(*plan, Checks(leader=True))


@PROPERTY
@given(plans())
def test_no_bid_is_accepted_at_or_after_its_lots_close(plan):
    run(*plan, Checks(closing=True))


@PROPERTY
@given(plans())
def test_extensions_follow_the_configured_rules(plan):
    run(*plan, Checks(extensions=True))


@PROPERTY
@given(plans())
def test_bids_are_accepted_exactly_when_the_rules_allow_them(plan):
    run(*plan, Checks(bids=True))


@PROPERTY
@given(plans())
def test_a_suppliers_bid_limits_are_the_rules_own(plan):
    run(*plan, Checks(limits=True))


@PROPERTY
@given(plans())
def test_replay_is_deterministic_and_equals_the_live_state(plan):
    result = run(*plan, Checks(snapshots=True))
    live = state_bytes(result.state)
    once = state_bytes(replay("auc-p", result.log))
    assert once == live
    assert state_bytes(replay("auc-p", result.log)) == once
    journal = [ev.decode_event(ev.encode_event(e)) for e in result.log]
    assert state_bytes(replay("auc-p", journal)) == once
    for length, snapshot in result.snapshots.items():  # every intermediate state too
        assert state_bytes(replay("auc-p", result.log[:length])) == snapshot


@PROPERTY
@given(plans())
def test_money_stays_exact(plan):
    result = run(*plan, Checks(money=True))
    for actor in (BUYER, OBSERVER, *(Actor(Role.SUPPLIER, p) for p in plan[1])):
        assert_exact(msgspec.to_builtins(view_for(result.state, actor)))
    assert_exact(msgspec.json.decode(state_bytes(result.state)))


@settings(PROPERTY, max_examples=60)
@given(plans())
def test_suppliers_and_observers_never_see_identities_or_the_reserve(plan):
    _, invited, _, _ = plan
    result = run(*plan, Checks())
    state = result.state
    for viewer in (*(Actor(Role.SUPPLIER, p) for p in invited), OBSERVER):
        view = view_for(state, viewer)
        assert all(lot.reserve is None for lot in view.lots)
        seen = [msgspec.json.encode(view)]
        for event in result.log:
            shown = redact(state, event, viewer)
            if shown is not None:
                shown = msgspec.to_builtins(shown)
                seen.append(msgspec.json.encode(shown))
                if isinstance(event, (ev.AuctionCreated, ev.ConfigUpdated)):
                    assert all("reserve" not in lot for lot in shown["config"]["lots"])
        text = b"\n".join(seen)
        for party in invited:
            if party != viewer.party:
                assert party.encode() not in text and NAMES[party].encode() not in text
        assert BUYER.party.encode() not in text
    # the search above can fail: the buyer's view does name every supplier on a board
    buyer_text = msgspec.json.encode(view_for(state, BUYER))
    for lot in state.lots.values():
        assert all(party.encode() in buyer_text for party in lot.best)
