"""A server process's runtime on a real Redis (or Redis Cluster), wired as ``app`` wires it for
``serve --cluster``: several in one test are several processes coordinated through Redis only."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass

from bidserver.engine.formats import FORMATS
from bidserver.runtime.cluster import Cluster
from bidserver.runtime.registry import Rooms
from bidserver.store.redis_journal import RedisJournal

from .support import clock


@dataclass
class Node:
    """One server process's runtime: its journal, its part of the cluster, its rooms."""

    journal: RedisJournal
    cluster: Cluster
    rooms: Rooms


@asynccontextmanager
async def node(url: str, formats=FORMATS, *, ttl_ms: int = 5000):
    journal = RedisJournal(url)
    await journal.connect()
    cluster = Cluster(url, prefix=journal.prefix, ttl_ms=ttl_ms)
    rooms = Rooms(journal, clock, formats, cluster=cluster)
    await cluster.start(promote=rooms.promote, demote=rooms.demote)
    try:
        yield Node(journal, cluster, rooms)
    finally:
        await rooms.close()
        await cluster.close()
        await journal.close()
