"""Signed bids: a supplier signs its sealed bid with its organisation's registered key; the engine
checks the signature at submission, keeps it with the bid, shows it to its author alone until the
opening record shows it (and the key that checks it) to everyone."""

from __future__ import annotations

import msgspec

from bidserver.engine.rejections import Reason
from bidserver.engine.tender import FORMAT, state_bytes, view_for, you
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.commands import InviteSupplier, ReviseBid
from bidserver.sealing.bid_signature import BidStatement, verify_bid_signature

from .builders import (
    BUYER, DAY, OBSERVER, SIGNING, SUITE, SUPPLIERS, T0, Run, bid, config, evaluator, officer,
    published, refused, sealed, signature, signed_bid, supplier,
)

EVERYONE = (BUYER, officer("off-1"), evaluator("ev-1"), OBSERVER, *(supplier(s) for s in SUPPLIERS))


def keyed(cfg=None) -> Run:
    """A published tender whose suppliers sup-a and sup-b are invited with their signing keys."""
    return published(cfg, signing=("sup-a", "sup-b"))


def test_a_valid_signature_is_accepted_and_kept_with_the_bid():
    run = keyed()
    command = signed_bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1)
    (event,) = run.do(command)
    assert event.signature == command.signature
    assert run.state.bids["sup-a"]["a1"].signature == command.signature


def test_a_bad_signature_is_refused_with_its_reason_and_recorded():
    run = keyed()
    command = signed_bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1)
    other = bid("sup-a", "x", {"L1": 1}, T0 + 1)  # another sealed bid: another commitment
    forgeries = {
        "tampered commitment": msgspec.structs.replace(command, sealed=other.sealed,
                                                       commitment=other.commitment),
        "wrong key": signed_bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1,
                                private=SIGNING["sup-b"][0]),
        "another tender's": signed_bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1, tender="tnd-2"),
        "another bid id's": msgspec.structs.replace(
            command, signature=signature("sup-a", "a0", command.commitment)),
        "not a signature": msgspec.structs.replace(command, signature=b"\x00" * 3),
    }
    for name, forged in forgeries.items():
        rejection = refused(run.state, forged)
        assert rejection.reason is Reason.BAD_SIGNATURE, name
    outcome = run.try_(forgeries["wrong key"])
    (record,) = outcome.events
    assert isinstance(record, ev.SubmissionRefused) and record.reason is Reason.BAD_SIGNATURE
    assert "sup-a" not in run.state.current


def test_another_suppliers_signature_does_not_pass_for_its_own():
    """sup-b's valid signature over sup-b's statement, replayed by sup-a on the same bytes."""
    run = keyed()
    command = bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1)
    theirs = signature("sup-b", "a1", command.commitment)
    rejection = refused(run.state, msgspec.structs.replace(command, signature=theirs))
    assert rejection.reason is Reason.BAD_SIGNATURE


def test_a_supplier_without_a_registered_key_cannot_sign():
    run = keyed()
    rejection = refused(run.state, signed_bid("sup-c", "c1", {"L1": 1}, T0 + 1))
    assert rejection.reason is Reason.NO_SIGNING_KEY


def test_unsigned_bids_pass_unless_the_tender_requires_signed_ones():
    run = keyed()
    run.do(bid("sup-a", "a1", {"L1": 1}, T0 + 1))
    required = keyed(config(signed_bids_required=True))
    assert refused(required.state, bid("sup-a", "a1", {"L1": 1}, T0 + 1)).reason \
        is Reason.SIGNATURE_REQUIRED
    assert refused(required.state, bid("sup-c", "c1", {"L1": 1}, T0 + 1)).reason \
        is Reason.SIGNATURE_REQUIRED  # invited without a key: cannot bid at all
    required.do(signed_bid("sup-a", "a1", {"L1": 1}, T0 + 1))


def test_a_revision_is_signed_over_its_own_bid_id_and_commitment():
    run = keyed(config(signed_bids_required=True))
    run.do(signed_bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1))
    blob = sealed("sup-a", {"L1": 3_900_000})
    commitment = SUITE.commitment(blob)
    revision = ReviseBid(actor=supplier("sup-a"), at=T0 + 2, bid_id="a2", replaces="a1",
                         sealed=blob, commitment=commitment)
    assert refused(run.state, revision).reason is Reason.SIGNATURE_REQUIRED
    stale = msgspec.structs.replace(revision, signature=signature("sup-a", "a1", commitment))
    assert refused(run.state, stale).reason is Reason.BAD_SIGNATURE
    good = msgspec.structs.replace(revision, signature=signature("sup-a", "a2", commitment))
    run.do(good)
    assert run.state.bids["sup-a"]["a2"].signature == good.signature


def _opened_with_signed_bids() -> tuple[Run, dict]:
    run = keyed()
    commands = {"sup-a": signed_bid("sup-a", "a1", {"L1": 4_000_000}, T0 + DAY),
                "sup-b": bid("sup-b", "b1", {"L1": 3_800_000}, T0 + DAY + 1),
                "sup-c": bid("sup-c", "c1", {"L1": 4_200_000}, T0 + DAY + 2)}
    for command in commands.values():
        run.do(command)
    return run, commands


def test_the_opening_record_shows_the_signature_and_its_key_to_everyone():
    run, commands = _opened_with_signed_bids()
    run.close().start_opening().open()
    lines = {line.supplier: line for line in run.state.record}
    a = lines["sup-a"]
    assert a.signature == commands["sup-a"].signature and a.signing_key == SIGNING["sup-a"][1]
    assert verify_bid_signature(SUITE, a.signing_key, BidStatement(
        bid_id=a.bid_id, commitment=a.commitment, supplier=a.supplier, tender_id=run.state.auction_id,
    ), a.signature)
    assert lines["sup-b"].signature is None and lines["sup-b"].signing_key is None  # unsigned
    for actor in EVERYONE:
        opening = view_for(run.state, actor).opening
        assert {line.supplier: line.signature for line in opening.record}["sup-a"] == a.signature


def test_before_the_opening_the_signature_is_its_authors_alone():
    run, commands = _opened_with_signed_bids()
    run.close()
    signature_bytes = commands["sup-a"].signature
    assert you(run.state, supplier("sup-a")).bid.signature == signature_bytes
    assert you(run.state, supplier("sup-b")).bid.signature is None
    for actor in EVERYONE:
        told = [FORMAT.shown_to(run.state, e, actor) for e in run.log]
        told.append(view_for(run.state, actor))
        told.append(you(run.state, actor))
        data = msgspec.json.encode(told)
        assert (msgspec.json.encode(signature_bytes)[1:-1] in data) is (actor == supplier("sup-a")), actor


def test_signed_bids_replay_to_the_same_state():
    run, _ = _opened_with_signed_bids()
    run.close().start_opening().open()
    encoded = [ev.encode_event(e) for e in run.log]
    replayed = FORMAT.replay(run.state.auction_id, [ev.decode_event(data) for data in encoded])
    assert state_bytes(replayed) == state_bytes(run.state)


def test_an_invitation_registers_only_a_key_of_the_tenders_suite():
    run = Run(suppliers=())
    command = InviteSupplier(actor=BUYER, at=T0 - DAY, supplier="sup-a", signing_key=b"\x01" * 31)
    rejection = refused(run.state, command)
    assert (rejection.reason, rejection.field) == (Reason.INVALID_CONFIG, "signing_key")
    run.do(msgspec.structs.replace(command, signing_key=SIGNING["sup-a"][1]))
    assert run.state.suppliers["sup-a"].signing_key == SIGNING["sup-a"][1]
