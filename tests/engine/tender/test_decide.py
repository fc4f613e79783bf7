"""``decide`` for the sealed tender, with the time passed in and real sealed bids: publication,
enquiries, submissions (revised, withdrawn, confirmed after a change of the documents, refused and
recorded, a late one among them), the deadline, the transition table (a miss names the command and
the phase) and every reason only a tender gives. The opening and what follows it are in
``test_award``. ``refused`` also checks that a refusal leaves the state untouched."""

from __future__ import annotations

import pytest

from bidserver.engine.rejections import Reason
from bidserver.engine.tender import Phase, TenderState, decide, state_bytes
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.commands import (
    CreateTender, InviteSupplier, PresentShare, Publish, SubmitBid, Tick, UpdateTender,
)
from bidserver.engine.tender.state import BidStatus

from .builders import (
    BUYER, DAY, DEADLINE, DOCS, DOCS_2, ENQUIRY_END, NAMES, OBSERVER, OPENING, OTHER_BUYER, SIGNING,
    STAGES,
    STANDSTILL_END, T0, TENDER, TENDER_REASONS, Run, answer, ask, bid, cancel, change, complain,
    config, confirm, decide_award, declare, follow_on, officer, published, qualify, refused,
    resolve, revise, score, sealed, share, signed_bid, stage, standing, submit, supplier, then,
    tick, with_bids, withdraw,
)

# ================================================================== preparation


def test_only_a_buyer_creates_a_tender_and_only_once():
    state = TenderState.new(TENDER)
    create = CreateTender(actor=supplier("sup-a"), at=T0, tender_id=TENDER, config=config())
    assert refused(state, create).reason is Reason.FORBIDDEN
    run = Run()
    assert (run.state.phase, run.state.buyer) == (Phase.DRAFT, "org-buyer")
    again = CreateTender(actor=BUYER, at=T0, tender_id=TENDER, config=config())
    assert refused(run.state, again).reason is Reason.ALREADY_EXISTS


def test_invitations_until_the_deadline():
    run = published()
    assert refused(run.state, InviteSupplier(actor=BUYER, at=T0, supplier="sup-a")).reason is (
        Reason.ALREADY_INVITED)
    run.do(InviteSupplier(actor=BUYER, at=T0 + 1, supplier="sup-d", name="D Ltd"))
    late = InviteSupplier(actor=BUYER, at=DEADLINE, supplier="sup-e")
    assert refused(run.state, late).reason is Reason.DEADLINE_PASSED


def test_publication_starts_the_enquiries_and_the_bids():
    run = Run().publish(T0)
    assert (run.state.phase, run.state.published_at) == (Phase.PUBLISHED, T0)
    assert refused(run.state, Publish(actor=BUYER, at=T0 + 1)).reason is Reason.WRONG_PHASE


# ================================================================== enquiries


def test_a_question_is_answered_to_everyone_with_a_number_and_without_the_asker():
    run = published()
    run.do(ask("sup-b", "q1", "Is delivery by rail acceptable?", T0 + 1))
    run.do(ask("sup-a", "q1", "Which salt grade?", T0 + 2))  # the same id, another supplier's
    events = run.do(answer("sup-a", "q1", "EN 16811-1 grade A.", T0 + 3))
    assert events == [ev.QuestionAnswered(at=T0 + 3, number=1, supplier="sup-a", question_id="q1",
                                          question="Which salt grade?", answer="EN 16811-1 grade A.",
                                          user="clerk")]
    run.do(answer("sup-b", "q1", "Yes.", T0 + 4))
    assert run.state.questions["sup-b"]["q1"].number == 2


