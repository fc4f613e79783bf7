"""The awards stream contract: safe trimming and the example contract-signing consumer."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.crc import key_slot

from bidserver.store.awards import (
    AWARDS_STREAM,
    awards_streams,
    decode_award,
    ensure_group,
    ensure_groups,
    safe_trim,
    safe_trim_all,
)
from bidserver.store.embedded import EmbeddedRedis
from bidserver.store.journal import AwardRecord
from bidserver.store.keyspace import KeySpace
from bidserver.store.redis_journal import RedisJournal

from .chained import sealed
from .servers import waitaof_capable_server

EXAMPLE = Path(__file__).parents[2] / "examples" / "award_consumer.py"
KEY = b"test-signing-key"
# The example, run as a command, imports the bidserver of this checkout (not another installed).
CHECKOUT = {"PYTHONPATH": str(EXAMPLE.parents[1])}


def load_consumer():
    spec = importlib.util.spec_from_file_location("award_consumer", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["redis", "valkey"])
def awards_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """The system redis-server, and a Valkey: trimming rests on what XINFO GROUPS reports."""
    if request.param == "redis":
        yield request.getfixturevalue("redis_server")
        return
    with waitaof_capable_server(tmp_path / "valkey") as server:
        yield server


@pytest.fixture
async def journal(awards_server) -> AsyncIterator[RedisJournal]:
    j = RedisJournal(awards_server.url)
    await j.connect()
    yield j
    await j.close()


async def publish(journal: RedisJournal, n: int) -> list[AwardRecord]:
    awards = [AwardRecord(f"aw-{i}", f"auc-{i}", "L1", f'{{"n":{i}}}'.encode()) for i in range(n)]
    for award in awards:
        await journal.append(award.auction_id, 1, sealed(1, 1), [award])
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


async def ids_of(r) -> list[bytes]:
    return [i for i, _ in await r.xrange(AWARDS_STREAM)]


async def read_and_ack(
    r, group: str, count: int | None = None, *, stream: str = AWARDS_STREAM
) -> list[bytes]:
    reply = await r.xreadgroup(group, "c", {stream: ">"}, count=count)
    ids = [i for i, _ in reply[0][1]] if reply else []
    if ids:
        await r.xack(stream, group, *ids)
    return ids


async def test_safe_trim_keeps_what_a_group_created_at_dollar_skipped(journal) -> None:
    """A group created at "$" has a last-delivered id above awards it never received: they are
    not acknowledged by it, so they are not trimmed on its account."""
    r = journal.redis
    await publish(journal, 3)
    await ensure_group(r, "only-new", start_id="$")
    assert await safe_trim(r) == 0  # it alone, past 3 awards it never received
    assert len(await ids_of(r)) == 3

    await ensure_group(r, "all")
    assert len(await read_and_ack(r, "all")) == 3
    assert await safe_trim(r) == 0  # "all" acknowledged them, "only-new" did not
    assert len(await ids_of(r)) == 3


async def test_safe_trim_after_a_dollar_group_has_read_keeps_what_others_need(journal) -> None:
    """Once the "$" group has been delivered something Redis reports the awards it skipped as
    read by it (the limit documented in docs/awards.md): they stay while another group needs
    them, and go once every group has acknowledged what it was delivered."""
    r = journal.redis
    await publish(journal, 3)
    await ensure_group(r, "all")
    await ensure_group(r, "only-new", start_id="$")
    await journal.append("later", 1, sealed(1, 1), [AwardRecord("aw-9", "later", "L1", b"{}")])
    assert len(await read_and_ack(r, "only-new")) == 1
    assert await safe_trim(r) == 0  # "all" has not read anything
    assert len(await read_and_ack(r, "all", count=2)) == 2
    assert await safe_trim(r) == 2
    assert len(await read_and_ack(r, "all")) == 2
    assert await safe_trim(r) == 2 and await ids_of(r) == []


async def test_safe_trim_keeps_what_a_group_moved_back_will_read_again(journal) -> None:
    """SETID back: the group needs every entry after its new last-delivered id, even those older
    than its pending ones (the oldest pending entry alone is not the bound)."""
    r = journal.redis
    await publish(journal, 5)
    ids = await ids_of(r)
    await ensure_group(r, "g")
    await r.xreadgroup("g", "c", {AWARDS_STREAM: ">"})
    await r.xack(AWARDS_STREAM, "g", *ids[:3])  # ids[3], ids[4] pending
    await r.xgroup_setid(AWARDS_STREAM, "g", ids[0], entries_read=1)  # read again from ids[1]
    assert await safe_trim(r) == 1
    assert await ids_of(r) == ids[1:]


async def test_safe_trim_does_not_trust_a_position_it_cannot_account_for(journal) -> None:
    r = journal.redis
    await publish(journal, 5)
    ids = await ids_of(r)
    await ensure_group(r, "g")
    assert len(await read_and_ack(r, "g")) == 5

    await r.xgroup_setid(AWARDS_STREAM, "g", ids[2])  # a middle id, no ENTRIESREAD: lag unknown
    assert (await r.xinfo_groups(AWARDS_STREAM))[0]["lag"] is None
    assert await safe_trim(r) == 0

    await r.xgroup_setid(AWARDS_STREAM, "g", "0")  # known lag, but set, not read: entries-read nil
    await r.xgroup_setid(AWARDS_STREAM, "g", ids[4])  # forward past everything, never delivered
    assert await safe_trim(r) == 0

    await r.xgroup_setid(AWARDS_STREAM, "g", "99999999999999-0")  # a future id
    assert await safe_trim(r) == 0
    assert await ids_of(r) == ids


async def test_safe_trim_never_drops_pending_entries(journal: RedisJournal) -> None:
    """Delivered but not acknowledged: kept, even when every group's position is past them."""
    r = journal.redis
    await publish(journal, 4)
    ids = await ids_of(r)
    await ensure_group(r, "a")
    await ensure_group(r, "b")
    await read_and_ack(r, "a")
    await r.xreadgroup("b", "crashed", {AWARDS_STREAM: ">"})
    await r.xack(AWARDS_STREAM, "b", ids[0], ids[3])  # ids[1], ids[2] pending in b
    assert await safe_trim(r) == 1
    assert await ids_of(r) == ids[1:]
    await r.xack(AWARDS_STREAM, "b", ids[1], ids[2])
    assert await safe_trim(r) == 3 and await ids_of(r) == []


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


