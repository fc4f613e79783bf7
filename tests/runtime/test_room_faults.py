"""A fault in a room's timer or close path never wedges the auction: it is logged (once per
streak, naming the auction), counted, and the tick is tried again with back-off until it passes.

The toy format (``toy.py``) closes when its bell rings; here its awards, built as the close is
decided, raise the first few times, as the reverse auction's OCDS award did for a lot quantity of
"Infinity" (the timer was never armed again and the auction never closed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import pytest
from prometheus_client import REGISTRY

from bidserver.failures import Failure
from bidserver.runtime import room as room_module
from bidserver.runtime.room import Room
from bidserver.store.journal import MemoryJournal

from .support import BUYER, S1, auction, writer
from .toy import TOY, Add, ToyConfig


def wall_clock() -> int:
    return int(time.time() * 1000)


class FlakyAwards:
    """The toy's awards, raising on the first ``failures`` calls that would award something."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.raised = 0

    def __call__(self, state, events):
        releases = TOY.awards(state, events)
        if releases and self.raised < self.failures:
            self.raised += 1
            raise ValueError("cannot build the award (a value the award's schema refuses)")
        return releases


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def timer_failures() -> float:
    return REGISTRY.get_sample_value("bidserver_timer_failures_total") or 0.0


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(room_module, "RETRY_FIRST_S", 0.05)
    monkeypatch.setattr(room_module, "RETRY_MAX_S", 0.2)


async def test_a_close_that_raises_is_logged_once_counted_and_retried_until_it_passes(
    quick_retries, caplog
):
    flaky = FlakyAwards(failures=4)
    fmt = dataclasses.replace(TOY, awards=flaky)
    journal = MemoryJournal()
    room = writer(journal, wall_clock, auction_id="t1", fmt=fmt)
    room.start()
    failures_before = timer_failures()
    try:
        assert (await room.submit(fmt.create(BUYER, "t1", ToyConfig(title="Bell")))).ok
        assert (await room.submit(Add(actor=S1, at=0, ref="r1", amount=5))).ok
        with caplog.at_level(logging.INFO, logger="bidserver.runtime.room"):
            await wait_for(lambda: room.state.rang)

        assert flaky.raised == 4  # failed four times, then the fifth try closed it
        assert [award.award_id for award in journal._awards] == ["t1:bell"]
        assert timer_failures() - failures_before == 4
        assert room.failing_since is None  # the streak is over
        records = [r for r in caplog.records if r.name == "bidserver.runtime.room"]
        errors = [r for r in records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].auction_id == "t1"  # once for the streak
        assert "t1" in errors[0].getMessage() and errors[0].exc_info is not None
        recovered = [r for r in records if r.levelno == logging.INFO]
        assert len(recovered) == 1 and "4 failures" in recovered[0].getMessage()
    finally:
        await room.stop()


async def test_retries_back_off_and_a_failing_room_is_marked(quick_retries):
    flaky = FlakyAwards(failures=1_000)  # a fault that does not clear by itself
    fmt = dataclasses.replace(TOY, awards=flaky)
    room = writer(MemoryJournal(), wall_clock, auction_id="t2", fmt=fmt)
    room.start()
    try:
        assert (await room.submit(fmt.create(BUYER, "t2", ToyConfig(title="Bell")))).ok
        assert (await room.submit(Add(actor=S1, at=0, ref="r1", amount=5))).ok
        await wait_for(lambda: flaky.raised >= 1)
        assert room.failing_since is not None  # what readiness and the metrics report
        started = time.monotonic()
        await wait_for(lambda: flaky.raised >= 6)
        # 0.05, 0.1, 0.2, 0.2, 0.2 s at least between the tries: backed off, no busy loop
        assert time.monotonic() - started >= 0.7
        assert not room.state.rang
        # meanwhile the room still decides everything else
        assert (await room.submit(Add(actor=S1, at=0, ref="r2", amount=1))).ok
    finally:
        await room.stop()


class PoisonAdd:
    """The toy's decide, raising for an add of 13 (a bug that one command triggers)."""

    def __call__(self, state, command):
        if isinstance(command, Add) and command.amount == 13:
            raise RuntimeError("a bug")
        return TOY.decide(state, command)


async def test_a_command_that_raises_fails_alone_not_the_commands_batched_with_it():
    fmt = dataclasses.replace(TOY, decide=PoisonAdd())
    room = writer(MemoryJournal(), wall_clock, auction_id="t3", fmt=fmt)
    room.start()
    try:
        assert (await room.submit(fmt.create(BUYER, "t3", ToyConfig(title="Bell")))).ok
        answers = {}
        for ref, amount in (("r1", 5), ("poison", 13), ("r2", 7)):  # queued together: one batch
            room.submit_nowait(Add(actor=S1, at=0, ref=ref, amount=amount),
                               lambda command, result: answers.__setitem__(command.ref, result))
        await wait_for(lambda: len(answers) == 3)
        assert answers["poison"].failure is Failure.INTERNAL
        assert answers["r1"].ok and answers["r2"].ok and room.state.total == 12
    finally:
        await room.stop()


async def test_a_fault_publishing_durable_events_does_not_stop_the_room():
    journal = MemoryJournal()
    served = auction(wall_clock, auction_id="t4", fmt=TOY)
    calls = []

    def on_durable(_auction, _events) -> None:  # the registry's listing update, failing once
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("a bug in the listing")

    served.mode = room = Room(served, journal, wall_clock, on_durable=on_durable)
    room.start()
    try:
        assert (await room.submit(TOY.create(BUYER, "t4", ToyConfig(title="Bell")))).ok
        assert (await room.submit(Add(actor=S1, at=0, ref="r1", amount=5))).ok  # publish fails
        later = await asyncio.wait_for(room.submit(Add(actor=S1, at=0, ref="r2", amount=1)), 5)
        assert later.ok and room.state.total == 6 and len(calls) == 3
    finally:
        await room.stop()
