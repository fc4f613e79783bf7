"""The registry's service (``runtime.admission``) on a real Redis: decide, store durably with a
compare-and-set, answer; eligibility in one lookup; the sweeper recording what time did and the
live events told of a supplier's changed standing."""

from __future__ import annotations

import asyncio

import pytest

from bidserver.engine.rejections import Reason, Rejection
from bidserver.engine.values import Actor, Role
from bidserver.runtime.admission import ATTEMPTS, Admission
from bidserver.store.journal import JournalUnavailable
from bidserver.store.redis_journal import RedisJournal
from bidserver.store.suppliers import RedisSuppliers, VersionConflict

from ..engine.admission.builders import (
    DAY, ISO_9001, STEEL, SUPPLIER_ID, T0, USCC, YEAR, document, lift, qualify, register,
    restrict,
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def journal(redis_server):
    journal = RedisJournal(redis_server.url)
    await journal.connect()
    yield journal
    await journal.close()


@pytest.fixture
def store(journal):
    return RedisSuppliers(journal)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_a_change_is_stored_and_read_back_in_one_lookup(store, clock):
    admission = Admission(store, clock)
    record = await admission.act(SUPPLIER_ID, register(T0))
    assert not isinstance(record, Rejection) and record.version == 1
    assert (await admission.record(SUPPLIER_ID)) == record
    assert await admission.act(SUPPLIER_ID, register(T0)) == record  # a resend stores nothing
    assert len(await admission.history(SUPPLIER_ID)) == 1
    twin = register(T0, actor=Actor(Role.SUPPLIER, "sup-2", "eve"))
    refused = await admission.act("sup-2", twin)
    assert isinstance(refused, Rejection) and refused.reason is Reason.IDENTIFIER_TAKEN
    assert refused.field == "identifier" and USCC not in refused.detail


async def test_eligibility_for_an_invitation(store, clock):
    admission = Admission(store, clock)
    fault = await admission.invitation_fault("nobody", STEEL)
    assert fault is not None and fault.reason is Reason.SUPPLIER_NOT_ELIGIBLE
    assert await admission.invitation_fault("nobody", None) is None  # outside the registry
    await admission.act(SUPPLIER_ID, register(T0))
    fault = await admission.invitation_fault(SUPPLIER_ID, STEEL)
    assert fault is not None and "pending review" in fault.detail
    await admission.act(SUPPLIER_ID, document(ISO_9001, T0 + 1, expires_at=T0 + YEAR))
    await admission.act(SUPPLIER_ID, qualify(T0 + 2, STEEL, ISO_9001))
    assert await admission.invitation_fault(SUPPLIER_ID, STEEL) is None
    await admission.act(SUPPLIER_ID, restrict(T0 + 3, end_at=T0 + DAY, reason="audit"))
    fault = await admission.invitation_fault(SUPPLIER_ID, None)
    assert fault is not None and fault.detail == "suspended: audit"
    clock.now = T0 + DAY
    assert await admission.invitation_fault(SUPPLIER_ID, STEEL) is None


async def test_a_change_contended_on_every_attempt_is_refused_not_lost(journal, store, clock):
    class Contended(RedisSuppliers):
        attempts = 0

        async def append(self, supplier_id, expected_version, *args, **kwargs):
            Contended.attempts += 1
            raise VersionConflict(supplier_id, expected_version, expected_version + 1)

    contended = Contended(journal)
    refused = await Admission(contended, clock).act(SUPPLIER_ID, register(T0))
    assert isinstance(refused, Rejection) and refused.reason is Reason.CONTENDED
    assert Contended.attempts == ATTEMPTS and await store.get(SUPPLIER_ID) is None


async def test_two_writers_on_one_version_store_both_changes(journal, store, clock):
    first, second = Admission(store, clock), Admission(RedisSuppliers(journal), clock)
    await first.act(SUPPLIER_ID, register(T0))
    stale = await first.record(SUPPLIER_ID)
    await first.act(SUPPLIER_ID, document(ISO_9001, T0 + 1, expires_at=T0 + YEAR))
    # The second decides on the stale version first: its write conflicts, it decides again.
    assert stale is not None and stale.version == 1
    record = await second.act(SUPPLIER_ID, qualify(T0 + 2, STEEL, ISO_9001))
    assert not isinstance(record, Rejection) and record.version == 3


async def test_the_sweeper_records_time_and_tells_the_events(store, clock):
    told: list[tuple[str, int, int]] = []

    async def on_change(supplier_id, record, now):
        told.append((supplier_id, record.version, now))

    admission = Admission(store, clock, on_change)
    await admission.act(SUPPLIER_ID, register(T0))
    await admission.act(SUPPLIER_ID, document(ISO_9001, T0 + 1, expires_at=T0 + YEAR))
    await admission.act(SUPPLIER_ID, qualify(T0 + 2, STEEL, ISO_9001))
    assert told == [(SUPPLIER_ID, 3, T0)]  # a category qualified: its standing changed
    await admission.act(SUPPLIER_ID, document(ISO_9001, T0 + 3, expires_at=T0 + YEAR))
    assert len(told) == 1  # a resend changes nothing
    await admission.act(SUPPLIER_ID, restrict(T0 + 3, end_at=T0 + DAY))
    assert told[-1] == (SUPPLIER_ID, 4, T0)  # a suspension
    assert await admission.sweep() == 0  # nothing due yet
    clock.now = T0 + DAY
    assert await admission.sweep() == 1  # the suspension ended
    assert told[-1] == (SUPPLIER_ID, 5, T0 + DAY)  # the command was stamped with the clock's time
    assert await admission.sweep() == 0
    clock.now = T0 + YEAR
    assert await admission.sweep() == 1  # the certificate expired: the qualification lapsed
    assert told[-1][2] == T0 + YEAR
    page = await admission.search(tags=[f"cat:{STEEL}:suspended"])
    assert page.ids == [SUPPLIER_ID]  # the index says so too
    lifted = await admission.act(SUPPLIER_ID, lift(T0 + YEAR, "r1"))
    assert isinstance(lifted, Rejection) and lifted.reason is Reason.ALREADY_LIFTED


async def test_a_failing_listener_never_undoes_a_durable_change(store, clock, caplog):
    failing = [True]
    told = []

    async def on_change(supplier_id, record, now):
        if failing[0]:
            raise RuntimeError("the bus is away")
        told.append(record.version)

    admission = Admission(store, clock, on_change)
    await admission.act(SUPPLIER_ID, register(T0))
    record = await admission.act(SUPPLIER_ID, restrict(T0 + 1))
    assert not isinstance(record, Rejection) and record.version == 2
    assert (await admission.record(SUPPLIER_ID)).version == 2
    assert "could not tell the events" in caplog.text
    await admission.sweep()
    assert told == []  # still failing: still owed
    failing[0] = False
    await admission.sweep()
    assert told == [2]  # told at the next sweep
    await admission.sweep()
    assert told == [2]  # and only once


@pytest.mark.parametrize("swallowed_as", ["an answer", "a connection error"])
async def test_the_sweeper_stops_when_a_client_library_eats_the_cancellation(
    journal, clock, swallowed_as
):
    """redis-py, cancelled mid-command, now and then returns or raises a connection error
    instead: the sweeper must stop all the same (the server's shutdown awaits it)."""
    in_call = asyncio.Event()

    class Eating(RedisSuppliers):
        async def due(self, now, limit):
            in_call.set()
            try:
                await asyncio.Event().wait()  # a command in flight
            except asyncio.CancelledError:
                if swallowed_as == "an answer":
                    return []
                raise JournalUnavailable("redis unreachable: connection lost") from None

    sweeper = asyncio.create_task(Admission(Eating(journal), clock).sweep_forever(every_s=60))
    await asyncio.wait_for(in_call.wait(), 5)
    sweeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(sweeper, 5)  # not asleep for the next round
