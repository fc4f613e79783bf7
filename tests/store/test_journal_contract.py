"""One contract for every Journal: MemoryJournal and RedisJournal must behave the same."""

from __future__ import annotations

import pytest

from bidserver.store.chain import GENESIS, PREDATES_CHAIN, open_entry, seal
from bidserver.store.journal import (
    AppendRequest,
    AwardRecord,
    Journal,
    JournalArchived,
    JournalChainMismatch,
    JournalConflict,
)

from .chained import FORMAT, T0, ev, hash_of, numbered, sealed
from .conftest import published_awards, tamper


def award(auction: str = "a1", lot: str = "L1") -> AwardRecord:
    return AwardRecord(
        award_id=f"{auction}-{lot}", auction_id=auction, lot_id=lot, payload=b'{"ocid":"x","awards":[]}'
    )


async def test_append_then_read_in_order(journal: Journal) -> None:
    await journal.append("a1", 1, sealed(1, 2))
    await journal.append("a1", 3, sealed(3, 3))
    assert await journal.read("a1") == numbered(1, 3)
    assert await journal.read("a1", after_seq=2) == numbered(3, 3)
    assert await journal.read("a1", after_seq=3) == []
    assert await journal.read("unknown") == []


async def test_entries_round_trip_byte_exact(journal: Journal) -> None:
    event = r'{"type":"bid",  "note":"\u00e9\\\"x\"","s":"é✓","n":[1, 2.50,{"k":null}]}'.encode()
    entries = [seal(1, T0, FORMAT, GENESIS, event)]
    entries.append(seal(2, T0, FORMAT, hash_of(entries[0]), b"[]"))
    await journal.append("a1", 1, entries)
    stored = await journal.read("a1")
    assert stored == [(1, entries[0]), (2, entries[1])]
    assert bytes(open_entry("a1", 1, stored[0][1]).event) == event


async def test_entries_that_are_not_envelopes_are_refused_before_anything_is_written(
    journal: Journal,
) -> None:
    for bad in (ev(1), b"", b"not json", sealed(1, 1)[0][:-1]):
        with pytest.raises(ValueError, match="not a hash-chain envelope"):
            await journal.append("a1", 1, [bad])
    with pytest.raises(ValueError):  # one bad request: the whole group commit is refused
        await journal.append_many(
            [AppendRequest("a0", 1, sealed(1, 1)), AppendRequest("a1", 1, [ev(1)])]
        )
    assert await journal.auction_ids() == []


async def test_retry_of_same_batch_is_a_noop(journal: Journal) -> None:
    await journal.append("a1", 1, sealed(1, 1))
    await journal.append("a1", 2, sealed(2, 3), [award()])
    await journal.append("a1", 2, sealed(2, 3), [award()])  # reply was lost, the room retries
    await journal.append("a1", 1, sealed(1, 1))  # an older batch retried late is still recognised
    assert await journal.read("a1") == numbered(1, 3)
    assert await published_awards(journal) == [award()]


async def test_conflict_on_gap(journal: Journal) -> None:
    await journal.append("a1", 1, sealed(1, 1))
    with pytest.raises(JournalConflict) as info:
        await journal.append("a1", 3, sealed(3, 3))
    assert info.value.last_seq == 1
    with pytest.raises(JournalConflict):
        await journal.append("fresh", 2, sealed(2, 2))
    assert await journal.read("a1") == numbered(1, 1)
    assert await journal.read("fresh") == []


async def test_conflict_on_other_writer(journal: Journal) -> None:
    await journal.append("a1", 1, sealed(1, 2))
    with pytest.raises(JournalConflict) as info:  # another writer's history from seq 2 on
        await journal.append("a1", 2, sealed(2, 2, fork_at=2))
    assert info.value.last_seq == 2
    with pytest.raises(JournalConflict):  # overlaps the end and goes past it: not a retry
        await journal.append("a1", 2, sealed(2, 3))
    assert await journal.read("a1") == numbered(1, 2)


async def test_bad_arguments_are_refused(journal: Journal) -> None:
    with pytest.raises(ValueError):
        await journal.append("a1", 0, sealed(1, 1))
    with pytest.raises(ValueError):
        await journal.append("a1", 1, [])