def test_question_refusals():
    run = published()
    run.do(ask("sup-a", "q1", "Which grade?", T0 + 1))
    assert run.do(ask("sup-a", "q1", "Which grade?", T0 + 2)) == []  # a resend
    assert refused(run.state, ask("sup-a", "q1", "Other?", T0 + 2)).reason is Reason.ALREADY_EXISTS
    assert refused(run.state, ask("sup-z", "q9", "?", T0 + 2)).reason is Reason.NOT_INVITED
    assert refused(run.state, ask("sup-a", "q2", "?", ENQUIRY_END)).reason is Reason.ENQUIRIES_CLOSED
    assert refused(run.state, answer("sup-a", "q9", "x", T0 + 3)).reason is Reason.UNKNOWN_QUESTION
    assert refused(run.state, answer("sup-a", "q1", "x", T0 + 3, actor=supplier("sup-b"))).reason is (
        Reason.FORBIDDEN)
    run.do(answer("sup-a", "q1", "Grade A.", T0 + 3))
    assert refused(run.state, answer("sup-a", "q1", "again", T0 + 4)).reason is Reason.ALREADY_ANSWERED


def test_the_enquiry_period_ends_on_the_tick_and_bids_go_on():
    run = published()
    assert run.do(tick(ENQUIRY_END - 1)) == []
    assert run.do(tick(ENQUIRY_END)) == [ev.EnquiriesClosed(at=ENQUIRY_END)]
    assert run.state.phase is Phase.SUBMISSION
    assert refused(run.state, ask("sup-a", "q1", "?", ENQUIRY_END + 1)).reason is Reason.ENQUIRIES_CLOSED
    run.do(bid("sup-a", "a1", {"L1": 4_000_000}, ENQUIRY_END + 1))


# ================================================================== sealed bids


def test_a_sealed_bid_is_received_with_its_commitment_and_exact_time():
    run = published()
    command = bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 5)
    (event,) = run.do(command)
    assert event == ev.BidSubmitted(at=T0 + 5, supplier="sup-a", bid_id="a1", sealed=command.sealed,
                                    commitment=command.commitment, user="sup-a-person")
    record = run.state.bids["sup-a"]["a1"]
    assert (record.at, record.seq, record.documents_hash, run.state.current) == (
        T0 + 5, run.state.seq, DOCS, {"sup-a": "a1"})


@pytest.mark.parametrize("blob", [
    b'{"tender_id":"tnd-1","supplier":"sup-a","lots":[{"lot_id":"L1","amount":4000000}]}' * 20,
    b"price: 4000000 EUR".ljust(1024 + 48),  # the right size, but text
    b"\x80" * 1000,  # not the size of a sealed bid
])
def test_a_plaintext_or_malformed_bid_is_refused_and_recorded(blob):
    run = published()
    outcome = run.try_(submit("sup-a", "a1", blob, T0 + 5))
    assert outcome.rejection.reason is Reason.NOT_SEALED
    (record,) = outcome.events
    assert (type(record), record.kind, record.reason, record.at) == (
        ev.SubmissionRefused, ev.SubmissionKind.SUBMITTED, Reason.NOT_SEALED, T0 + 5)
    assert not hasattr(record, "sealed") and run.state.current == {}
    # the id is used up by its refusal: a resend gets the same answer, another bid under it not
    assert refused(run.state, submit("sup-a", "a1", blob, T0 + 6)).reason is Reason.NOT_SEALED
    other = bid("sup-a", "a1", {"L1": 1}, T0 + 6)
    assert refused(run.state, other).reason is Reason.DUPLICATE_BID_ID


def test_a_commitment_that_is_not_the_sealed_bytes_digest_is_refused():
    run = published()
    blob = sealed("sup-a", {"L1": 4_000_000})
    command = submit("sup-a", "a1", blob, T0 + 5, commitment="sha256:" + "0" * 64)
    assert run.try_(command).rejection.reason is Reason.COMMITMENT_MISMATCH


