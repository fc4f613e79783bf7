"""The awards stream contract: safe trimming and the example contract-signing consumer."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bidserver.store.awards import AWARDS_STREAM, decode_award, ensure_group, safe_trim
from bidserver.store.journal import AwardRecord
from bidserver.store.redis_journal import RedisJournal

EXAMPLE = Path(__file__).parents[2] / "examples" / "award_consumer.py"
KEY = b"test-signing-key"


def load_consumer():
    spec = importlib.util.spec_from_file_location("award_consumer", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def journal(redis_server) -> AsyncIterator[RedisJournal]:
    j = RedisJournal(redis_server.url)
    await j.connect()
    yield j
    await j.close()


async def publish(journal: RedisJournal, n: int) -> list[AwardRecord]:
    awards = [AwardRecord(f"aw-{i}", f"auc-{i}", "L1", f'{{"n":{i}}}'.encode()) for i in range(n)]
    for award in awards:
        await journal.append(award.auction_id, 1, [b"awarded"], [award])
    return awards


async def test_awards_stream_fields(journal: RedisJournal) -> None:
    awards = await publish(journal, 2)
    entries = await journal.redis.xrange(AWARDS_STREAM)
    assert [decode_award(f) for _, f in entries] == awards
    assert set(entries[0][1]) == {b"award_id", b"auction_id", b"lot_id", b"release"}


async def test_ensure_group_is_idempotent(journal: RedisJournal) -> None:
    assert await ensure_group(journal.redis, "g") is True
    assert await ensure_group(journal.redis, "g") is False


async def test_safe_trim_without_groups_trims_nothing(journal: RedisJournal) -> None:
    assert await safe_trim(journal.redis) == 0  # no stream at all
    await publish(journal, 3)
    assert await safe_trim(journal.redis) == 0
    assert await journal.redis.xlen(AWARDS_STREAM) == 3


async def test_safe_trim_keeps_unacknowledged(journal: RedisJournal) -> None:
    r = journal.redis
    await publish(journal, 5)
    await ensure_group(r, "fast")
    await ensure_group(r, "slow")
    ids = [i for i, _ in await r.xrange(AWARDS_STREAM)]

    fast = await r.xreadgroup("fast", "c", {AWARDS_STREAM: ">"})
    await r.xack(AWARDS_STREAM, "fast", *[i for i, _ in fast[0][1]])
    await r.xreadgroup("slow", "c", {AWARDS_STREAM: ">"}, count=3)  # delivered, not acked
    await r.xack(AWARDS_STREAM, "slow", ids[0])  # only the first one acked
    assert await safe_trim(r) == 1  # slow still needs ids[1] (pending)
    assert [i for i, _ in await r.xrange(AWARDS_STREAM)] == ids[1:]

    await r.xack(AWARDS_STREAM, "slow", ids[1], ids[2])
    assert await safe_trim(r) == 2  # slow has read up to ids[2], nothing pending
    assert [i for i, _ in await r.xrange(AWARDS_STREAM)] == ids[3:]

    await ensure_group(r, "late", start_id="0")  # a new group: nothing delivered to it yet
    assert await safe_trim(r) == 0


async def test_consumer_signs_acks_and_is_idempotent(journal: RedisJournal) -> None:
    consumer = load_consumer()
    r = journal.redis
    awards = await publish(journal, 3)
    await ensure_group(r, "signing")

    assert await consumer.process_once(r, "signing", "c1", KEY, block_ms=100) == 3
    assert await consumer.process_once(r, "signing", "c1", KEY, block_ms=10) == 0
    assert (await r.xpending(AWARDS_STREAM, "signing"))["pending"] == 0
    signatures = await r.hgetall(consumer.SIGNATURES_KEY)
    for award in awards:
        expected = hmac.new(KEY, award.payload, hashlib.sha256).hexdigest()
        assert signatures[award.award_id.encode()] == expected.encode()

    # The same awards delivered again (e.g. a group reset) are acked without a second signature.
    await r.xgroup_setid(AWARDS_STREAM, "signing", "0")
    assert await consumer.process_once(r, "signing", "c1", b"another key", block_ms=100) == 3
    assert await r.hgetall(consumer.SIGNATURES_KEY) == signatures


async def test_consumer_reclaims_stuck_entries(journal: RedisJournal) -> None:
    consumer = load_consumer()
    r = journal.redis
    await publish(journal, 2)
    await ensure_group(r, "signing")
    await r.xreadgroup("signing", "crashed", {AWARDS_STREAM: ">"})  # c "crashes" before acking

    idle = await consumer.reclaim_stuck(r, "signing", "c2", KEY, min_idle_ms=60_000)
    assert idle == 0  # not idle long enough yet
    assert await consumer.reclaim_stuck(r, "signing", "c2", KEY, min_idle_ms=0) == 2
    assert (await r.xpending(AWARDS_STREAM, "signing"))["pending"] == 0
    assert await r.hlen(consumer.SIGNATURES_KEY) == 2


async def test_consumer_rereads_own_pending_after_restart(journal: RedisJournal) -> None:
    consumer = load_consumer()
    r = journal.redis
    await publish(journal, 2)
    await ensure_group(r, "signing")
    await r.xreadgroup("signing", "c1", {AWARDS_STREAM: ">"})
    assert await consumer.process_once(r, "signing", "c1", KEY, pending=True) == 2
    assert await consumer.process_once(r, "signing", "c1", KEY, pending=True) == 0
    assert await r.hlen(consumer.SIGNATURES_KEY) == 2


async def test_consumer_run_loop_until_stopped(redis_server, journal: RedisJournal) -> None:
    import asyncio

    consumer = load_consumer()
    stop = asyncio.Event()
    task = asyncio.create_task(
        consumer.run(redis_server.url, "signing", "c1", KEY, min_idle_ms=1000, reclaim_every_s=5, stop=stop)
    )
    await publish(journal, 2)
    async with asyncio.timeout(10):
        while await journal.redis.hlen(consumer.SIGNATURES_KEY) < 2:
            await asyncio.sleep(0.02)  # poll interval
    stop.set()
    await asyncio.wait_for(task, 5)