async def test_consumer_acks_a_cancellation_without_signing_it(journal: RedisJournal) -> None:
    """A cancel's release (empty lot_id, award_id the auction's id) ends the auction's story on
    the stream: there is no contract to sign."""
    consumer = load_consumer()
    r = journal.redis
    cancellation = AwardRecord("auc-9", "auc-9", "", b'{"tag":["tenderCancellation"]}')
    await journal.append("auc-9", 1, sealed(1, 1), [cancellation])
    await ensure_group(r, "signing")
    assert await consumer.process_once(r, "signing", "c1", KEY, block_ms=100) == 1
    assert (await r.xpending(AWARDS_STREAM, "signing"))["pending"] == 0
    assert await r.hgetall(consumer.SIGNATURES_KEY) == {}


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


async def test_consumer_run_loop_until_stopped(awards_server, journal: RedisJournal) -> None:
    consumer = load_consumer()
    stop = asyncio.Event()
    task = asyncio.create_task(
        consumer.run(awards_server.url, "signing", "c1", KEY, min_idle_ms=1000, reclaim_every_s=5, stop=stop)
    )
    await publish(journal, 2)
    async with asyncio.timeout(10):
        while await journal.redis.hlen(consumer.SIGNATURES_KEY) < 2:
            await asyncio.sleep(0.02)  # poll interval
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_consumer_run_loop_rereads_reclaims_and_signs_each_award_once(
    awards_server, journal: RedisJournal
) -> None:
    """The whole service as it starts after a crash: its own pending entries first, then what a
    dead consumer left pending (XAUTOCLAIM), then new awards; each signed once, all acked."""
    consumer = load_consumer()
    r = journal.redis
    awards = await publish(journal, 4)
    await ensure_group(r, "signing")
    await r.xreadgroup("signing", "c1", {AWARDS_STREAM: ">"}, count=1)  # c1's own, before a crash
    await r.xreadgroup("signing", "dead", {AWARDS_STREAM: ">"}, count=1)  # another's, stuck
    stop = asyncio.Event()
    task = asyncio.create_task(
        consumer.run(
            awards_server.url, "signing", "c1", KEY, min_idle_ms=0, reclaim_every_s=60, stop=stop
        )
    )
    later = AwardRecord("aw-late", "auc-late", "L1", b'{"n":"late"}')
    await journal.append(later.auction_id, 1, sealed(1, 1), [later])
    async with asyncio.timeout(10):
        while await r.hlen(consumer.SIGNATURES_KEY) < 5 or (
            await r.xpending(AWARDS_STREAM, "signing")
        )["pending"]:
            await asyncio.sleep(0.02)  # poll interval
    stop.set()
    await asyncio.wait_for(task, 5)
    signatures = await r.hgetall(consumer.SIGNATURES_KEY)
    assert {k.decode() for k in signatures} == {a.award_id for a in [*awards, later]}
    for award in [*awards, later]:
        expected = hmac.new(KEY, award.payload, hashlib.sha256).hexdigest().encode()
        assert signatures[award.award_id.encode()] == expected