def test_a_late_bid_is_refused_and_recorded_at_its_exact_time_before_and_after_the_tick():
    run = published()
    outcome = run.try_(bid("sup-a", "a1", {"L1": 4_000_000}, DEADLINE))  # the end is exclusive
    assert outcome.rejection.reason is Reason.DEADLINE_PASSED
    assert outcome.events[0].at == DEADLINE and outcome.events[0].reason is Reason.DEADLINE_PASSED
    run.close()
    outcome = run.try_(bid("sup-b", "b1", {"L1": 3_000_000}, DEADLINE + 7))
    assert outcome.rejection.reason is Reason.DEADLINE_PASSED and outcome.events[0].at == DEADLINE + 7


def test_a_resent_bid_is_answered_as_received_even_after_the_deadline():
    run = published()
    command = bid("sup-a", "a1", {"L1": 4_000_000}, DEADLINE - 1)
    run.do(command)
    run.close()
    late_resend = SubmitBid(actor=command.actor, at=DEADLINE + 5, bid_id="a1", sealed=command.sealed,
                            commitment=command.commitment)
    assert decide(run.state, late_resend) == []
    assert refused(run.state, bid("sup-a", "a1", {"L1": 1}, DEADLINE + 5)).reason is (
        Reason.DUPLICATE_BID_ID)


def test_bid_ids_are_each_suppliers_own():
    run = published()
    run.do(bid("sup-a", "b1", {"L1": 4_000_000}, T0 + 1))
    run.do(bid("sup-b", "b1", {"L1": 3_000_000}, T0 + 2))  # no collision, so nothing told
    assert set(run.state.current.items()) == {("sup-a", "b1"), ("sup-b", "b1")}


def test_a_second_submission_is_refused_a_revision_replaces_the_bid():
    run = published()
    run.do(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1))
    assert refused(run.state, bid("sup-a", "a2", {"L1": 3_900_000}, T0 + 2)).reason is (
        Reason.ALREADY_EXISTS)
    (event,) = run.do(revise("sup-a", "a2", "a1", {"L1": 3_900_000}, T0 + 3))
    assert event.replaces == "a1" and run.state.current["sup-a"] == "a2"
    assert run.state.bids["sup-a"]["a1"].status is BidStatus.REPLACED
    assert refused(run.state, revise("sup-a", "a3", "a1", {"L1": 1}, T0 + 4)).reason is Reason.UNKNOWN_BID
    late = revise("sup-a", "a3", "a2", {"L1": 1}, DEADLINE)
    assert refused(run.state, late).reason is Reason.DEADLINE_PASSED


def test_a_withdrawal_until_the_deadline_then_a_new_bid():
    run = published()
    run.do(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1))
    assert run.do(withdraw("sup-a", "a1", T0 + 2))[0] == ev.BidWithdrawn(
        at=T0 + 2, supplier="sup-a", bid_id="a1", user="sup-a-person")
    assert run.state.current == {} and run.do(withdraw("sup-a", "a1", DEADLINE + 1)) == []
    assert refused(run.state, withdraw("sup-a", "zz", T0 + 3)).reason is Reason.UNKNOWN_BID
    run.do(bid("sup-a", "a2", {"L1": 3_900_000}, T0 + 4))
    outcome = run.try_(withdraw("sup-a", "a2", DEADLINE))
    assert outcome.rejection.reason is Reason.DEADLINE_PASSED
    assert outcome.events[0].kind is ev.SubmissionKind.WITHDRAWN


def test_changed_documents_need_each_bid_confirmed():
    run = published()
    run.do(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1))
    run.do(bid("sup-b", "b1", {"L1": 3_900_000}, T0 + 2))
    (event,) = run.do(change(T0 + 3))
    assert event.documents_hash == DOCS_2 and run.state.config.documents_hash == DOCS_2
    assert refused(run.state, confirm("sup-a", "a1", T0 + 4, documents_hash=DOCS)).reason is (
        Reason.STALE_DOCUMENTS)
    run.do(confirm("sup-a", "a1", T0 + 4))
    assert run.do(confirm("sup-a", "a1", T0 + 5)) == []  # a resend
    assert run.state.bids["sup-a"]["a1"].documents_hash == DOCS_2
    assert run.state.bids["sup-b"]["b1"].documents_hash == DOCS  # unconfirmed
    run.close().start_opening().open()
    lines = {line.supplier: line for line in run.state.record}
    assert lines["sup-a"].failed is None
    assert "not confirmed" in lines["sup-b"].failed and lines["sup-b"].prices == ()


