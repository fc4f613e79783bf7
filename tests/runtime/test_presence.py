"""The presence tracker (``runtime.presence``): alone in a process, and shared through a real Redis
by several trackers (what several server processes do)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from bidserver import clock as wall
from bidserver.runtime.presence import Presence, Seen
from bidserver.store.connect import is_cluster_url
from bidserver.store.keyspace import KeySpace
from bidserver.store.presence import RedisPresence

from ..store.cluster_servers import redis_cluster

from ..ws.test_fanout import wait_for
from .test_room import Clock

HEARTBEAT_MS = 100  # stale after 300 ms


def test_a_supplier_is_online_while_one_of_its_sockets_is_open():
    clock = Clock()
    presence = Presence(clock)
    calls: list[str] = []
    presence.watch("a1", lambda: calls.append("a1"))
    assert presence.seen("a1") == {}  # nobody seen yet
    presence.opened("a1", "s1")
    presence.opened("a1", "s1")  # a second tab
    presence.opened("a2", "s1")  # another auction
    assert presence.seen("a1") == {"s1": Seen(True, None)} and calls == ["a1"]
    clock.now += 1_000
    presence.closed("a1", "s1")
    assert presence.seen("a1") == {"s1": Seen(True, None)} and calls == ["a1"]
    clock.now += 1_000
    presence.closed("a1", "s1")
    assert presence.seen("a1") == {"s1": Seen(False, clock.now)} and calls == ["a1", "a1"]
    assert presence.seen("a2") == {"s1": Seen(True, None)}
    presence.opened("a1", "s1")
    assert presence.seen("a1") == {"s1": Seen(True, None)}


async def test_a_watcher_that_fails_does_not_fail_the_socket(caplog):
    presence = Presence(Clock())

    def broken() -> None:
        raise RuntimeError("a bug")

    presence.watch("a1", broken)
    presence.opened("a1", "s1")
    assert presence.seen("a1") == {"s1": Seen(True, None)}
    assert "presence watcher of a1 failed" in caplog.text


def store(redis_url: str, node: str) -> RedisPresence:
    """Prefix ``t``, sharded on a cluster (as a journal on the URL would be)."""
    keys = KeySpace("t", sharded=is_cluster_url(redis_url))
    return RedisPresence(redis_url, node=node, keys=keys, heartbeat_ms=HEARTBEAT_MS)


def shared(redis_url: str, node: str) -> Presence:
    """A tracker on the wall clock (staleness is judged by the reader's clock)."""
    return Presence(wall.now_ms, store(redis_url, node))


def left_between(seen: Seen | None, start: int, end: int) -> bool:
    return seen is not None and not seen.online and start <= seen.left_at <= end


@pytest.mark.parametrize("where", ["redis_server", "redis_cluster"])
async def test_processes_share_presence_through_redis(request, where):
    """A supplier's socket on one process, the buyer's on another."""
    url = request.getfixturevalue(where).url
    here, there = shared(url, "here"), shared(url, "there")
    here.start()
    there.start()
    try:
        changes = []
        there.watch("a1", lambda: changes.append(dict(there.seen("a1"))))
        await wait_for(lambda: there.seen("a1") == {})  # read once: nobody
        here.opened("a1", "s1")
        await wait_for(lambda: there.seen("a1") == {"s1": Seen(True, None)})
        here.opened("a1", "s1")
        there.opened("a1", "s1")  # a socket on each process
        here.closed("a1", "s1")
        here.closed("a1", "s1")
        await asyncio.sleep(4 * HEARTBEAT_MS / 1000)  # read again since: still online
        assert there.seen("a1") == {"s1": Seen(True, None)}
        start = wall.now_ms()
        there.closed("a1", "s1")
        end = wall.now_ms()
        await wait_for(lambda: left_between(there.seen("a1")["s1"], start, end))
        assert left_between((await here.read("a1"))["s1"], start, end)  # the HTTP read
        assert [list(c.values())[0].online for c in changes if c] == [True, False]
    finally:
        await here.close()
        await there.close()


async def test_a_killed_processs_suppliers_go_offline_when_its_heartbeats_stop(redis_server):
    killed = shared(redis_server.url, "killed")  # never started: it never says it again
    watching = shared(redis_server.url, "watching")
    watching.start()
    try:
        watching.watch("a1", lambda: None)
        start = wall.now_ms()
        killed.opened("a1", "s1")  # written at once, then nothing more: as if killed -9
        await wait_for(lambda: watching.seen("a1") == {"s1": Seen(True, None)})
        end = wall.now_ms()
        await wait_for(lambda: left_between(watching.seen("a1")["s1"], start, end), timeout=3)
    finally:
        await watching.close()
        await killed.close()


async def test_a_closing_process_says_its_suppliers_left(redis_server):
    closing, watching = shared(redis_server.url, "closing"), shared(redis_server.url, "watching")
    closing.start()
    watching.start()
    try:
        watching.watch("a1", lambda: None)
        closing.opened("a1", "s1")
        await wait_for(lambda: watching.seen("a1") == {"s1": Seen(True, None)})
        start = wall.now_ms()
        await closing.close()
        end = wall.now_ms()
        closing.closed("a1", "s1")  # its sockets closing afterwards change nothing
        await wait_for(lambda: left_between(watching.seen("a1")["s1"], start, end))
    finally:
        await watching.close()


async def test_redis_away_is_logged_once_and_what_was_missed_is_written_when_it_is_back(
    redis_server, caplog
):
    tracker, watching = shared(redis_server.url, "t1"), shared(redis_server.url, "t2")
    tracker.start()
    caplog.set_level(logging.INFO, logger="bidserver.runtime.presence")
    try:
        redis_server.stop()
        tracker.opened("a1", "s1")  # nothing raised: the socket is counted all the same
        tracker.opened("a1", "s2")
        start = wall.now_ms()
        tracker.closed("a1", "s2")
        end = wall.now_ms()
        await wait_for(lambda: "presence: could not" in caplog.text)
        await asyncio.sleep(5 * HEARTBEAT_MS / 1000)  # heartbeats fail meanwhile
        tracker.opened("a2", "s1")
        failures = [r for r in caplog.records if "could not" in r.getMessage()]
        assert len(failures) == 1 and failures[0].levelno == logging.WARNING
        redis_server.start()
        watching.start()
        watching.watch("a1", lambda: None)

        def caught_up() -> bool:
            seen = watching.seen("a1") or {}
            return seen.get("s1") == Seen(True, None) and left_between(seen.get("s2"), start, end)

        await wait_for(caught_up)
        await wait_for(lambda: "presence: Redis answers again" in caplog.text)
    finally:
        await tracker.close()
        await watching.close()


@pytest.mark.parametrize("where", ["redis_server", "redis_cluster"])
async def test_the_keys_and_the_nudges_on_one_redis_and_on_a_cluster(request, where):
    """One write of 40 auctions' changes: on a cluster one script call per shard (else
    CROSSSLOT), each auction's hash in its shard's slot, and every auction announced on the one
    channel to a subscriber on any node; on one Redis the names of earlier releases."""
    url = request.getfixturevalue(where).url
    presence, listener = store(url, "n1"), store(url, "n2")
    ids = [f"a{i}" for i in range(40)]
    pubsub = await listener.subscribe()  # it returns once the node confirmed the subscription
    try:
        now = wall.now_ms()
        await presence.write([(a, "s1", True, 0) for a in ids], now, nudge=True)
        nudged: set[str] = set()
        async with asyncio.timeout(5):
            while nudged != set(ids):
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None:
                    nudged |= set(listener.nudged(message["data"]))
        assert await listener.read(ids, now) == {a: {"s1": (True, None)} for a in ids}
        keys = presence.keys
        if keys.sharded:
            assert {keys.shard(a) for a in ids} == set(range(keys.shards))
            for a in ids:
                assert key_slot(presence.key(a).encode()) == key_slot(keys.stream(a).encode())
        else:
            client = Redis.from_url(url)
            assert sorted(await client.keys("t:*")) == sorted(f"t:presence:{a}".encode() for a in ids)
            await client.aclose()
        assert listener.channel == "t:presence"
    finally:
        await pubsub.aclose()
        await presence.close()
        await listener.close()


async def test_on_a_cluster_the_nudges_come_again_once_the_node_listened_to_is_replaced(tmp_path):
    """The subscribers are on the master of the channel's slot; it is killed and its replica
    takes over: they subscribe again where the slot is now, and a change is announced to them
    (heartbeats a minute apart: only a nudge makes the watcher read again)."""
    with redis_cluster(tmp_path) as cluster:
        url = cluster.url
        keys = KeySpace("t", sharded=True)
        here, there = (
            Presence(wall.now_ms, RedisPresence(url, node=n, keys=keys, heartbeat_ms=60_000))
            for n in ("here", "there")
        )
        listened = cluster.master_of_key("t:presence")
        auction = next(a for a in (f"a{i}" for i in range(100))
                       if cluster.master_of_key(keys.presence(a)) != listened)
        here.start()
        there.start()
        try:
            there.watch(auction, lambda: None)
            here.opened(auction, "s1")
            await wait_for(lambda: there.seen(auction) == {"s1": Seen(True, None)})
            cluster.kill(listened)
            await asyncio.to_thread(cluster.wait_ok)
            await wait_for(lambda: subscribers(cluster, "t:presence") == 2, timeout=10)
            here.closed(auction, "s1")
            await wait_for(lambda: not there.seen(auction)["s1"].online)
        finally:
            await here.close()
            await there.close()


def subscribers(cluster, channel: str) -> int:
    """How many connections of the running nodes are subscribed to ``channel``."""
    total = 0
    for port, node in cluster.nodes.items():
        if node.running:
            with cluster.client(port) as client:
                total += dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)
    return total


