"""Edits made by hand in Redis (as anyone with redis-cli could) are caught when the auction is
read back and verified, naming the entry; appends stop at an edited or pre-chain last entry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bidserver.store.chain import PREDATES_CHAIN, ChainBroken, verify
from bidserver.store.journal import JournalChainMismatch
from bidserver.store.redis_journal import RedisJournal

from .chained import ev, numbered, sealed
from .conftest import Fields, rewrite_stream


@pytest.fixture
async def journal(redis_server) -> AsyncIterator[RedisJournal]:
    j = RedisJournal(redis_server.url)
    await j.connect()
    await j.append("a1", 1, sealed(1, 2))
    await j.append("a1", 3, sealed(3, 5))
    yield j
    await j.close()


async def edit(journal: RedisJournal, change) -> None:
    await rewrite_stream(journal.redis, journal.stream_key("a1"), change)


async def broken(journal: RedisJournal) -> ChainBroken:
    with pytest.raises(ChainBroken) as info:
        verify("a1", await journal.read("a1"))
    return info.value


async def test_the_untouched_stream_verifies(journal: RedisJournal) -> None:
    envelopes = verify("a1", await journal.read("a1"))
    assert [bytes(e.event) for e in envelopes] == [ev(i) for i in range(1, 6)]


async def test_an_entry_altered_by_hand_is_named(journal: RedisJournal) -> None:
    def alter(stored: dict[int, Fields]) -> dict[int, Fields]:
        fields = stored[3]
        return {**stored, 3: {**fields, b"e": fields[b"e"].replace(b'"n":3', b'"n":4')}}

    await edit(journal, alter)
    error = await broken(journal)
    assert (error.seq, str(error)) == (
        3,
        "auction 'a1': entry 3 was altered: its hash does not match its content",
    )


async def test_an_entry_removed_by_hand_is_named(journal: RedisJournal) -> None:
    assert await journal.redis.xdel(journal.stream_key("a1"), "3-0") == 1
    error = await broken(journal)
    assert (error.seq, error.why) == (3, "is missing (the next stored entry is 4)")


async def test_entries_reordered_by_hand_are_named(journal: RedisJournal) -> None:
    await edit(journal, lambda stored: {**stored, 3: stored[4], 4: stored[3]})
    error = await broken(journal)
    assert error.seq == 3 and "holds the envelope of entry 4" in str(error)


async def test_an_entry_replaced_by_a_resealed_one_is_caught_at_the_next(
    journal: RedisJournal,
) -> None:
    """A forger who re-seals entry 3 (a valid envelope, hash recomputed) breaks the link of 4."""
    [forged] = sealed(3, 3, fork_at=3)
    await edit(journal, lambda stored: {**stored, 3: {**stored[3], b"e": forged}})
    error = await broken(journal)
    assert error.seq == 4 and "entry 3 or 4 was altered or replaced" in error.why


async def test_a_journal_from_before_the_chain_is_refused_not_misread(
    journal: RedisJournal,
) -> None:
    """bidserver < 0.2 stored plain events under field e alone: verify refuses the auction, and
    the writer may not continue it."""
    key = journal.stream_key("old")
    for seq in (1, 2):
        await journal.redis.xadd(key, {"e": ev(seq)}, id=f"{seq}-0")
    with pytest.raises(ChainBroken) as info:
        verify("old", await journal.read("old"))
    assert (info.value.seq, info.value.why) == (1, PREDATES_CHAIN)
    with pytest.raises(JournalChainMismatch, match="last entry \\(seq 2\\) predates the hash chain"):
        await journal.append("old", 3, sealed(3, 3))
    assert await journal.read("old") == [(1, ev(1)), (2, ev(2))]
    assert await journal.read("a1") == numbered(1, 5)
