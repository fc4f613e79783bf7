"""What "acknowledged" means on a Redis, decided once at connect: on the master's disk, and on how
many replicas. The journal (``redis_journal``) and the stores that write through it follow the
``Durability`` this returns; nothing else decides it.

Why durability is checked at connect: "acknowledged" must mean "on disk". With AOF
``appendfsync always`` Redis fsyncs before it replies; with ``everysec`` a crash can lose the last
second, which is acceptable only where the server has ``WAITAOF`` (Redis >= 7.2, Valkey), sent on
the same connection right after the write, in the same pipeline. Anything else is refused with
``JournalNotDurable`` unless the operator explicitly allows it (``allow_unsafe``, logged loudly).

Why reads are fenced: with ``everysec`` a write is visible to every connection before it is
fsynced (another writer's batch whose WAITAOF has not returned yet, or our own whose WAITAOF timed
out). Trusting such a read (answering a resend "duplicate: true", showing a bid) could show what a
crash then loses. WAITAOF only waits for the calling connection's own writes, so a durable read
ends with a write on one connection after the data was read (``INCR <prefix>:fence``) and the wait
commands on that same connection: the AOF is sequential, so once the fence is fsynced, everything
read before it is too. With ``appendfsync always`` and no replicas no fence is needed (nothing is
visible before its fsync: Redis sends no reply, reads included, before the AOF is flushed), and
none is sent: that is the benchmark's hot path.

Why replicas are waited for, not trusted: Redis replicates asynchronously, so a write on the
master's disk alone dies with the master's machine (its disk, or a failover that promotes a
replica the write had not reached). With N >= 1 replicas every acknowledged write (and every
durable read's fence) is followed, on the same connection, by ``WAIT N`` and, where the server
has it, ``WAITAOF numlocal N`` (the write on the master's disk, ``numlocal`` 1 where it is not
fsynced before the reply, and on N replicas' disks); without WAITAOF (Redis < 7.2) the replicas
hold it in memory, and ``appendfsync always`` puts it on the master's disk. Why WAIT first, when
WAITAOF alone would do: a replica answers the master's request for acknowledgements as soon as
it has read the write, before its own fsync, so a lone WAITAOF waits for the replica's next
periodic report, a second later (measured: 1004 ms, against 1 ms for the pair, Valkey 9 with
``appendfsync always`` replicas); after WAIT the replica has fsynced by the time WAITAOF asks.
The two share the timeout. ``replicas=None`` takes 1 if the master has a replica connected at
start, else 0; more than are connected at start is refused (``JournalNotDurable``), and a write
the replicas do not confirm in time is ``JournalUnavailable``: refused, never acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .journal import JournalNotDurable, JournalUnavailable

log = logging.getLogger(__name__)

MODE_AOF_ALWAYS = "aof_always"
MODE_WAITAOF = "waitaof"
MODE_UNSAFE = "unsafe"

Wait = tuple[Any, ...]  # one wait command with its arguments


@dataclass(frozen=True, slots=True)
class Durability:
    """The outcome of ``negotiate``: the master's disk (``mode``), the replicas that confirm
    every write, and the wait commands that follow every durable write on its connection."""

    mode: str
    replicas: int
    waits: tuple[Wait, ...]
    timeout_ms: int

    @property
    def fenced(self) -> bool:
        """Is every durable write followed by a wait command? Then a script that finds its write
        already stored must write all the same (the fence counter), for its wait to cover it."""
        return bool(self.waits)

    def describe(self) -> str:
        """In words, for logs and refusals: what an acknowledgement means."""
        disk = {MODE_AOF_ALWAYS: "fsynced (appendfsync always)", MODE_WAITAOF:
                "fsynced (WAITAOF)", MODE_UNSAFE: "NOT fsynced"}[self.mode]
        if not self.replicas:
            return f"on the master's disk, {disk}; on no replica"
        how = "on their disks (WAITAOF)" if self.waits[-1][0] == "WAITAOF" else (
            "in their memory (WAIT: the server has no WAITAOF)")
        return f"on the master's disk, {disk}; on {self.replicas} replica(s), {how}"

    def confirmed(self, replies: Sequence[Any]) -> bool:
        """Did every wait command's reply reach what it asked for?"""
        return _confirmed(self.waits, replies)

    def unconfirmed(self, what: str, replies: Any) -> JournalUnavailable:
        return JournalUnavailable(
            f"{what} not confirmed within {self.timeout_ms} ms ({self.describe()}): {replies}"
        )


async def negotiate(
    redis: Redis, url: str, *, allow_unsafe: bool, replicas: int | None, timeout_ms: int,
    fence_key: str, cluster: bool = False,
) -> Durability:
    """What the Redis at ``url`` can promise, or ``JournalNotDurable`` saying what to change
    (``redis`` is one master of the cluster ``url`` names, with ``cluster``)."""
    if not cluster:
        await _refuse_a_cluster_node(redis, url)
    has_waitaof = await _has_waitaof(redis)
    mode = await _local_mode(redis, url, has_waitaof, allow_unsafe, timeout_ms)
    wanted = await _replicas_to_wait_for(redis, url, replicas)
    waits = _wait_commands(mode, has_waitaof, wanted, timeout_ms)
    if wanted:
        await _probe(redis, url, waits, wanted, timeout_ms, fence_key)
    return Durability(mode, wanted, waits, timeout_ms)


