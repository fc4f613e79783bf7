"""Store-test fixtures: the same journal contract against the in-memory twin and real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bidserver.store.journal import Journal, MemoryJournal
from bidserver.store.redis_journal import RedisJournal


@pytest.fixture(params=["memory", "redis"])
async def journal(request: pytest.FixtureRequest) -> AsyncIterator[Journal]:
    if request.param == "memory":
        j: Journal = MemoryJournal()
    else:
        server = request.getfixturevalue("redis_server")
        rj = RedisJournal(server.url, read_page_size=100)
        await rj.connect()
        j = rj
    yield j
    await j.close()


async def published_awards(journal: Journal) -> list:
    """The awards stream's content, whichever journal it is."""
    from bidserver.store.awards import decode_award

    if isinstance(journal, MemoryJournal):
        return journal.awards
    assert isinstance(journal, RedisJournal)
    entries = await journal.redis.xrange(journal.awards_key)
    return [decode_award(fields) for _id, fields in entries]
