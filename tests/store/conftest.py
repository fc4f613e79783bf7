"""Store-test fixtures: the same journal contract against the in-memory twin and real Redis,
in both of its durable modes (AOF ``appendfsync always``; ``everysec`` with WAITAOF)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from bidserver.store.journal import Journal, MemoryJournal
from bidserver.store.durability import MODE_AOF_ALWAYS, MODE_WAITAOF
from bidserver.store.redis_journal import RedisJournal


@pytest.fixture(params=["memory", "redis", "redis-waitaof", "redis-cluster"])
async def journal(request: pytest.FixtureRequest) -> AsyncIterator[Journal]:
    if request.param == "memory":
        j: Journal = MemoryJournal()
    elif request.param == "redis-cluster":  # 3 masters with a replica each, AOF always
        cluster = request.getfixturevalue("redis_cluster")
        rj = RedisJournal(cluster.url, read_page_size=100, replicas=1)
        assert await rj.connect() == MODE_AOF_ALWAYS
        j = rj
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
    entries = []
    for key in journal.keys.of_every_shard("awards"):  # one on one Redis
        entries += await journal.redis.xrange(key)
    return [decode_award(fields) for _id, fields in sorted(entries, key=_stream_id)]


def _stream_id(entry) -> tuple[int, int]:
    ms, seq = entry[0].split(b"-")
    return int(ms), int(seq)


Fields = dict[bytes, bytes]


async def rewrite_stream(
    redis: Redis, key: str, edit: Callable[[dict[int, Fields]], dict[int, Fields]]
) -> None:
    """Edit a stream by hand, as an operator with redis-cli could: read it, ``edit`` its entries
    (seq -> fields), write it back in one transaction under the ids ``<seq>-0``."""
    stored = {int(entry_id.split(b"-")[0]): fields for entry_id, fields in await redis.xrange(key)}
    edited = edit(stored)
    pipe = redis.pipeline(transaction=True)
    pipe.delete(key)
    for seq in sorted(edited):
        pipe.xadd(key, edited[seq], id=f"{seq}-0")
    await pipe.execute()


async def tamper(journal: Journal, auction_id: str, seq: int, entry: bytes) -> None:
    """Overwrite stored entry ``seq`` by hand with ``entry``, whichever journal it is."""
    if isinstance(journal, MemoryJournal):
        journal.replace(auction_id, seq, entry)
        return
    assert isinstance(journal, RedisJournal)
    fields = {b"e": entry}
    key = journal.stream_key(auction_id)
    await rewrite_stream(journal.redis, key, lambda stored: {**stored, seq: fields})
