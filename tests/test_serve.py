"""``bidserver serve`` as the README runs it: a real process, its embedded Redis, its refusals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from bidserver.store.embedded import EmbeddedRedis
from tests.integration.harness import JWT_KEY, ServerProcess, token
from tests.procs import alive, children, zombies

pytestmark = pytest.mark.slow


def _wait(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def EmbeddedServe(_url: str, data_dir: Path) -> ServerProcess:
    """``serve`` without ``--redis-url``: it must start and manage its own Redis."""
    return ServerProcess("", data_dir)


def test_without_a_redis_url_serve_runs_and_stops_its_own_durable_redis(tmp_path):
    server = EmbeddedServe("", tmp_path / "data")
    server.start()
    try:
        _wait(lambda: httpx.get(f"{server.base_url}/readyz", timeout=5).status_code == 200,
              what="ready")
        scraped = server.metrics()
        assert scraped.value("bidserver_redis_up") == 1
        assert scraped.value("bidserver_journal_durability", mode="aof_always") == 1
        pid = int((tmp_path / "data" / "redis" / "embedded.pid").read_text())
        assert pid in children(server.proc.pid) and alive(pid)
        r = redis.Redis(unix_socket_path=str(tmp_path / "data" / "redis" / "redis.sock"))
        assert r.config_get("appendfsync") == {"appendfsync": "always"}
        assert r.config_get("appendonly") == {"appendonly": "yes"}
        r.close()
        buyer = {"authorization": f"Bearer {token('buyer', 'org-1')}"}
        config = {"title": "t", "currency": "EUR", "duration_ms": 60_000,
                  "decrement": {"kind": "amount", "value": 1},
                  "lots": [{"lot_id": "L1", "title": "l", "ceiling": 100}]}
        created = httpx.post(f"{server.base_url}/api/auctions", json={"config": config},
                             headers=buyer, timeout=5)
        assert created.status_code == 201, created.text
        auction_id = created.json()["view"]["auction_id"]
    finally:
        server.stop()
    assert server.proc.returncode == 0
    _wait(lambda: not alive(pid), what="the embedded Redis to stop")

    # Started again on the same data dir, it finds the auction in its own Redis's AOF.
    again = EmbeddedServe("", tmp_path / "data")
    again.start()
    try:
        got = httpx.get(f"{again.base_url}/api/auctions/{auction_id}", headers=buyer, timeout=5)
        assert got.status_code == 200, got.text
    finally:
        again.stop()


def test_kill_9_of_serve_takes_its_embedded_redis_down_too(tmp_path):
    server = EmbeddedServe("", tmp_path / "data")
    server.start()
    pid = int((tmp_path / "data" / "redis" / "embedded.pid").read_text())
    server.kill9()
    _wait(lambda: not alive(pid), what="the embedded Redis to follow its parent")


BUYER = {"authorization": f"Bearer {token('buyer', 'org-1')}"}
CONFIG = {"title": "t", "currency": "EUR", "duration_ms": 60_000,
          "decrement": {"kind": "amount", "value": 1},
          "lots": [{"lot_id": "L1", "title": "l", "ceiling": 100}]}


def _create(server: ServerProcess, timeout: float = 5) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/auctions", json={"config": CONFIG}, headers=BUYER,
                      timeout=timeout)


def _serve_once(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``bidserver serve`` expected to refuse: its exit status and what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "bidserver", "serve", *args],
        env=dict(os.environ, BIDSERVER_JWT_KEY=JWT_KEY), capture_output=True, text=True,
        timeout=timeout,
    )


def _embedded_pid(data_dir: Path) -> int:
    return int((data_dir / "redis" / "embedded.pid").read_text())


def test_a_second_serve_on_a_data_dir_in_use_is_refused_in_one_line(tmp_path):
    data = tmp_path / "data"
    first = EmbeddedServe("", data)
    first.start()
    try:
        redis_pid = _embedded_pid(data)
        second = _serve_once("--port", "0", "--data-dir", str(data))
        assert second.returncode != 0
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert f"pid {first.proc.pid}" in lines[0] and "in use" in lines[0], lines
        assert "Traceback" not in second.stderr and second.stdout == ""
        # The first server and its Redis are untouched: healthy, and writes are durable.
        assert alive(redis_pid) and _embedded_pid(data) == redis_pid
        assert httpx.get(f"{first.base_url}/healthz", timeout=5).status_code == 200
        created = _create(first)
        assert created.status_code == 201, created.text
        auction_id = created.json()["view"]["auction_id"]

        first.kill9()  # the lock goes with its owner, however it dies
        again = EmbeddedServe("", data)
        again.start()
        try:
            assert not alive(redis_pid)  # the old Redis: stopped with its parent, or cleaned up
            assert _embedded_pid(data) in children(again.proc.pid)
            got = httpx.get(f"{again.base_url}/api/auctions/{auction_id}", headers=BUYER,
                            timeout=5)
            assert got.status_code == 200, got.text
        finally:
            again.stop()
    finally:
        first.stop()


def test_serve_restarts_its_embedded_redis_when_it_dies(tmp_path):
    data = tmp_path / "data"
    server = EmbeddedServe("", data)
    server.start()
    try:
        created = _create(server)
        assert created.status_code == 201, created.text
        auction_id = created.json()["view"]["auction_id"]
        dead = _embedded_pid(data)
        os.kill(dead, signal.SIGKILL)

        def writes() -> bool:
            try:
                return _create(server, timeout=2).status_code == 201
            except httpx.HTTPError:
                return False

        _wait(writes, timeout=30, what="writes to succeed again")
        assert not alive(dead) and zombies(server.proc.pid) == []
        restarted = _embedded_pid(data)
        assert restarted != dead and restarted in children(server.proc.pid)
        assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200
        got = httpx.get(f"{server.base_url}/api/auctions/{auction_id}", headers=BUYER, timeout=5)
        assert got.status_code == 200, got.text  # what was acknowledged before is still there
        assert "restarting it" in server.log_path.read_text()
    finally:
        server.stop()
    assert server.proc.returncode == 0


def _running_in(directory: Path) -> list[int]:
    """Processes whose working directory is ``directory`` (Redis chdirs into its data dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cwd").resolve() == directory.resolve() and alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_port_in_use_is_one_line_that_says_what_to_do_and_starts_nothing(tmp_path):
    data = tmp_path / "data"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        refused = _serve_once("--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data))
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert f"port {port} on 127.0.0.1 is in use" in lines[0] and "--port" in lines[0], lines
    assert _running_in(data / "redis") == []  # no embedded Redis left behind
    EmbeddedRedis.of_data_dir(data).lock()  # nor the data directory held


def test_a_redis_that_does_not_fsync_is_refused_unless_allowed(redis_factory, tmp_path):
    loose = redis_factory(name="loose", overrides={"appendonly": "no"})
    refused = subprocess.run(
        [sys.executable, "-m", "bidserver", "serve", "--port", "0", "--redis-url", loose.url,
         "--data-dir", str(tmp_path / "d1")],
        env=dict(os.environ, BIDSERVER_JWT_KEY=JWT_KEY), capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()  # one line that says what to set, no traceback
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert "appendfsync always" in lines[0], lines

    allowed = ServerProcess(loose.url, tmp_path / "d2", ("--allow-unsafe-journal",))
    allowed.start()
    try:
        assert allowed.metrics().value("bidserver_journal_durability", mode="unsafe") == 1
        assert children(allowed.proc.pid) == []  # a URL given: no Redis of its own
    finally:
        allowed.stop()


def test_a_redis_url_nothing_answers_is_one_line_and_starts_nothing(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as closed:  # a port nothing will answer on
        url = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
    refused = _serve_once("--port", "0", "--redis-url", url, "--data-dir", str(tmp_path / "d"))
    assert refused.returncode != 0 and "bidserver listening" not in refused.stdout
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert f"cannot reach the journal at {url}" in lines[0], lines


def test_tokens_from_the_cli_are_accepted_and_foreign_ones_refused(redis_server, tmp_path):
    server = ServerProcess(redis_server.url, tmp_path / "d")
    server.start()
    try:
        minted = subprocess.run(
            [sys.executable, "-m", "bidserver", "token", "--role", "buyer", "--org", "org-9"],
            env=dict(os.environ, BIDSERVER_JWT_KEY=JWT_KEY), capture_output=True, text=True,
            timeout=30, check=True,
        ).stdout.strip()
        ok = httpx.get(f"{server.base_url}/api/auctions",
                       headers={"authorization": f"Bearer {minted}"}, timeout=5)
        assert ok.status_code == 200
        foreign = subprocess.run(
            [sys.executable, "-m", "bidserver", "token", "--role", "buyer", "--org", "org-9"],
            env=dict(os.environ, BIDSERVER_JWT_KEY="another-key-of-at-least-32-bytes-long!"),
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.strip()
        denied = httpx.get(f"{server.base_url}/api/auctions",
                           headers={"authorization": f"Bearer {foreign}"}, timeout=5)
        assert (denied.status_code, denied.json()["error"]) == (401, "invalid_token")
    finally:
        server.stop()


def test_sigterm_stops_serve_cleanly(redis_server, tmp_path):
    server = ServerProcess(redis_server.url, tmp_path / "d")
    server.start()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=20) == 0