async def test_awards_atomic_with_entries(journal: Journal) -> None:
    await journal.append("a1", 1, sealed(1, 1))
    with pytest.raises(JournalConflict):
        await journal.append("a1", 5, sealed(5, 5), [award("a1", "L1")])
    with pytest.raises(JournalChainMismatch):
        await journal.append("a1", 2, sealed(2, 2, fork_at=1), [award("a1", "L1")])
    assert await published_awards(journal) == []  # the failed batches published nothing
    awards = [award("a1", "L1"), award("a1", "L2")]
    await journal.append("a1", 2, sealed(2, 2), awards)
    assert await published_awards(journal) == awards


async def test_index_unfinished_and_finished(journal: Journal) -> None:
    assert await journal.auction_ids() == []
    await journal.append("b", 1, sealed(1, 1))
    await journal.append("a", 1, sealed(1, 1))
    with pytest.raises(JournalConflict):
        await journal.append("never", 2, sealed(2, 2))
    assert await journal.auction_ids() == ["a", "b"]
    assert await journal.unfinished_ids() == ["a", "b"]
    await journal.mark_finished("a")
    assert await journal.unfinished_ids() == ["b"]
    assert await journal.auction_ids() == ["a", "b"]


async def test_large_reads_paginate(journal: Journal) -> None:
    # The Redis fixture pages by 100 entries: 1050 entries need 11 pages.
    entries = sealed(1, 1050)
    for first in range(1, 1051, 150):
        await journal.append("big", first, entries[first - 1 : first + 149])
    got = await journal.read("big")
    assert got == numbered(1, 1050)
    assert [s for s, _ in await journal.read("big", after_seq=999)] == list(range(1000, 1051))


async def test_append_many_reports_per_request(journal: Journal) -> None:
    await journal.append("c", 1, sealed(1, 1))
    results = await journal.append_many(
        [
            AppendRequest("a", 1, sealed(1, 2)),
            AppendRequest("b", 1, sealed(1, 1), [award("b")]),
            AppendRequest("c", 5, sealed(5, 5)),  # gap
            AppendRequest("d", 1, sealed(2, 2)),  # not sealed as seq 1
            AppendRequest("e", 1, sealed(2, 2, fork_at=2)),  # prev is not the genesis hash
        ]
    )
    assert results[0] is None and results[1] is None
    assert type(results[2]) is JournalConflict
    assert isinstance(results[3], JournalChainMismatch) and results[3].last_seq is None
    assert isinstance(results[4], JournalChainMismatch)
    assert await journal.read("a") == numbered(1, 2)
    assert await published_awards(journal) == [award("b")]
    assert await journal.auction_ids() == ["a", "b", "c"]
    assert await journal.append_many([AppendRequest("a", 1, sealed(1, 2))]) == [None]


async def test_durable_reads_and_fences_answer_what_is_stored(journal: Journal) -> None:
    """A durable read (the default) returns what a plain read does, once proven durable; a fence
    proves everything stored so far, including what other readers got."""
    await journal.append("a1", 1, sealed(1, 2))
    plain = await journal.read("a1", durable=False)
    assert await journal.read("a1") == plain == numbered(1, 2)
    assert await journal.read("a1", after_seq=1, durable=True) == numbered(2, 2)
    assert await journal.read("unknown") == []
    await journal.fence()
    await journal.fence()  # repeatable, with nothing new to prove


# ---------------------------------------------------------------- the hash chain


async def test_a_batch_whose_prev_is_not_the_stored_hash_is_refused_and_nothing_written(
    journal: Journal,
) -> None:
    first = seal(1, T0, FORMAT, "f" * 64, ev(1))
    with pytest.raises(JournalChainMismatch, match="genesis hash") as info:
        await journal.append("a1", 1, [first], [award()])
    assert (info.value.first_seq, info.value.last_seq) == (1, 0)
    assert await journal.auction_ids() == []

    await journal.append("a1", 1, sealed(1, 2))
    with pytest.raises(JournalChainMismatch, match="not the hash of the stored entry 2") as info:
        await journal.append("a1", 3, sealed(3, 4, fork_at=2), [award()])  # forked at seq 2
    assert (info.value.first_seq, info.value.last_seq) == (3, 2)
    assert await journal.read("a1") == numbered(1, 2)
    assert await published_awards(journal) == []
    await journal.append("a1", 3, sealed(3, 4))  # the writer's own chain still continues