async def test_a_change_announced_while_nobody_listened_is_read_once_subscribed_again(redis_server):
    """The watcher's subscription is cut (``CLIENT KILL TYPE pubsub``) and a supplier connects
    before it subscribes again: that nudge went to nobody. Heartbeats a minute apart: only the
    read the watcher makes on subscribing again shows the supplier online."""
    keys = KeySpace("t", sharded=False)
    here, there = (Presence(wall.now_ms, RedisPresence(redis_server.url, node=n, keys=keys,
                                                       heartbeat_ms=60_000))
                   for n in ("here", "there"))
    admin = Redis.from_url(redis_server.url)

    async def listeners() -> int:
        return dict(await admin.pubsub_numsub("t:presence"))[b"t:presence"]

    here.start()
    there.start()
    try:
        there.watch("a1", lambda: None)
        async with asyncio.timeout(5):  # each process listens
            while await listeners() != 2:
                await asyncio.sleep(0.01)
        await admin.client_kill_filter(_type="pubsub")
        async with asyncio.timeout(5):
            while await listeners() != 0:
                await asyncio.sleep(0.01)
        here.opened("a1", "s1")  # its nudge goes out while nobody listens (a 0.5 s back-off)
        await wait_for(lambda: there.seen("a1") == {"s1": Seen(True, None)})
    finally:
        await here.close()
        await there.close()
        await admin.aclose()
