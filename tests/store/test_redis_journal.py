"""Redis-only behaviour: durability detection, outages and recovery, crash survival."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from bidserver.store.journal import JournalError, JournalNotDurable, JournalUnavailable
from bidserver.store.redis_journal import RedisJournal

from .chained import hash_of, numbered, sealed


async def connected(url: str, **kwargs) -> RedisJournal:
    journal = RedisJournal(url, **kwargs)
    await journal.connect()
    return journal


async def test_embedded_server_is_aof_always(redis_server) -> None:
    journal = await connected(redis_server.url)
    assert journal.mode == "aof_always"
    await journal.close()


async def test_refuses_server_without_aof(redis_factory) -> None:
    server = redis_factory("noaof", overrides={"appendonly": "no"})
    journal = RedisJournal(server.url)
    with pytest.raises(JournalNotDurable, match="appendonly=no"):
        await journal.connect()
    await journal.close()


async def test_refuses_everysec_without_waitaof(redis_factory) -> None:
    server = redis_factory("everysec", overrides={"appendfsync": "everysec"})
    journal = RedisJournal(server.url)
    info = await journal.redis.execute_command("COMMAND INFO", "WAITAOF")
    if info and info[0]:
        assert await journal.connect() == "waitaof"
    else:
        with pytest.raises(JournalNotDurable, match="appendfsync=everysec"):
            await journal.connect()
    await journal.close()


async def test_allow_unsafe_is_loud(redis_factory, caplog) -> None:
    server = redis_factory("noaof", overrides={"appendonly": "no"})
    with caplog.at_level(logging.CRITICAL, logger="bidserver.store.redis_journal"):
        journal = await connected(server.url, allow_unsafe=True)
    assert journal.mode == "unsafe"
    assert any("UNSAFE" in r.getMessage() for r in caplog.records)
    await journal.append("a", 1, sealed(1, 1))
    await journal.close()


async def test_waitaof_mode(waitaof_server) -> None:
    journal = await connected(waitaof_server.url)
    assert journal.mode == "waitaof"
    await journal.append("a", 1, sealed(1, 2))
    await journal.append("a", 1, sealed(1, 2))  # retry: the fence makes WAITAOF cover it
    assert await journal.read("a", durable=False) == numbered(1, 2)
    assert int(await journal.redis.get(journal.fence_key)) == 1
    await journal.close()


async def _calls(journal: RedisJournal, command: str) -> int:
    stats = await journal.redis.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


async def test_waitaof_mode_fences_durable_reads(waitaof_server) -> None:
    """A durable read is followed by a write and WAITAOF on one connection (the fence): another
    writer's batch, readable before its fsync, is trusted only once the fence is fsynced."""
    writer = await connected(waitaof_server.url)
    reader = await connected(waitaof_server.url)
    await writer.append("a", 1, sealed(1, 1))
    fenced = await _calls(reader, "waitaof")

    assert await reader.read("a") == numbered(1, 1)
    assert await reader.redis.get(reader.fence_key) == b"1"
    assert await _calls(reader, "waitaof") == fenced + 1
    assert await reader.read("a", durable=False) == numbered(1, 1)  # looking only: no fence
    await reader.fence()
    assert await reader.redis.get(reader.fence_key) == b"2"
    assert await _calls(reader, "waitaof") == fenced + 2
    await writer.close()
    await reader.close()


async def test_a_read_that_cannot_be_proven_durable_is_unavailable(waitaof_server) -> None:
    """A failed fence (WAITAOF refused here: AOF switched off under us) means the read is not
    trusted: ``JournalUnavailable``, never the data."""
    journal = await connected(waitaof_server.url)
    await journal.append("a", 1, sealed(1, 1))
    await journal.redis.config_set("appendonly", "no")
    with pytest.raises(JournalUnavailable, match="not proven durable"):
        await journal.read("a")
    with pytest.raises(JournalUnavailable):
        await journal.fence()
    assert await journal.read("a", durable=False) == numbered(1, 1)
    await journal.close()


async def test_aof_always_reads_send_no_fence(redis_server) -> None:
    """With ``appendfsync always`` nothing is visible before its fsync: durable reads (the hot
    path of a reload, a recovery, a take-over) cost no extra round trip."""
    journal = await connected(redis_server.url)
    await journal.append("a", 1, sealed(1, 1))
    await journal.redis.config_resetstat()
    assert await journal.read("a") == numbered(1, 1)
    await journal.fence()
    assert await _calls(journal, "xrange") == 1
    assert await _calls(journal, "incr") == await _calls(journal, "waitaof") == 0
    assert await journal.redis.exists(journal.fence_key) == 0
    await journal.close()


async def test_not_connected_is_an_error(redis_server) -> None:
    journal = RedisJournal(redis_server.url)
    with pytest.raises(JournalError, match="connect"):
        await journal.append("a", 1, sealed(1, 1))
    await journal.close()


async def test_connect_to_nothing_is_unavailable(tmp_path: Path) -> None:
    journal = RedisJournal(f"unix://{tmp_path}/missing.sock")
    with pytest.raises(JournalUnavailable):
        await journal.connect()
    assert await journal.ping() is False
    await journal.close()


