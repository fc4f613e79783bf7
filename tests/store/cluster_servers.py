"""A real Redis Cluster on loopback for the tests: ``masters`` masters with ``replicas`` replicas
each, every node an ``EmbeddedRedis`` (the durable config: AOF, ``appendfsync always``) on free
ports, joined with ``redis-cli --cluster create``.

Why its own bus port: a node talks to the others on a second port (the client port + 10000 by
default), which may be taken or past 65535 for a free port picked at random; ``cluster-port``
(Redis >= 7.0) names a free one. Why ``cluster-node-timeout`` 1000 ms: a failed master is
replaced after about that long, so a failover test takes seconds, not the default's 15 s.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bidserver.store.embedded import EmbeddedRedis, EmbeddedRedisError

from .servers import free_tcp_port

NODE_TIMEOUT_MS = 1000


@dataclass
class Cluster:
    """The nodes of a test cluster, by client port; ``url`` is what ``--redis-url`` takes."""

    nodes: dict[int, EmbeddedRedis] = field(default_factory=dict)
    master_count: int = 3

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.nodes)

    def client(self, port: int) -> redis.Redis:
        """A plain client to one node; a stopped node costs one short timeout, not retries."""
        return redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5,
                           retry=Retry(NoBackoff(), 0))

    def roles(self) -> dict[int, str]:
        """``port -> "master" | "slave"`` as the nodes still running see themselves."""
        out = {}
        for port, node in self.nodes.items():
            if node.running:
                with self.client(port) as c:
                    try:
                        out[port] = c.info("replication")["role"]
                    except redis.RedisError:
                        continue
        return out

    def masters(self) -> list[int]:
        return sorted(p for p, role in self.roles().items() if role == "master")

    def promoted(self, victim: int) -> bool:
        """Whether a replica has taken the place of the master ``victim`` (killed or stopped):
        the running nodes count as many masters as before, ``victim`` is none of them, and every
        running node has heard (a client that reads the slots from a node that has not would
        still be sent to ``victim``)."""
        masters = self.masters()
        if victim in masters or len(masters) != self.master_count:
            return False
        for port, node in self.nodes.items():
            if port == victim or not node.running:
                continue
            try:
                if any(owner == victim for _start, _end, owner in self._slot_owners(port)):
                    return False
            except redis.RedisError:
                return False
        return True

    def wait_promoted(self, victim: int, timeout_s: float = 30.0) -> None:
        """Until ``promoted(victim)``: right after a kill every node may still say ``ok``."""
        deadline = time.monotonic() + timeout_s
        while not self.promoted(victim):
            assert time.monotonic() < deadline, f"no replica took {victim}'s place: {self.roles()}"
            time.sleep(0.05)  # polling a condition, with a deadline

    def master_of_key(self, key: str) -> int:
        """The port of the master that serves ``key``'s slot now (as the first master asked
        sees it)."""
        slot = redis.cluster.key_slot(key.encode())
        for start, end, owner in self._slot_owners(self.masters()[0]):
            if start <= slot <= end:
                return owner
        raise AssertionError(f"no master serves slot {slot}")

    def _slot_owners(self, port: int) -> list[tuple[int, int, int]]:
        """``(first slot, last slot, master's port)`` as the node on ``port`` sees them."""
        with self.client(port) as c:
            ranges = c.execute_command("CLUSTER", "SLOTS")
        return [(start, end, int(owner[1])) for start, end, owner, *_ in ranges]

    def wait_ok(self, timeout_s: float = 20.0) -> None:
        """Until every running node says ``cluster_state:ok`` and knows as many masters as
        there are slot owners, and every running replica's link to its master is up."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self._all_ok():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"cluster not ok after {timeout_s} s: {self.roles()}")
            time.sleep(0.05)  # polling a condition, with a deadline

    def _all_ok(self) -> bool:
        for port, node in self.nodes.items():
            if not node.running:
                continue
            with self.client(port) as c:
                try:
                    if c.cluster("info")["cluster_state"] != "ok":
                        return False
                    info = c.info("replication")
                except redis.RedisError:
                    return False
            if info["role"] == "slave" and info.get("master_link_status") != "up":
                return False
        return True

    def stop(self) -> None:
        """Every node stopped: the whole cluster away, as an outage."""
        for node in self.nodes.values():
            node.stop()

    def start(self) -> None:
        """Every stopped node started again (on its port, from its AOF and nodes.conf), and the
        cluster ok: as it was, but that a replica may have taken its master's place."""
        for node in self.nodes.values():
            if not node.running:
                node.start()
        self.wait_ok()

    def kill(self, port: int) -> None:
        """``kill -9`` of one node (its AOF and nodes.conf stay, for ``restart``)."""
        self.nodes[port].kill()

    def restart(self, port: int) -> None:
        """Start a killed node again on its port: it rejoins the cluster (as the replica of
        whoever took its slots)."""
        self.nodes[port].start()


def _node(home: Path) -> tuple[EmbeddedRedis, int]:
    for _attempt in range(5):
        port, bus = free_tcp_port(), free_tcp_port()
        if port == bus:
            continue
        server = EmbeddedRedis(home, overrides={
            "port": str(port), "bind": "127.0.0.1", "cluster-enabled": "yes",
            "cluster-port": str(bus), "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": str(NODE_TIMEOUT_MS), "repl-diskless-sync-delay": "0",
            # A replica takes over even if its link was down a while (the default factor 10
            # x node timeout would keep a replica that lagged from standing in).
            "cluster-replica-validity-factor": "0",
            # The other masters go on serving their slots while one has none (by default the
            # whole cluster refuses writes until the lost slots are served again).
            "cluster-require-full-coverage": "no",
        })
        try:
            server.start()
        except EmbeddedRedisError:  # a port was taken meanwhile: others
            continue
        return server, port
    raise EmbeddedRedisError(f"no free ports for a cluster node in {home}")


@contextmanager
def redis_cluster(data_dir: Path, *, masters: int = 3, replicas: int = 1) -> Iterator[Cluster]:
    """A cluster of ``masters`` x (1 + ``replicas``) nodes, yielded once it is ok."""
    cluster = Cluster(master_count=masters)
    try:
        for i in range(masters * (1 + replicas)):
            server, port = _node(data_dir / f"node{i}")
            cluster.nodes[port] = server
        cli = shutil.which("redis-cli") or "redis-cli"
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in cluster.nodes),
             "--cluster-replicas", str(replicas), "--cluster-yes"],
            check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, timeout=60,
        )
        cluster.wait_ok()
        yield cluster
    finally:
        for server in cluster.nodes.values():
            server.kill()
