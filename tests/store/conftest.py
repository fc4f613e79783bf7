"""Store-test fixtures: the same journal contract against the in-memory twin and real Redis,
in both of its durable modes (AOF ``appendfsync always``; ``everysec`` with WAITAOF)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bidserver.store.journal import Journal, MemoryJournal
from bidserver.store.redis_journal import MODE_AOF_ALWAYS, MODE_WAITAOF, RedisJournal

from .servers import everysec_server


@pytest.fixture(params=["memory", "redis", "redis-waitaof"])
async def journal(request: pytest.FixtureRequest) -> AsyncIterator[Journal]:
    if request.param == "memory":
        j: Journal = MemoryJournal()
    else:
        waitaof = request.param == "redis-waitaof"
        server = request.getfixturevalue("waitaof_server" if waitaof else "redis_server")
        rj = RedisJournal(server.url, read_page_size=100)
        assert await rj.connect() == (MODE_WAITAOF if waitaof else MODE_AOF_ALWAYS)
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