async def test_consumer_runs_as_the_documented_command(awards_server, journal) -> None:
    """``AWARD_SIGNING_KEY=... python examples/award_consumer.py --redis-url ...`` signs what is
    published and stops cleanly on SIGTERM; without a key it refuses to start."""
    consumer = load_consumer()
    args = [sys.executable, str(EXAMPLE), "--redis-url", awards_server.url, "--consumer", "s1"]
    without_key = {k: v for k, v in {**os.environ, **CHECKOUT}.items() if k != "AWARD_SIGNING_KEY"}
    refused = subprocess.run(args, env=without_key, capture_output=True, timeout=30)
    assert refused.returncode == 2 and b"AWARD_SIGNING_KEY" in refused.stderr

    env = {**os.environ, **CHECKOUT, "AWARD_SIGNING_KEY": KEY.decode()}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await publish(journal, 2)
        async with asyncio.timeout(20):
            while await journal.redis.hlen(consumer.SIGNATURES_KEY) < 2:
                assert proc.poll() is None, proc.stderr.read().decode()
                await asyncio.sleep(0.05)  # poll interval
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- on a Redis Cluster: 16 awards streams, one per shard ----------------------------------------


@pytest.fixture
async def cluster_journal(redis_cluster) -> AsyncIterator[RedisJournal]:
    j = RedisJournal(redis_cluster.url, replicas=1)
    await j.connect()
    yield j
    await j.close()


def auction_of_each_shard(keys: KeySpace, tag: str = "") -> list[str]:
    """One auction id per shard, in shard order (the first ids ``auc-<n><tag>`` that land there)."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < keys.shards:
        found.setdefault(keys.shard(f"auc-{n}{tag}"), f"auc-{n}{tag}")
        n += 1
    return [found[s] for s in range(keys.shards)]


async def publish_in_every_shard(journal: RedisJournal, lots: int = 1) -> list[AwardRecord]:
    """One auction per shard, awarded ``lots`` lots (one append each, in lot order)."""
    awards = []
    for auction_id in auction_of_each_shard(journal.keys):
        for lot in range(1, lots + 1):
            award = AwardRecord(f"{auction_id}:L{lot}", auction_id, f"L{lot}", b"{}")
            await journal.append(auction_id, lot, sealed(lot, lot), [award])
            awards.append(award)
    return awards


async def test_cluster_awards_land_in_their_shards_streams(cluster_journal, redis_cluster) -> None:
    j = cluster_journal
    streams = awards_streams(j.keys)
    assert streams == j.keys.of_every_shard("awards") and len(set(streams)) == 16
    assert len({redis_cluster.master_of_key(s) for s in streams}) == 3  # spread over the masters
    awards = await publish_in_every_shard(j)
    for shard, (stream, award) in enumerate(zip(streams, awards, strict=True)):
        assert j.keys.shard(award.auction_id) == shard
        assert [decode_award(f) for _, f in await j.redis.xrange(stream)] == [award]
    assert await j.redis.exists(AWARDS_STREAM) == 0  # no global stream on a cluster


async def test_cluster_ensure_groups_on_every_shard(cluster_journal) -> None:
    j = cluster_journal
    assert await ensure_groups(j.redis, j.keys, "signing") == 16  # streams made as needed
    assert await ensure_groups(j.redis, j.keys, "signing") == 0
    for stream in awards_streams(j.keys):
        assert [g["name"] for g in await j.redis.xinfo_groups(stream)] == [b"signing"]


async def test_cluster_group_sees_every_award_once_in_auction_order(cluster_journal) -> None:
    j = cluster_journal
    await ensure_groups(j.redis, j.keys, "signing")
    awards = await publish_in_every_shard(j, lots=3)
    seen: list[AwardRecord] = []
    for stream in awards_streams(j.keys):  # one XREADGROUP per stream: they are in other slots
        while reply := await j.redis.xreadgroup("signing", "c", {stream: ">"}, count=2):
            ids = [i for i, _ in reply[0][1]]
            seen += [decode_award(f) for _, f in reply[0][1]]
            await j.redis.xack(stream, "signing", *ids)
    assert sorted(seen, key=lambda a: a.award_id) == sorted(awards, key=lambda a: a.award_id)
    for auction_id in {a.auction_id for a in awards}:
        lots = [a.lot_id for a in seen if a.auction_id == auction_id]
        assert lots == ["L1", "L2", "L3"]


async def test_cluster_safe_trim_all_trims_each_shard_on_its_groups_alone(cluster_journal) -> None:
    j = cluster_journal
    await publish_in_every_shard(j, lots=2)
    streams = awards_streams(j.keys)
    assert await safe_trim_all(j.redis, j.keys) == {}  # no group anywhere
    await ensure_groups(j.redis, j.keys, "signing")
    acked = streams[::3]
    for stream in acked:
        await read_and_ack(j.redis, "signing", stream=stream)
    assert await safe_trim_all(j.redis, j.keys) == {s: 2 for s in acked}
    for stream in streams:
        assert await j.redis.xlen(stream) == (0 if stream in acked else 2)
    assert await safe_trim_all(j.redis, j.keys) == {}


async def test_cluster_the_server_trims_every_shards_stream(cluster_journal, monkeypatch) -> None:
    """``bidserver.app``'s trimming task, on every shard's stream."""
    from bidserver import app

    j = cluster_journal
    await publish_in_every_shard(j)
    await ensure_groups(j.redis, j.keys, "signing")
    for stream in awards_streams(j.keys):
        await read_and_ack(j.redis, "signing", stream=stream)
    monkeypatch.setattr(app, "AWARDS_TRIM_INTERVAL_S", 0.01)
    trimmer = asyncio.create_task(app._trim_awards_forever(j))
    try:
        async with asyncio.timeout(10):
            while [s for s in awards_streams(j.keys) if await j.redis.xlen(s)]:
                await asyncio.sleep(0.02)  # poll interval
    finally:
        trimmer.cancel()


async def signed_in_every_shard(consumer, journal: RedisJournal) -> dict[str, str]:
    """award_id -> the hash it was signed in, over every shard's hash of signatures."""
    where = {}
    for _stream, signatures in consumer.followed(journal.url):
        where |= {k.decode(): signatures for k in await journal.redis.hkeys(signatures)}
    return where