async def test_a_batch_that_is_not_a_chain_in_itself_is_refused(journal: Journal) -> None:
    await journal.append("a1", 1, sealed(1, 1))
    unlinked = [sealed(2, 2)[0], sealed(3, 3, fork_at=2)[0]]  # 3 follows another entry 2
    with pytest.raises(JournalChainMismatch, match="entry 3's prev is not the hash of entry 2"):
        await journal.append("a1", 2, unlinked)
    with pytest.raises(JournalChainMismatch, match="appended as seq 3 is sealed as seq 4"):
        await journal.append("a1", 2, [sealed(2, 2)[0], sealed(4, 4)[0]])
    with pytest.raises(JournalChainMismatch, match="appended as seq 2 is sealed as seq 1"):
        await journal.append("a1", 2, sealed(1, 1))
    assert await journal.read("a1") == numbered(1, 1)


async def test_appending_onto_a_last_entry_altered_by_hand_is_refused(journal: Journal) -> None:
    await journal.append("a1", 1, sealed(1, 2))
    await tamper(journal, "a1", 2, sealed(2, 2, fork_at=2)[0])  # re-sealed with another event
    with pytest.raises(JournalChainMismatch, match="stored entry 2 .* was altered") as info:
        await journal.append("a1", 3, sealed(3, 3))
    assert info.value.last_seq == 2
    assert [s for s, _ in await journal.read("a1")] == [1, 2]


async def test_appending_onto_an_entry_from_before_the_chain_is_refused(journal: Journal) -> None:
    await journal.append("a1", 1, sealed(1, 1))
    await tamper(journal, "a1", 1, b'{"type":"auction_created","at":1}')  # as bidserver < 0.2 wrote
    with pytest.raises(JournalChainMismatch) as info:
        await journal.append("a1", 2, sealed(2, 2))
    assert str(info.value) == (
        f"auction 'a1': cannot append from seq 2: the stream's last entry (seq 1) {PREDATES_CHAIN}"
    )


# ---------------------------------------------------------------- archived auctions


async def finished(journal: Journal, auction_id: str = "a1", n: int = 3) -> str:
    """A finished auction of ``n`` entries; returns its head's hash."""
    await journal.append(auction_id, 1, sealed(1, n))
    await journal.mark_finished(auction_id)
    return hash_of(sealed(n, n)[0])


async def test_trim_archived_deletes_the_entries_and_keeps_the_auction_known(
    journal: Journal,
) -> None:
    head = await finished(journal)
    await finished(journal, "a2")
    await journal.append("b", 1, sealed(1, 1))
    assert await journal.archived("a1") is None
    await journal.trim_archived("a1", 3, head)
    assert await journal.read("a1") == []
    assert await journal.archived("a1") == (3, head)
    assert await journal.auction_ids() == ["a1", "a2", "b"]
    assert await journal.unfinished_ids() == ["b"]
    assert await journal.read("a2") == numbered(1, 3)  # the others are untouched
    assert await journal.archived("a2") is None
    await journal.trim_archived("a1", 3, head)  # a retry: no-op
    assert await journal.archived("a1") == (3, head)


async def test_an_archived_auction_refuses_appends(journal: Journal) -> None:
    """Its stream is gone: without the archive's mark an append at seq 1 would start a second
    history, and one at seq 4 would continue a chain the store no longer holds."""
    head = await finished(journal)
    await journal.trim_archived("a1", 3, head)
    for first, entries in ((1, sealed(1, 1)), (4, sealed(4, 4)), (1, sealed(1, 3))):
        with pytest.raises(JournalArchived) as info:
            await journal.append("a1", first, entries, [award()])
        assert isinstance(info.value, JournalConflict)
        assert str(info.value) == (
            f"auction 'a1' is archived (up to entry 3): cannot append from seq {first}"
        )
        assert (info.value.last_seq, info.value.head_hash) == (3, head)
    [outcome] = await journal.append_many([AppendRequest("a1", 1, sealed(1, 1))])
    assert isinstance(outcome, JournalArchived)
    assert await journal.read("a1") == []
    assert await published_awards(journal) == []