def test_document_change_refusals():
    run = published()
    assert refused(run.state, change(T0 + 1, documents_hash=DOCS)).field == "documents_hash"
    assert refused(run.state, change(T0 + 1, submission_deadline_at=DEADLINE - 1)).field == (
        "submission_deadline_at")
    assert refused(run.state, change(T0 + 1, opening_at=DEADLINE - 1)).field == "opening_at"
    assert refused(run.state, change(DEADLINE)).reason is Reason.DEADLINE_PASSED
    run.do(change(T0 + 1, submission_deadline_at=DEADLINE + DAY))
    assert (run.state.config.schedule.submission_deadline_at, run.state.config.schedule.opening_at) == (
        DEADLINE + DAY, OPENING + DAY)


# ================================================================== the deadline


def test_the_deadline_tick_tells_the_number_of_bids_and_the_opening_tick_follows():
    run = with_bids()
    run.do(withdraw("sup-c", "sup-c-1", T0 + 2 * DAY))
    run.do(tick(ENQUIRY_END))
    assert run.do(tick(DEADLINE)) == [ev.SubmissionClosed(at=DEADLINE, received=2)]
    assert run.state.phase is Phase.CLOSED and run.do(tick(OPENING - 1)) == []
    assert run.do(tick(OPENING)) == [ev.OpeningStarted(at=OPENING)]
    assert run.state.phase is Phase.OPENING


def test_a_late_tick_does_every_transition_due_in_order():
    run = with_bids()
    events = run.do(tick(OPENING + 5))
    assert [type(e) for e in events] == [ev.EnquiriesClosed, ev.SubmissionClosed, ev.OpeningStarted]


@pytest.mark.parametrize(("bids", "min_bidders", "outcome"), [
    (0, 1, Phase.UNSUCCESSFUL), (2, 3, Phase.UNSUCCESSFUL), (3, 3, Phase.CLOSED)])
def test_fewer_bids_than_the_minimum_at_the_deadline_is_unsuccessful(bids, min_bidders, outcome):
    run = published(config(min_bidders=min_bidders))
    for party in list(NAMES)[:bids]:
        run.do(bid(party, "x", {"L1": 4_000_000}, T0 + 1))
    run.close()
    assert run.state.phase is outcome
    if outcome is Phase.UNSUCCESSFUL:
        assert run.state.finished and f"{bids} bid(s)" in run.state.ended_reason


# ================================================================== the table

