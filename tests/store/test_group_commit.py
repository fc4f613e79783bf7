"""Group commit across auctions, on both journals: the appends made while a write is in flight
go as one round trip, each auction with its own outcome; a lone append is written at once."""

from __future__ import annotations

import asyncio

from bidserver.store.group_commit import GroupCommit
from bidserver.store.journal import JournalConflict, JournalUnavailable, MemoryJournal

from .chained import numbered, sealed


async def test_appends_of_one_turn_are_one_write_and_each_gets_its_outcome(journal):
    calls = []
    original = journal.append_many

    async def counting(requests):
        calls.append(len(requests))
        await asyncio.sleep(0)  # a round trip: the write is in flight while the others append
        return await original(requests)

    journal.append_many = counting
    commits = GroupCommit(journal)
    await commits.append("a0", 1, sealed(1, 1))
    outcomes = await asyncio.gather(
        *(commits.append(f"a{i}", 1, sealed(1, 2)) for i in range(1, 11)),
        commits.append("a0", 5, sealed(5, 5)),  # does not continue a0's stream: refused alone
        return_exceptions=True,
    )
    assert calls == [1, 1, 10]  # a0 alone; a1 at once (nothing in flight); the rest: one group
    assert outcomes[:10] == [None] * 10 and isinstance(outcomes[10], JournalConflict)
    for i in range(1, 11):
        assert await commits.read(f"a{i}") == numbered(1, 2)
    assert await commits.read("a0") == numbered(1, 1)


async def test_a_journal_that_is_down_fails_the_whole_group_and_the_next_one_goes_through():
    journal = MemoryJournal()
    commits = GroupCommit(journal)
    journal.available = False
    outcomes = await asyncio.gather(
        *(commits.append(f"a{i}", 1, sealed(1, 1)) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, JournalUnavailable) for o in outcomes)
    journal.available = True
    await commits.append("a0", 1, sealed(1, 1))
    assert await commits.read("a0") == numbered(1, 1)


async def test_appends_made_while_a_group_is_written_go_in_the_next_group():
    journal = MemoryJournal()
    gate = asyncio.Event()
    sizes = []
    original = journal.append_many

    async def slow(requests):
        sizes.append(len(requests))
        await gate.wait()
        return await original(requests)

    journal.append_many = slow
    commits = GroupCommit(journal)
    first = asyncio.ensure_future(commits.append("a1", 1, sealed(1, 1)))
    while not sizes:
        await asyncio.sleep(0)
    later = [asyncio.ensure_future(commits.append(f"b{i}", 1, sealed(1, 1))) for i in range(4)]
    for _ in range(3):
        await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *later)
    assert sizes == [1, 4]


async def test_reads_and_the_rest_pass_through():
    journal = MemoryJournal()
    commits = GroupCommit(journal)
    for i in range(3):
        await commits.append(f"a{i}", 1, sealed(1, 1))
    assert await commits.auction_ids() == ["a0", "a1", "a2"]
    assert await commits.ping()