async def _refuse_a_cluster_node(redis: Redis, url: str) -> None:
    """A node of a Redis Cluster named as one Redis holds a share of the slots: the journal's
    keys for one Redis are not grouped by slot, and its scripts would fail one call at a time
    (CROSSSLOT, MOVED). Refused at start instead, saying how to name a cluster."""
    try:
        enabled = (await redis.info("cluster")).get("cluster_enabled")
    except ResponseError:  # INFO denied by ACL: the first script call says it, if it is one
        return
    if enabled:
        raise JournalNotDurable(
            f"Redis at {url} is a Redis Cluster node: name the cluster as "
            "redis+cluster://host:port[,host:port...] (docs/operations.md)"
        )


async def _has_waitaof(redis: Redis) -> bool:
    try:
        info = await redis.execute_command("COMMAND INFO", "WAITAOF")
    except ResponseError:  # COMMAND denied by ACL: do without WAITAOF
        return False
    return bool(info and info[0])


async def _local_mode(
    redis: Redis, url: str, has_waitaof: bool, allow_unsafe: bool, timeout_ms: int
) -> str:
    """How the master's disk holds an acknowledged write, or refuse (``JournalNotDurable``)."""
    try:
        appendonly = (await redis.config_get("appendonly")).get("appendonly")
        appendfsync = (await redis.config_get("appendfsync")).get("appendfsync")
    except ResponseError:  # CONFIG may be disabled on managed services
        appendonly = appendfsync = None
    if appendonly == "yes" and appendfsync == "always":
        return MODE_AOF_ALWAYS
    if has_waitaof and appendonly != "no":
        try:  # the probe fails if AOF is off, which also covers an unreadable CONFIG
            await redis.execute_command("WAITAOF", 1, 0, timeout_ms)
        except ResponseError as exc:
            log.debug("WAITAOF probe failed: %s", exc)
        else:
            return MODE_WAITAOF
    problem = (
        f"Redis at {url} would acknowledge writes a crash can lose "
        f"(appendonly={appendonly}, appendfsync={appendfsync}, WAITAOF "
        f"{'available' if has_waitaof else 'not available'}). Set 'appendonly yes' and "
        "'appendfsync always' (or use Redis >= 7.2 / Valkey with appendonly yes for WAITAOF)."
    )
    if not allow_unsafe:
        raise JournalNotDurable(problem)
    log.critical("UNSAFE JOURNAL: %s Continuing because allow_unsafe=True.", problem)
    return MODE_UNSAFE


async def _replicas_to_wait_for(redis: Redis, url: str, replicas: int | None) -> int:
    try:
        info = await redis.info("replication")
    except ResponseError:  # INFO denied by ACL: no replica is known to be there
        info = {}
    if info.get("role", "master") != "master":
        raise JournalNotDurable(
            f"Redis at {url} is a replica (role {info.get('role')}): writes go to the "
            "master; point the journal at the master (or at Sentinel, which finds it)"
        )
    connected = int(info.get("connected_slaves", 0))
    wanted = min(connected, 1) if replicas is None else replicas
    if wanted > connected:
        raise JournalNotDurable(
            f"{wanted} replica(s) must confirm every acknowledged write, but Redis at "
            f"{url} has {connected} connected: start them, or lower journal_replicas"
        )
    return wanted


async def _probe(
    redis: Redis, url: str, waits: tuple[Wait, ...], replicas: int, timeout_ms: int,
    fence_key: str,
) -> None:
    """A write and its wait, as every append will do: replicas that cannot confirm (a replica
    without AOF never confirms a WAITAOF) refuse the start, not the first bid."""
    pipe = redis.pipeline(transaction=False)
    pipe.incr(fence_key)
    for wait in waits:
        pipe.execute_command(*wait)
    _, *acks = await pipe.execute(raise_on_error=False)
    if not _confirmed(waits, acks):
        raise JournalNotDurable(
            f"the {replicas} replica(s) of Redis at {url} did not confirm a write within "
            f"{timeout_ms} ms ({', '.join(w[0] for w in waits)} answered {acks}); with WAITAOF "
            "every replica needs 'appendonly yes'"
        )


def _wait_commands(
    mode: str, has_waitaof: bool, replicas: int, timeout_ms: int
) -> tuple[Wait, ...]:
    """What follows every durable write on its connection (nothing: nothing to wait for)."""
    local = 1 if mode == MODE_WAITAOF else 0  # appendfsync always: fsynced before the reply
    if replicas and has_waitaof:  # WAIT first: see the module's docstring
        half = max(timeout_ms // 2, 1)
        return (("WAIT", replicas, half), ("WAITAOF", local, replicas, half))
    if replicas:
        return (("WAIT", replicas, timeout_ms),)
    if local:
        return (("WAITAOF", 1, 0, timeout_ms),)
    return ()


def _confirmed(waits: Sequence[Wait], replies: Sequence[Any]) -> bool:
    return all(_reached(wait, reply) for wait, reply in zip(waits, replies, strict=True))


def _reached(wait: Wait, reply: Any) -> bool:
    """WAIT answers the replicas reached; WAITAOF ``[local, replicas]``."""
    if isinstance(reply, BaseException):
        return False
    if wait[0] == "WAIT":
        return int(reply) >= wait[1]
    return int(reply[0]) >= wait[1] and int(reply[1]) >= wait[2]