AT = OPENING + 3 * DAY
COMMANDS = {
    "CreateTender": lambda: CreateTender(actor=BUYER, at=AT, tender_id=TENDER, config=config()),
    "UpdateTender": lambda: UpdateTender(actor=BUYER, at=AT, config=config()),
    "InviteSupplier": lambda: InviteSupplier(actor=BUYER, at=T0, supplier="sup-new"),
    "Publish": lambda: Publish(actor=BUYER, at=T0),
    "ChangeDocuments": lambda: change(T0 + 1),
    "AskQuestion": lambda: ask("sup-a", "q1", "?", T0 + 1),
    "AnswerQuestion": lambda: answer("sup-a", "q1", "!", T0 + 1),
    "SubmitBid": lambda: bid("sup-a", "new-id", {"L1": 1}, T0 + 1),
    "ReviseBid": lambda: revise("sup-a", "new-id", "sup-a-1", {"L1": 1}, T0 + 1),
    "WithdrawBid": lambda: withdraw("sup-a", "sup-a-1", T0 + 1),
    "ConfirmBid": lambda: confirm("sup-a", "sup-a-1", T0 + 1),
    "Tick": lambda: tick(T0 + 1),
    "PresentShare": lambda: share("off-1", 0, AT),
    "Qualify": lambda: qualify("sup-a", AT),
    "Score": lambda: score("ev-1", "sup-a", "quality", 50, AT),
    "DecideAward": lambda: decide_award(AT),
    "StartFollowOnAuction": lambda: follow_on(AT),
    "Complaint": lambda: complain("sup-a", "c1", AT),
    "ResolveComplaint": lambda: resolve("sup-a", "c1", AT),
    "CancelTender": lambda: cancel(AT),
    "SetSupplierStanding": lambda: standing("sup-b", AT),
    "DeclareInterests": lambda: declare("ev-1", AT),
}
LIVE = {"draft", "published", "submission", "closed", "opening", "evaluation", "standstill"}
ANY = set(STAGES) - {"new"}
HANDLED = {
    "CreateTender": {"new"},
    "UpdateTender": {"draft"},
    "InviteSupplier": {"draft", "published", "submission"},
    "Publish": {"draft"},
    "ChangeDocuments": {"published", "submission"},
    "AskQuestion": {"published"},
    "AnswerQuestion": {"published", "submission"},
    "SubmitBid": ANY, "ReviseBid": ANY, "WithdrawBid": ANY, "ConfirmBid": ANY, "Tick": ANY,
    "PresentShare": {"published", "submission", "closed", "opening"},
    "Qualify": {"evaluation"}, "Score": {"evaluation"}, "DecideAward": {"evaluation"},
    "StartFollowOnAuction": {"evaluation"},
    "Complaint": {"standstill"}, "ResolveComplaint": {"standstill"},
    "CancelTender": LIVE,
    "SetSupplierStanding": LIVE, "DeclareInterests": LIVE,
}


def _miss_reason(name: str, stage: str) -> Reason:
    if stage == "new":
        return Reason.UNKNOWN_AUCTION
    if name == "CreateTender":
        return Reason.ALREADY_EXISTS
    if name == "UpdateTender":
        return Reason.CONFIG_LOCKED
    if name == "AskQuestion" and stage != "draft":
        return Reason.ENQUIRIES_CLOSED
    return Reason.WRONG_PHASE


@pytest.mark.parametrize("phase", list(STAGES))
@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_table_miss_names_the_command_and_the_phase(phase, name):
    state = stage(phase)
    command = COMMANDS[name]()
    decision = decide(state, command)
    if phase in HANDLED[name]:
        assert isinstance(decision, list) or "is not possible while" not in decision.detail
        return
    rejection = refused(state, command)
    assert rejection.reason is _miss_reason(name, phase), rejection
    assert name in rejection.detail
    assert phase in rejection.detail or (phase == "new" and "no such tender" in rejection.detail)


BUYER_COMMANDS = ("UpdateTender", "InviteSupplier", "Publish", "ChangeDocuments", "AnswerQuestion",
                  "Qualify", "DecideAward", "StartFollowOnAuction", "ResolveComplaint",
                  "CancelTender")


@pytest.mark.parametrize("name", BUYER_COMMANDS)
@pytest.mark.parametrize("actor", [supplier("sup-a"), OBSERVER, OTHER_BUYER])
def test_nobody_but_the_tenders_buyer_takes_a_buyer_action(name, actor):
    state = stage("published")
    command = COMMANDS[name]()
    forged = type(command)(**{**{f: getattr(command, f) for f in command.__struct_fields__},
                              "actor": actor})
    assert refused(state, forged).reason is Reason.FORBIDDEN


def test_ticks_come_from_the_server_only():
    state = stage("published")
    assert refused(state, Tick(actor=BUYER, at=DEADLINE)).reason is Reason.FORBIDDEN


def test_decide_never_mutates_the_state_even_when_it_accepts():
    run = with_bids().close().start_opening()
    run.do(share("off-1", 0, OPENING + 1))
    before = state_bytes(run.state)
    for command in (share("off-2", 1, OPENING + 2), cancel(OPENING + 2), tick(OPENING + 3)):
        assert isinstance(decide(run.state, command), list)
        assert state_bytes(run.state) == before