async def test_unavailable_while_stopped_then_recovers(redis_server) -> None:
    journal = await connected(redis_server.url)
    await journal.append("a", 1, sealed(1, 1))
    redis_server.stop()

    started = time.monotonic()
    with pytest.raises(JournalUnavailable):
        await journal.append("a", 2, sealed(2, 2))
    with pytest.raises(JournalUnavailable):
        await journal.read("a")
    with pytest.raises(JournalUnavailable):
        await journal.unfinished_ids()
    assert await journal.ping() is False
    assert time.monotonic() - started < 10

    redis_server.start()  # same data dir: the AOF is reloaded
    await journal.append("a", 2, sealed(2, 2))  # same object, no rebuild
    assert await journal.read("a") == numbered(1, 2)
    assert await journal.ping() is True
    await journal.close()


async def test_unavailable_when_server_hangs(redis_server) -> None:
    """A server that accepts but never answers (SIGSTOP) must not hang the append."""
    journal = await connected(redis_server.url, socket_timeout=0.5, connect_timeout=0.5,
                              waitaof_timeout_ms=100)
    await journal.append("a", 1, sealed(1, 1))
    os.kill(redis_server.pid, 19)  # SIGSTOP
    try:
        started = time.monotonic()
        with pytest.raises(JournalUnavailable):
            await journal.append("a", 2, sealed(2, 2))
        assert time.monotonic() - started < 5
    finally:
        os.kill(redis_server.pid, 18)  # SIGCONT
    # The timed-out script may or may not have run: a retry of the same batch settles it.
    await journal.append("a", 2, sealed(2, 2))
    assert await journal.read("a") == numbered(1, 2)
    await journal.close()


async def test_acknowledged_data_survives_sigkill(redis_server) -> None:
    journal = await connected(redis_server.url)
    entries = sealed(1, 50)
    for seq in range(1, 51):
        await journal.append("a", seq, [entries[seq - 1]])
    await journal.mark_finished("a")
    await journal.append("b", 1, sealed(1, 1))
    redis_server.kill()  # no chance to flush anything: only what was fsynced survives
    redis_server.start()
    assert [s for s, _ in await journal.read("a")] == list(range(1, 51))
    assert await journal.unfinished_ids() == ["b"]
    await journal.close()


async def test_script_cache_flush_falls_back_to_eval(redis_server) -> None:
    journal = await connected(redis_server.url)
    await journal.redis.script_flush()
    await journal.append("a", 1, sealed(1, 1))
    assert await journal.read("a") == numbered(1, 1)
    await journal.close()


async def test_keys_follow_the_prefix(redis_server) -> None:
    journal = await connected(redis_server.url, prefix="t1")
    [entry] = sealed(1, 1)
    await journal.append("a", 1, [entry])
    keys = sorted(k.decode() for k in await journal.redis.keys("*"))
    assert keys == ["t1:auction:a", "t1:auctions"]
    entries = await journal.redis.xrange("t1:auction:a")
    assert entries == [(b"1-0", {b"e": entry})]  # the hash is read from the envelope
    await journal.close()


async def test_trim_archived_leaves_only_the_index_and_the_archives_head(redis_server) -> None:
    """After trimming, the auction's own keys are gone (stream, snapshot); what stays of it is a
    member of the index and of the finished set and a field of the archived hash."""
    journal = await connected(redis_server.url, prefix="t1")
    await journal.append("a", 1, sealed(1, 3))
    await journal.mark_finished("a")
    await journal.append("b", 1, sealed(1, 1))
    await journal.redis.set(journal.snapshot_key("a"), b"state at seq 3")
    head = hash_of(sealed(3, 3)[0])
    await journal.trim_archived("a", 3, head)
    keys = sorted(k.decode() for k in await journal.redis.keys("*"))
    assert keys == ["t1:archived", "t1:auction:b", "t1:auctions", "t1:finished"]
    assert await journal.redis.smembers("t1:auctions") == {b"a", b"b"}
    assert await journal.redis.smembers("t1:finished") == {b"a"}
    assert await journal.redis.hgetall("t1:archived") == {b"a": f"3:{head}".encode()}
    await journal.close()


async def test_a_trim_that_cannot_be_proven_durable_is_unavailable(waitaof_server) -> None:
    """WAITAOF refused (AOF switched off under us): the trim may be lost in a crash, so it is not
    acknowledged; trimming again, once the server is durable again, is the no-op retry."""
    journal = await connected(waitaof_server.url)
    await journal.append("a", 1, sealed(1, 1))
    await journal.mark_finished("a")
    await journal.redis.config_set("appendonly", "no")
    head = hash_of(sealed(1, 1)[0])
    with pytest.raises(JournalUnavailable, match="not confirmed"):
        await journal.trim_archived("a", 1, head)
    await journal.redis.config_set("appendonly", "yes")
    await journal.trim_archived("a", 1, head)
    assert await journal.archived("a") == (1, head)
    await journal.close()


async def test_append_many_during_outage_reports_each(redis_server) -> None:
    from bidserver.store.journal import AppendRequest

    journal = await connected(redis_server.url)
    redis_server.stop()
    results = await journal.append_many(
        [AppendRequest("a", 1, sealed(1, 1)), AppendRequest("b", 1, sealed(1, 1))]
    )
    assert [type(r) for r in results] == [JournalUnavailable, JournalUnavailable]
    await journal.close()


async def test_read_only_server_is_unavailable(redis_server) -> None:
    journal = await connected(redis_server.url)
    await journal.redis.execute_command("REPLICAOF", "127.0.0.1", "1")  # a replica of nothing
    try:
        with pytest.raises(JournalUnavailable, match="ReadOnly"):
            await journal.append("a", 1, sealed(1, 1))
    finally:
        await journal.redis.execute_command("REPLICAOF", "NO", "ONE")
    await journal.append("a", 1, sealed(1, 1))
    await journal.close()
