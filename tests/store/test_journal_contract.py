"""One contract for every Journal: MemoryJournal and RedisJournal must behave the same."""

from __future__ import annotations

import pytest

from bidserver.store.journal import (
    AppendRequest,
    AwardRecord,
    Journal,
    JournalConflict,
)

from .conftest import published_awards


def ev(i: int) -> bytes:
    return f'{{"type":"bid","n":{i}}}'.encode()


def award(auction: str = "a1", lot: str = "L1") -> AwardRecord:
    return AwardRecord(
        award_id=f"{auction}-{lot}", auction_id=auction, lot_id=lot, payload=b'{"ocid":"x","awards":[]}'
    )


async def test_append_then_read_in_order(journal: Journal) -> None:
    await journal.append("a1", 1, [ev(1), ev(2)])
    await journal.append("a1", 3, [ev(3)])
    assert await journal.read("a1") == [(1, ev(1)), (2, ev(2)), (3, ev(3))]
    assert await journal.read("a1", after_seq=2) == [(3, ev(3))]
    assert await journal.read("a1", after_seq=3) == []
    assert await journal.read("unknown") == []


async def test_binary_entries_round_trip(journal: Journal) -> None:
    raw = bytes(range(256))
    await journal.append("a1", 1, [raw, b""])
    assert await journal.read("a1") == [(1, raw), (2, b"")]


async def test_retry_of_same_batch_is_a_noop(journal: Journal) -> None:
    await journal.append("a1", 1, [ev(1)])
    await journal.append("a1", 2, [ev(2), ev(3)], [award()])
    await journal.append("a1", 2, [ev(2), ev(3)], [award()])  # reply was lost, the room retries
    await journal.append("a1", 1, [ev(1)])  # an older batch retried late is still recognised
    assert [s for s, _ in await journal.read("a1")] == [1, 2, 3]
    assert await published_awards(journal) == [award()]


async def test_conflict_on_gap(journal: Journal) -> None:
    await journal.append("a1", 1, [ev(1)])
    with pytest.raises(JournalConflict) as info:
        await journal.append("a1", 3, [ev(3)])
    assert info.value.last_seq == 1
    with pytest.raises(JournalConflict):
        await journal.append("fresh", 2, [ev(2)])
    assert await journal.read("a1") == [(1, ev(1))]
    assert await journal.read("fresh") == []


async def test_conflict_on_other_writer(journal: Journal) -> None:
    await journal.append("a1", 1, [ev(1), ev(2)])
    with pytest.raises(JournalConflict) as info:
        await journal.append("a1", 2, [b"another writer's event"])
    assert info.value.last_seq == 2
    with pytest.raises(JournalConflict):  # overlaps the end and goes past it: not a retry
        await journal.append("a1", 2, [ev(2), ev(3)])
    assert await journal.read("a1") == [(1, ev(1)), (2, ev(2))]


async def test_bad_arguments_are_refused(journal: Journal) -> None:
    with pytest.raises(ValueError):
        await journal.append("a1", 0, [ev(0)])
    with pytest.raises(ValueError):
        await journal.append("a1", 1, [])


async def test_awards_atomic_with_entries(journal: Journal) -> None:
    await journal.append("a1", 1, [ev(1)])
    with pytest.raises(JournalConflict):
        await journal.append("a1", 5, [ev(5)], [award("a1", "L1")])
    assert await published_awards(journal) == []  # the failed batch published nothing
    awards = [award("a1", "L1"), award("a1", "L2")]
    await journal.append("a1", 2, [ev(2)], awards)
    assert await published_awards(journal) == awards


async def test_index_unfinished_and_finished(journal: Journal) -> None:
    assert await journal.auction_ids() == []
    await journal.append("b", 1, [ev(1)])
    await journal.append("a", 1, [ev(1)])
    with pytest.raises(JournalConflict):
        await journal.append("never", 2, [ev(1)])
    assert await journal.auction_ids() == ["a", "b"]
    assert await journal.unfinished_ids() == ["a", "b"]
    await journal.mark_finished("a")
    assert await journal.unfinished_ids() == ["b"]
    assert await journal.auction_ids() == ["a", "b"]


