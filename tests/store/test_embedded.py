"""EmbeddedRedis: durable config, restarts, and never two servers on one AOF."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import redis

from bidserver.store.embedded import EmbeddedRedis, _pid_alive


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


def test_leftover_server_on_same_dir_is_terminated(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path / "r")
    first.start()
    old_pid = first.pid
    second = EmbeddedRedis(tmp_path / "r")  # e.g. the app restarted while its old child lives
    second.start()
    assert not _pid_alive(old_pid)
    assert second.running and second.pid != old_pid
    assert redis.Redis.from_url(second.url).ping()
    first.stop()  # harmless: its process is already gone, and second's pidfile stays
    assert (tmp_path / "r" / "embedded.pid").read_text().strip() == str(second.pid)
    second.stop()


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