# ================================================================== every reason is reachable

def _scenario(reason: Reason) -> tuple[TenderState, object]:
    """A state and a command refused with ``reason``."""
    match reason:
        case Reason.WRONG_PHASE:
            return stage("evaluation"), Publish(actor=BUYER, at=AT)
        case Reason.DEADLINE_PASSED:
            return stage("closed"), bid("sup-a", "late", {"L1": 1}, DEADLINE + 1)
        case Reason.NOT_SEALED:
            return stage("published"), submit("sup-a", "p", b"L1: 4000000 EUR", T0 + 1)
        case Reason.COMMITMENT_MISMATCH:
            return stage("published"), submit("sup-a", "p", sealed("sup-a", {"L1": 1}), T0 + 1,
                                               commitment="sha256:" + "1" * 64)
        case Reason.BAD_SIGNATURE:
            return (published(signing=("sup-a",)).state,
                    signed_bid("sup-a", "p", {"L1": 1}, T0 + 1, private=SIGNING["sup-b"][0]))
        case Reason.NO_SIGNING_KEY:
            return stage("published"), signed_bid("sup-a", "p", {"L1": 1}, T0 + 1)
        case Reason.SIGNATURE_REQUIRED:
            return (published(config(signed_bids_required=True)).state,
                    bid("sup-a", "p", {"L1": 1}, T0 + 1))
        case Reason.STALE_DOCUMENTS:
            run = with_bids()
            run.do(change(T0 + DAY))
            return run.state, confirm("sup-a", "sup-a-1", T0 + DAY, documents_hash=DOCS)
        case Reason.ENQUIRIES_CLOSED:
            return stage("published"), ask("sup-a", "q", "?", ENQUIRY_END)
        case Reason.UNKNOWN_QUESTION:
            return stage("published"), answer("sup-a", "q9", "!", T0 + 1)
        case Reason.ALREADY_ANSWERED:
            run = with_bids()
            run.do(ask("sup-a", "q", "?", T0 + 1))
            run.do(answer("sup-a", "q", "!", T0 + 2))
            return run.state, answer("sup-a", "q", "!!", T0 + 3)
        case Reason.OPENING_NOT_DUE:
            return stage("closed"), share("off-1", 0, DEADLINE + 1)
        case Reason.INVALID_SHARE:
            return stage("opening"), PresentShare(actor=officer("off-1"), at=AT, share="{}")
        case Reason.ALREADY_PRESENTED:
            run = then(STAGES["opening"](), share("off-1", 0, OPENING + 1))
            return run.state, share("off-1", 1, OPENING + 2)  # another share than its own
        case Reason.INVALID_SCORE:
            return stage("evaluation"), score("ev-1", "sup-a", "colour", 50, AT)
        case Reason.EVALUATION_INCOMPLETE:
            return stage("evaluation"), decide_award(AT)
        case Reason.UNKNOWN_COMPLAINT:
            return stage("standstill"), resolve("sup-a", "c9", STANDSTILL_END - 1)
        case Reason.DECLARATION_REQUIRED:
            return Run(declared=False).publish().state, share("off-1", 0, T0 + 1)
        case Reason.CONFLICTED:
            run = Run(declared=False).publish()
            run.do(declare("off-1", T0 + 1, conflict=True, statement="I own shares of SUP-A"))
            return run.state, share("off-1", 0, T0 + 2)
        case Reason.ALREADY_DECLARED:
            return stage("published"), declare("off-1", T0 + 1)
    raise AssertionError(f"no scenario for {reason}")


@pytest.mark.parametrize("reason", TENDER_REASONS)
def test_every_tender_reason_is_reachable_and_explained(reason):
    state, command = _scenario(reason)
    rejection = refused(state, command)
    assert rejection.reason is reason and rejection.detail