async def test_large_reads_paginate(journal: Journal) -> None:
    # The Redis fixture pages by 100 entries: 1050 entries need 11 pages.
    seq = 1
    for _ in range(7):
        batch = [ev(i) for i in range(seq, seq + 150)]
        await journal.append("big", seq, batch)
        seq += len(batch)
    got = await journal.read("big")
    assert [s for s, _ in got] == list(range(1, 1051))
    assert got[-1] == (1050, ev(1050))
    assert [s for s, _ in await journal.read("big", after_seq=999)] == list(range(1000, 1051))


async def test_append_many_reports_per_request(journal: Journal) -> None:
    await journal.append("c", 1, [ev(1)])
    results = await journal.append_many(
        [
            AppendRequest("a", 1, [ev(1), ev(2)]),
            AppendRequest("b", 1, [ev(1)], [award("b")]),
            AppendRequest("c", 5, [ev(5)]),  # gap
        ]
    )
    assert results[0] is None and results[1] is None
    assert isinstance(results[2], JournalConflict)
    assert [s for s, _ in await journal.read("a")] == [1, 2]
    assert await published_awards(journal) == [award("b")]
    assert await journal.append_many([AppendRequest("a", 1, [ev(1), ev(2)])]) == [None]


async def test_durable_reads_and_fences_answer_what_is_stored(journal: Journal) -> None:
    """A durable read (the default) returns what a plain read does, once proven durable; a fence
    proves everything stored so far, including what other readers got."""
    await journal.append("a1", 1, [ev(1), ev(2)])
    plain = await journal.read("a1", durable=False)
    assert await journal.read("a1") == plain == [(1, ev(1)), (2, ev(2))]
    assert await journal.read("a1", after_seq=1, durable=True) == [(2, ev(2))]
    assert await journal.read("unknown") == []
    await journal.fence()
    await journal.fence()  # repeatable, with nothing new to prove


async def test_ping(journal: Journal) -> None:
    assert await journal.ping() is True


async def test_memory_journal_can_be_switched_off() -> None:
    from bidserver.store.journal import JournalUnavailable, MemoryJournal

    journal = MemoryJournal()
    journal.available = False
    assert await journal.ping() is False
    with pytest.raises(JournalUnavailable):
        await journal.append("a", 1, [ev(1)])
    assert [type(r) for r in await journal.append_many([AppendRequest("a", 1, [ev(1)])])] == [
        JournalUnavailable
    ]
    journal.available = True
    await journal.append("a", 1, [ev(1)])


async def test_memory_journal_lost_reply_hook() -> None:
    from bidserver.store.journal import JournalUnavailable, MemoryJournal

    journal = MemoryJournal()
    journal.fail_after_write = 1
    with pytest.raises(JournalUnavailable):
        await journal.append("a", 1, [ev(1)])
    assert await journal.read("a") == [(1, ev(1))]  # it landed
    await journal.append("a", 1, [ev(1)])  # the retry is recognised
    assert journal.append_calls == 2


async def test_memory_journal_unproven_durability_hook() -> None:
    """``fences_fail``: the store holds data it cannot prove durable (a WAITAOF that timed out):
    only plain reads answer."""
    from bidserver.store.journal import JournalUnavailable, MemoryJournal

    journal = MemoryJournal()
    await journal.append("a", 1, [ev(1)])
    journal.fences_fail = True
    with pytest.raises(JournalUnavailable):
        await journal.read("a")
    with pytest.raises(JournalUnavailable):
        await journal.fence()
    assert await journal.read("a", durable=False) == [(1, ev(1))]
    journal.fences_fail = False
    assert await journal.read("a") == [(1, ev(1))]
    assert journal.fence_calls == 3
