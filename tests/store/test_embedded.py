"""EmbeddedRedis: durable config, restarts, and never two servers on one AOF."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from bidserver.store.embedded import DataDirInUse, EmbeddedRedis, Supervisor, _pid_alive
from tests.procs import zombies


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.01
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    return True


def test_generated_config_is_durable_and_private(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "r") as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("appendfsync")["appendfsync"] == "always"
        assert client.config_get("save")["save"] == ""
        assert client.config_get("port")["port"] == "0"
        assert server.url == f"unix://{tmp_path / 'r' / 'redis.sock'}"
        assert (server.socket_path.stat().st_mode & 0o777) == 0o700
        client.close()
    assert not server.running


def test_restart_keeps_data(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "r")
    server.start()
    client = redis.Redis.from_url(server.url)
    client.set("k", "v")
    server.kill()
    server.start()
    assert client.get("k") == b"v"
    client.close()
    server.stop()


def test_a_second_owner_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path / "r")
    first.start()
    client = redis.Redis.from_url(first.url)
    client.set("k", "v")
    second = EmbeddedRedis(tmp_path / "r")
    with pytest.raises(DataDirInUse) as refused:
        second.start()
    assert refused.value.pid == os.getpid()  # the owner's pid, from the lock file
    assert first.running and _pid_alive(first.pid)
    assert client.set("k2", "v2") and client.get("k") == b"v"
    assert (tmp_path / "r" / "embedded.pid").read_text().strip() == str(first.pid)
    client.close()
    first.stop()
    second.start()  # released: the next owner starts
    assert redis.Redis.from_url(second.url).get("k2") == b"v2"
    second.stop()


def test_a_supervised_server_that_dies_is_reaped_and_started_again(tmp_path: Path) -> None:
    supervisor = Supervisor(EmbeddedRedis(tmp_path / "r"))
    supervisor.start()
    try:
        server = supervisor.server
        client = redis.Redis.from_url(server.url, socket_timeout=1)
        client.set("k", "v")
        for round in (1, 2):  # the second death too: the back-off goes on
            dead = server.pid
            os.kill(dead, signal.SIGKILL)
            assert wait_until(lambda: supervisor.restarts == round and server.running)
            assert server.pid != dead and not _pid_alive(dead)
            assert zombies(os.getpid()) == []
            assert wait_until(lambda: _answers(client))
            assert client.get("k") == b"v"  # the AOF, loaded again
        client.close()
    finally:
        supervisor.stop()
    assert not server.running and zombies(os.getpid()) == []
    EmbeddedRedis(tmp_path / "r").lock()  # released


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


ORPHANING_CHILD = """
import signal, sys
from pathlib import Path
import bidserver.store.embedded as embedded
embedded._set_pdeathsig = lambda parent: None  # as where the kernel cannot tie the child to us
server = embedded.EmbeddedRedis(Path(sys.argv[1]))
server.start()
print(server.pid, flush=True)
signal.pause()
"""


def test_a_redis_whose_owner_died_is_terminated_by_the_next_owner(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", ORPHANING_CHILD, str(tmp_path / "r")], stdout=subprocess.PIPE,
        text=True,
    )
    leftover = None
    try:
        line = owner.stdout.readline()
        assert line.strip().isdigit(), line
        leftover = int(line)
        with pytest.raises(DataDirInUse):
            EmbeddedRedis(tmp_path / "r").lock()
        owner.kill()  # SIGKILL: no clean-up; the kernel releases its lock, its Redis lives on
        owner.wait(10)
        assert _pid_alive(leftover)
        server = EmbeddedRedis(tmp_path / "r")
        server.start()
        assert not _pid_alive(leftover)
        assert server.running and redis.Redis.from_url(server.url).ping()
        server.stop()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        if leftover is not None and _pid_alive(leftover):
            os.kill(leftover, signal.SIGKILL)


CHILD = """
import signal, sys
from pathlib import Path
from bidserver.store.embedded import EmbeddedRedis
server = EmbeddedRedis(Path(sys.argv[1]))
server.start()
print(server.pid, flush=True)
signal.pause()
"""


def test_server_dies_with_its_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "r")], stdout=subprocess.PIPE, text=True
    )
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), line
        redis_pid = int(line)
        assert _pid_alive(redis_pid)
        parent.kill()  # SIGKILL: the parent gets no chance to clean up
        parent.wait(10)
        assert wait_until(lambda: not _pid_alive(redis_pid)), "redis outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
