"""``evolve`` applies each tender event as a plain fact; replay is a fold that gives the very state,
byte for byte; events and states survive their encodings; every event type has its table rows."""

from __future__ import annotations

from typing import get_args

import pytest

from bidserver.engine.format import Delivery
from bidserver.engine.formats import FORMATS
from bidserver.engine.rejections import Reason
from bidserver.engine.tender import FORMAT, Phase, TenderState, evolve, state_bytes
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.commands import InviteSupplier
from bidserver.engine.tender.evolve import _APPLY, restore
from bidserver.engine.tender.state import BidStatus, ShareRecord
from bidserver.engine.values import Role

from .builders import (
    BUYER, DAY, DOCS, DOCS_2, ENQUIRY_END, OPENING, T0, TENDER, Run, answer, ask, bid, change,
    complain, confirm, config, decide_award, opened, published, qualify, resolve, revise, schedule,
    tick, withdraw,
)


def test_the_tables_cover_exactly_the_event_union():
    union = set(get_args(ev.Event))
    assert set(ev.EVENT_TABLE) == union
    assert set(_APPLY) == union


def test_the_format_is_registered_for_the_runtime():
    assert FORMATS["sealed_tender"] is FORMAT and FORMAT.config_type is type(config())


def folded(events) -> TenderState:
    return FORMAT.replay(TENDER, events)


def created() -> list:
    return [ev.TenderCreated(at=T0 - 2, tender_id=TENDER, buyer="org-buyer", config=config()),
            ev.SupplierInvited(at=T0 - 1, supplier="sup-a", name="A Ltd"),
            ev.TenderPublished(at=T0)]


def test_creation_invitation_and_publication():
    state = folded(created())
    assert (state.phase, state.buyer, state.published_at, state.seq) == (
        Phase.PUBLISHED, "org-buyer", T0, 3)
    assert (state.suppliers["sup-a"].name, state.suppliers["sup-a"].invited_at) == ("A Ltd", T0 - 1)


def test_a_submission_a_revision_and_a_withdrawal():
    state = folded(created())
    evolve(state, ev.BidSubmitted(at=T0 + 1, supplier="sup-a", bid_id="a1", sealed=b"x" * 8,
                                  commitment="sha256:1"))
    assert (state.current, state.bids["sup-a"]["a1"].seq, state.bids["sup-a"]["a1"].documents_hash) == (
        {"sup-a": "a1"}, 4, DOCS)
    evolve(state, ev.BidSubmitted(at=T0 + 2, supplier="sup-a", bid_id="a2", sealed=b"y" * 8,
                                  commitment="sha256:2", replaces="a1"))
    assert state.bids["sup-a"]["a1"].status is BidStatus.REPLACED and state.current["sup-a"] == "a2"
    evolve(state, ev.BidWithdrawn(at=T0 + 3, supplier="sup-a", bid_id="a2"))
    withdrawn = state.bids["sup-a"]["a2"]
    assert (withdrawn.status, withdrawn.withdrawn_at, withdrawn.withdrawn_seq, state.current) == (
        BidStatus.WITHDRAWN, T0 + 3, 6, {})


def test_changed_documents_and_a_confirmation():
    state = folded(created())
    evolve(state, ev.BidSubmitted(at=T0 + 1, supplier="sup-a", bid_id="a1", sealed=b"x",
                                  commitment="sha256:1"))
    moved = schedule(deadline=T0 + 50 * DAY, opening_at=T0 + 51 * DAY)
    evolve(state, ev.DocumentsChanged(at=T0 + 2, documents_hash=DOCS_2, schedule=moved))
    assert (state.config.documents_hash, state.config.schedule) == (DOCS_2, moved)
    assert state.bids["sup-a"]["a1"].documents_hash == DOCS
    evolve(state, ev.BidConfirmed(at=T0 + 3, supplier="sup-a", bid_id="a1", documents_hash=DOCS_2))
    bid_record = state.bids["sup-a"]["a1"]
    assert bid_record.documents_hash == DOCS_2 and bid_record.confirmations[0].at == T0 + 3


def test_a_refused_submission_uses_up_its_id_a_refused_withdrawal_does_not():
    state = folded(created())
    for kind in (ev.SubmissionKind.SUBMITTED, ev.SubmissionKind.WITHDRAWN):
        evolve(state, ev.SubmissionRefused(at=T0 + 1, kind=kind, supplier="sup-a", bid_id=str(kind),
                                           reason=Reason.NOT_SEALED, role=Role.SUPPLIER,
                                           party="sup-a"))
    assert state.refused == {"sup-a": {"submitted": 0}} and len(state.refusals) == 2


def test_the_opening_keeps_the_record_and_the_key_and_drops_the_shares():
    state = folded(created() + [ev.SubmissionClosed(at=T0 + 5, received=0),
                                ev.OpeningStarted(at=T0 + 6)])
    assert (state.phase, state.received) == (Phase.OPENING, 0)
    evolve(state, ev.ShareAccepted(at=T0 + 7, officer="off-1", index=1, fingerprint="sha256:1",
                                   presented=1))
    evolve(state, ev.SharesMismatch(at=T0 + 7, officers=("off-1", "off-2")))
    assert state.mismatch == ("off-1", "off-2")
    assert state.shares["off-1"] == ShareRecord(fingerprint="sha256:1", index=1, at=T0 + 7)
    line = ev.OpenedBid(supplier="sup-a", name="A Ltd", bid_id="a1", commitment="sha256:1",
                        received_at=T0 + 1, prices=(ev.LotPrice("L1", 5),))
    evolve(state, ev.TenderOpened(at=T0 + 8, private_key=b"k" * 32, officers=("off-1", "off-3"),
                                  record=(line,)))
    assert (state.phase, state.private_key, state.opened_by, state.record, state.shares,
            state.mismatch) == (Phase.EVALUATION, b"k" * 32, ("off-1", "off-3"), [line], {}, ())