async def test_trim_archived_needs_a_finished_auction(journal: Journal) -> None:
    await journal.append("a1", 1, sealed(1, 3))
    with pytest.raises(JournalConflict, match="not trimmed .* the auction is not finished") as info:
        await journal.trim_archived("a1", 3, hash_of(sealed(3, 3)[0]))
    assert (info.value.first_seq, info.value.last_seq) == (3, 3)
    assert await journal.read("a1") == numbered(1, 3)
    assert await journal.archived("a1") is None


async def test_trim_archived_needs_the_stream_to_end_at_the_archives_head(
    journal: Journal,
) -> None:
    """Anything appended after the archive was written would be lost: refused, nothing deleted."""
    head = await finished(journal, n=4)
    cases = [
        (3, hash_of(sealed(3, 3)[0]), "the stream ends at entry 4 .*not at the archive's head"),
        (4, hash_of(sealed(4, 4, fork_at=4)[0]), "the stream ends at entry 4"),  # another entry 4
        (5, head, "the stream ends at entry 4"),
    ]
    for head_seq, head_hash, why in cases:
        with pytest.raises(JournalConflict, match=why) as info:
            await journal.trim_archived("a1", head_seq, head_hash)
        assert (info.value.first_seq, info.value.last_seq) == (head_seq, 4)
    await journal.mark_finished("empty")
    with pytest.raises(JournalConflict, match="the stream is empty"):
        await journal.trim_archived("empty", 1, head)
    with pytest.raises(ValueError):
        await journal.trim_archived("a1", 0, GENESIS)
    assert await journal.read("a1") == numbered(1, 4)
    assert await journal.archived("a1") is None
    await journal.trim_archived("a1", 4, head)


async def test_an_archived_auction_is_not_trimmed_to_another_head(journal: Journal) -> None:
    head = await finished(journal)
    await journal.trim_archived("a1", 3, head)
    with pytest.raises(JournalConflict, match="archived already up to entry 3") as info:
        await journal.trim_archived("a1", 2, hash_of(sealed(2, 2)[0]))
    assert info.value.last_seq == 3
    assert await journal.archived("a1") == (3, head)


async def test_ping(journal: Journal) -> None:
    assert await journal.ping() is True


async def test_memory_journal_can_be_switched_off() -> None:
    from bidserver.store.journal import JournalUnavailable, MemoryJournal

    journal = MemoryJournal()
    journal.available = False
    assert await journal.ping() is False
    with pytest.raises(JournalUnavailable):
        await journal.append("a", 1, sealed(1, 1))
    assert [type(r) for r in await journal.append_many([AppendRequest("a", 1, sealed(1, 1))])] == [
        JournalUnavailable
    ]
    journal.available = True
    await journal.append("a", 1, sealed(1, 1))


async def test_memory_journal_lost_reply_hook() -> None:
    from bidserver.store.journal import JournalUnavailable, MemoryJournal

    journal = MemoryJournal()
    journal.fail_after_write = 1
    with pytest.raises(JournalUnavailable):
        await journal.append("a", 1, sealed(1, 1))
    assert await journal.read("a") == numbered(1, 1)  # it landed
    await journal.append("a", 1, sealed(1, 1))  # the retry is recognised
    assert journal.append_calls == 2


async def test_memory_journal_unproven_durability_hook() -> None:
    """``fences_fail``: the store holds data it cannot prove durable (a WAITAOF that timed out):
    only plain reads answer."""
    from bidserver.store.journal import JournalUnavailable, MemoryJournal

    journal = MemoryJournal()
    await journal.append("a", 1, sealed(1, 1))
    journal.fences_fail = True
    with pytest.raises(JournalUnavailable):
        await journal.read("a")
    with pytest.raises(JournalUnavailable):
        await journal.fence()
    assert await journal.read("a", durable=False) == numbered(1, 1)
    journal.fences_fail = False
    assert await journal.read("a") == numbered(1, 1)
    assert journal.fence_calls == 3
