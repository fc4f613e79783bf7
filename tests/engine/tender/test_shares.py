"""Presented key shares: journaled by fingerprint only, held in the room's memory until the opening,
presented again after a restart (``engine.tender.shares``)."""

from __future__ import annotations

from bidserver.engine.rejections import Reason
from bidserver.engine.tender import FORMAT, Phase, state_bytes
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.commands import PresentShare
from bidserver.engine.tender.shares import fingerprint, remember, with_memory
from bidserver.sealing.shamir import share_from_text

from .builders import (
    OPENING, OTHER_SHARES, SHARES, T0, cancel, decide_award, of_type, officer, share,
    with_bids,
)


def opening():
    return with_bids().close().start_opening()


def secrets(text: str) -> list[bytes]:
    """The ways a share could be written down: its text, and its value in hex and raw."""
    value = share_from_text(text).value
    return [text.encode(), value.hex().encode(), value]


def test_the_journal_and_the_state_hold_fingerprints_never_shares():
    run = opening()
    (accepted,) = run.do(share("off-1", 0, OPENING + 1))
    assert accepted == ev.ShareAccepted(at=OPENING + 1, officer="off-1", index=1,
                                        fingerprint=fingerprint(share_from_text(SHARES[0])),
                                        presented=1)
    assert run.memory == {"off-1": SHARES[0]}  # the room's, never written anywhere
    written = b"".join(FORMAT.encode_event(event) for event in run.log) + state_bytes(run.state)
    assert not any(secret in written for secret in secrets(SHARES[0]))


def test_k_shares_held_open_the_bids_and_the_memory_is_emptied():
    run = opening()
    run.do(share("off-1", 0, OPENING + 1))
    events = run.do(share("off-3", 2, OPENING + 2))
    assert of_type(events, ev.TenderOpened)[0].officers == ("off-1", "off-3")
    assert run.state.phase is Phase.EVALUATION and run.memory == {}


def test_after_a_restart_the_officers_who_presented_present_again_and_it_opens():
    run = opening()
    run.do(share("off-1", 0, OPENING + 1))
    run.restart()  # the journal has off-1's fingerprint; nobody holds its share
    events = run.do(share("off-2", 1, OPENING + 2))
    assert [type(e) for e in events] == [ev.ShareAccepted]  # two journaled, one held: no mismatch
    assert run.state.phase is Phase.OPENING and run.state.mismatch == ()
    opened = run.do(share("off-1", 0, OPENING + 3))  # the same share again: nothing new journaled
    assert [type(e) for e in opened] == [ev.TenderOpened]
    assert opened[0].officers == ("off-1", "off-2")


def test_a_share_presented_again_alone_is_held_again_without_an_event():
    run = opening()
    run.do(share("off-1", 0, OPENING + 1))
    run.restart()
    assert run.do(share("off-1", 0, OPENING + 2)) == []
    assert run.memory == {"off-1": SHARES[0]}
    assert run.try_(share("off-1", 0, OPENING + 3)).rejection.reason is Reason.ALREADY_PRESENTED
    assert of_type(run.do(share("off-2", 1, OPENING + 4)), ev.TenderOpened)


def test_another_share_from_an_officer_who_presented_is_refused_restart_or_not():
    run = opening()
    run.do(share("off-1", 0, OPENING + 1))
    for restarted in (False, True):
        if restarted:
            run.restart()
        for other in (SHARES[2], OTHER_SHARES[0]):
            command = PresentShare(actor=officer("off-1"), at=OPENING + 2, share=other)
            outcome = run.try_(command)
            assert outcome.rejection.reason is Reason.ALREADY_PRESENTED
            assert [type(e) for e in outcome.events] == [ev.ShareRefused]
            assert other not in repr(outcome.events)
    assert run.state.phase is Phase.OPENING and set(run.state.shares) == {"off-1"}


def test_only_what_the_journal_vouches_for_is_combined():
    """The memory beyond the journal (a share whose write failed, a changed text) opens nothing."""
    run = opening()
    run.do(share("off-1", 0, OPENING + 1))
    run.memory = {"off-2": SHARES[1]}  # a restart, and a share never journaled
    events = run.do(share("off-3", 2, OPENING + 2))
    assert [type(e) for e in events] == [ev.ShareAccepted]  # off-1 is not held: one share
    run.memory = {"off-1": OTHER_SHARES[0]}  # not the share off-1's fingerprint names
    assert [type(e) for e in run.do(share("off-2", 1, OPENING + 3))] == [ev.ShareAccepted]
    assert run.state.phase is Phase.OPENING
    assert of_type(run.do(share("off-1", 0, OPENING + 4)), ev.TenderOpened)


def test_a_second_share_of_one_index_is_refused_from_the_journal_alone():
    run = opening()
    run.do(share("off-1", 0, OPENING + 1))
    run.restart()
    outcome = run.try_(share("off-2", 0, OPENING + 2))
    assert outcome.rejection.reason is Reason.INVALID_SHARE


def test_replaying_the_journal_gives_the_same_state():
    run = opening()
    run.do(share("off-1", 0, OPENING + 1))
    run.restart()
    run.try_(share("off-1", 2, OPENING + 2))  # refused, recorded
    run.do(share("off-2", 1, OPENING + 3))
    run.do(share("off-1", 0, OPENING + 4))
    assert run.state.phase is Phase.EVALUATION
    assert state_bytes(FORMAT.replay(run.state.auction_id, run.log)) == state_bytes(run.state)


def test_the_hooks_touch_only_shares_and_a_cancellation_forgets():
    memory = {"off-1": SHARES[0]}
    award = decide_award(T0)
    assert with_memory(award, memory) is award
    attached = with_memory(share("off-2", 1, OPENING), memory)
    assert attached.held == memory and attached.held is not memory
    remember(memory, award, [])
    assert memory == {"off-1": SHARES[0]}
    remember(memory, cancel(OPENING), [ev.TenderCancelled(at=OPENING, reason="x")])
    assert memory == {}