def whole_tender():
    run = published()
    run.do(ask("sup-a", "q1", "Which grade?", T0 + 1))
    run.do(answer("sup-a", "q1", "Grade A.", T0 + 2))
    run.do(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 3))
    run.do(revise("sup-a", "a2", "a1", {"L1": 3_900_000}, T0 + 4))
    run.do(bid("sup-b", "b1", {"L1": 3_800_000, "L2": 1_000_000}, T0 + 5))
    run.do(bid("sup-c", "c1", {"L2": 900_000}, T0 + 6))
    run.do(withdraw("sup-c", "c1", T0 + 7))
    run.do(change(T0 + 8))
    run.do(confirm("sup-b", "b1", T0 + 9))
    run.try_(bid("sup-c", "c2", {"L1": 1}, T0 + 60 * DAY))  # late: recorded
    run.close().start_opening().open()
    run.do(qualify("sup-b", OPENING + DAY))
    run.do(decide_award(OPENING + DAY))
    run.do(complain("sup-b", "c1", OPENING + 2 * DAY))
    run.do(resolve("sup-b", "c1", OPENING + 3 * DAY))
    run.do(tick(OPENING + 20 * DAY))
    return run


def test_the_whole_tender_replays_to_the_same_state_byte_for_byte():
    run = whole_tender()
    assert run.state.phase is Phase.AWARDED and run.state.seq == len(run.log)
    assert "sup-a" not in run.state.opened()  # its revision stood on the old documents
    replayed = folded(run.log)
    assert state_bytes(replayed) == state_bytes(run.state)
    assert state_bytes(restore(state_bytes(run.state))) == state_bytes(run.state)
    decoded = [FORMAT.decode_event(FORMAT.encode_event(e)) for e in run.log]
    assert decoded == run.log
    assert state_bytes(folded(decoded)) == state_bytes(run.state)


def test_a_complaint_holds_and_its_resolution_moves_the_standstill():
    run = opened()
    for party in ("sup-a", "sup-b", "sup-c"):
        run.do(qualify(party, OPENING + 1))
    run.do(decide_award(OPENING + 2))
    end = run.state.standstill_ends_at
    run.do(complain("sup-a", "c1", OPENING + 3))
    assert run.state.held_at == OPENING + 3 and FORMAT.next_deadline(run.state) is None
    run.do(resolve("sup-a", "c1", OPENING + 3 + DAY))
    assert run.state.held_at is None and run.state.standstill_ends_at == end + DAY
    assert FORMAT.next_deadline(run.state) == end + DAY


@pytest.mark.parametrize("event_type", list(get_args(ev.Event)))
def test_every_event_has_a_delivery(event_type):
    assert isinstance(ev.EVENT_TABLE[event_type][0], Delivery)


def test_the_listings_updated_at_moves_with_what_it_shows_never_with_a_bid():
    """``summary().updated_at`` is the time of the last event that changed a listed field (the
    title, the phase, the invitations): submissions, revisions, withdrawals, questions and a
    change of the documents leave it, so a listing written again after them (a restart) tells
    nobody that a supplier bid then."""
    run = Run(suppliers=("sup-a",))
    assert FORMAT.summary(run.state).updated_at == T0 - DAY  # the invitation
    run.do(InviteSupplier(actor=BUYER, at=T0 - DAY + 5, supplier="sup-b", name="B"))
    run.publish(T0)
    assert FORMAT.summary(run.state).updated_at == T0
    run.do(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + DAY))
    run.do(revise("sup-a", "a2", "a1", {"L1": 3_900_000}, T0 + DAY + 1))
    run.do(bid("sup-b", "b1", {"L1": 4_100_000}, T0 + DAY + 2))
    run.do(withdraw("sup-b", "b1", T0 + DAY + 3))
    run.do(ask("sup-a", "q1", "Grain?", T0 + DAY + 4))
    run.do(change(T0 + DAY + 5))
    run.do(confirm("sup-a", "a2", T0 + DAY + 6))
    assert FORMAT.summary(run.state).updated_at == T0
    run.do(tick(ENQUIRY_END))
    assert FORMAT.summary(run.state).updated_at == ENQUIRY_END  # the phase moved
    assert FORMAT.summary(folded(run.log)) == FORMAT.summary(run.state)
    assert FORMAT.summary(restore(state_bytes(run.state))) == FORMAT.summary(run.state)


def test_every_change_of_phase_seals_a_signed_head_at_once():
    """The audit log gets a signed tree head as soon as the tender changes phase (and when a
    complaint is resolved, which may withdraw the award decision), not only at the interval: the
    last one, the final award, is never loaded again to sign a tail left unsigned."""
    log = whole_tender().log
    state, changed = TenderState.new(TENDER), []
    for event in log:
        before = state.phase
        evolve(state, event)
        if state.phase is not before and before is not Phase.NEW:  # created: a draft, unsigned
            changed.append(type(event))
    sealing = [type(e) for e in log if FORMAT.seals_head(e)]
    assert changed == [t for t in sealing if t is not ev.ComplaintResolved]
    assert ev.ComplaintResolved in sealing and ev.AwardFinal in sealing
    assert not any(FORMAT.seals_head(e) for e in log if isinstance(e, ev.BidSubmitted))
