"""The journal behind Sentinel (``redis+sentinel://``): a master, two replicas, three Sentinels,
all real, on loopback. The master is killed (``kill -9``) or stopped (SIGSTOP) while a writer
appends; the Sentinels promote a replica and the same ``RedisJournal``, never restarted, goes
on writing to it. Every write it acknowledged is on the promoted master (lost = 0), none twice."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
import redis

from bidserver.store.journal import JournalError
from bidserver.store.redis_journal import RedisJournal

from .chained import sealed
from .servers import replicated, sentinel_url, sentinels, tcp_port

pytestmark = pytest.mark.slow

ENTRIES = sealed(1, 400)


class Writer:
    """Appends entry after entry to one auction; a refused append is sent again (the client's
    resend), and only an answered one counts as acknowledged."""

    def __init__(self, journal: RedisJournal) -> None:
        self.journal = journal
        self.acknowledged: list[int] = []
        self.refused = 0
        self.acked_at: list[float] = []

    async def run(self, until: int) -> None:
        seq = len(self.acknowledged) + 1
        while seq <= until:
            try:
                await self.journal.append("a", seq, [ENTRIES[seq - 1]])
            except JournalError:
                self.refused += 1
                await asyncio.sleep(0.05)  # a client's back-off before its resend
                continue
            self.acknowledged.append(seq)
            self.acked_at.append(time.monotonic())
            seq += 1


async def _failover(tmp_path, fault: str) -> None:
    with replicated(tmp_path / "data", replicas=2) as (master, _), \
            sentinels(tmp_path, tcp_port(master)) as ports:
        journal = RedisJournal(sentinel_url(ports), replicas=1)
        await journal.connect()
        writer = Writer(journal)
        await writer.run(until=50)
        if fault == "kill":
            master.kill()
        elif fault == "stop":
            os.kill(master.pid, signal.SIGSTOP)
        else:  # a split as far as the tools go: the master alive, answering nobody for 5 s
            with redis.Redis(unix_socket_path=str(master.socket_path)) as direct:
                direct.client_pause(5000, all=True)
        faulted = time.monotonic()
        try:
            await asyncio.wait_for(writer.run(until=100), timeout=60)
        finally:
            if fault == "stop":
                os.kill(master.pid, signal.SIGCONT)
        first_after = next(t for t in writer.acked_at if t > faulted)
        print(f"{fault}: first acknowledged write {first_after - faulted:.2f} s after the fault, "
              f"{writer.refused} refused meanwhile")
        stored = [seq for seq, _ in await journal.read("a")]  # on the promoted master
        assert stored == list(range(1, 101))  # nothing acknowledged lost, nothing twice
        assert writer.acknowledged == list(range(1, 101))
        promoted = await journal.redis.info("server")
        assert int(promoted["tcp_port"]) != tcp_port(master)  # another machine writes now
        await journal.close()
        if fault == "pause":  # back, the old master is told to follow the promoted one (a
            # Sentinel's INFO round, up to 10 s: checked once, here, not after SIGSTOP too)
            deadline = time.monotonic() + 20
            with redis.Redis(unix_socket_path=str(master.socket_path), decode_responses=True) as old:
                while old.info("replication")["role"] != "slave":
                    assert time.monotonic() < deadline, "the old master was never demoted"
                    await asyncio.sleep(0.1)  # polling a condition, with a deadline


async def test_a_master_killed_is_replaced_and_nothing_acknowledged_is_lost(tmp_path):
    await _failover(tmp_path, "kill")


async def test_a_master_stopped_past_the_timeout_is_replaced_the_same(tmp_path):
    await _failover(tmp_path, "stop")


async def test_a_master_paused_past_the_timeout_is_replaced_and_demoted(tmp_path):
    """CLIENT PAUSE ALL: the master answers nobody (the Sentinels, its replicas, the journal)
    for longer than the Sentinels wait. They promote a replica; the journal writes there; when
    the pause ends the old master is told to follow it, and what it held that nobody
    acknowledged is dropped with its history."""
    await _failover(tmp_path, "pause")