async def test_cluster_consumer_signs_and_reclaims_per_shard_stream(cluster_journal) -> None:
    """Each stream's awards are signed into the hash of its own slot (its shard's tag), so the
    signature, the ack and the award are on one master, in one AOF."""
    consumer = load_consumer()
    j, r = cluster_journal, cluster_journal.redis
    awards = await publish_in_every_shard(j)
    await ensure_groups(r, j.keys, "signing")
    followed = consumer.followed(j.url)
    assert [stream for stream, _ in followed] == awards_streams(j.keys)
    for stream, signatures in followed:
        assert key_slot(stream.encode()) == key_slot(signatures.encode())
    stuck, stuck_signatures = followed[5]
    await r.xreadgroup("signing", "dead", {stuck: ">"})  # a consumer "crashes" on shard 5
    assert await consumer.reclaim_stuck(r, "signing", "c1", KEY, min_idle_ms=0, stream=stuck,
                                        signatures_key=stuck_signatures) == 1
    for stream, signatures in followed:
        await consumer.process_once(r, "signing", "c1", KEY, block_ms=10, stream=stream,
                                    signatures_key=signatures)
        assert (await r.xpending(stream, "signing"))["pending"] == 0
    assert await signed_in_every_shard(consumer, j) == {
        a.award_id: followed[j.keys.shard(a.auction_id)][1] for a in awards
    }


async def test_cluster_consumer_run_loop_follows_every_shard(redis_cluster, cluster_journal):
    """The whole service on a cluster URL: its own pending entries, a dead consumer's (on
    another shard), and new awards in every shard; each signed once, all acked."""
    consumer = load_consumer()
    j, r = cluster_journal, cluster_journal.redis
    streams = awards_streams(j.keys)
    awards = await publish_in_every_shard(j)
    await ensure_groups(r, j.keys, "signing")
    await r.xreadgroup("signing", "c1", {streams[2]: ">"})  # c1's own, before a crash
    await r.xreadgroup("signing", "dead", {streams[11]: ">"})  # another's, stuck
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(
        redis_cluster.url, "signing", "c1", KEY, min_idle_ms=0, reclaim_every_s=60, stop=stop))
    later = []
    for auction_id in auction_of_each_shard(j.keys, tag="-late"):
        later.append(AwardRecord(f"{auction_id}:L1", auction_id, "L1", b"{}"))
        await j.append(auction_id, 1, sealed(1, 1), [later[-1]])

    async def pending() -> int:
        return sum([(await r.xpending(s, "signing"))["pending"] for s in streams])

    async with asyncio.timeout(20):
        while len(await signed_in_every_shard(consumer, j)) < 32 or await pending():
            await asyncio.sleep(0.02)  # poll interval
    stop.set()
    await asyncio.wait_for(task, 5)
    signed = await signed_in_every_shard(consumer, j)
    assert set(signed) == {a.award_id for a in [*awards, *later]}
