"""``bidserver serve`` as the README runs it: a real process, its embedded Redis, its refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.integration.harness import JWT_KEY, ServerProcess, token
from tests.procs import alive, children

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


def test_a_redis_that_does_not_fsync_is_refused_unless_allowed(redis_factory, tmp_path):
    loose = redis_factory(name="loose", overrides={"appendonly": "no"})
    refused = subprocess.run(
        [sys.executable, "-m", "bidserver", "serve", "--port", "0", "--redis-url", loose.url,
         "--data-dir", str(tmp_path / "d1")],
        env=dict(os.environ, BIDSERVER_JWT_KEY=JWT_KEY), capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode != 0
    assert "fsync" in refused.stderr.lower() or "durab" in refused.stderr.lower(), refused.stderr[-2000:]

    allowed = ServerProcess(loose.url, tmp_path / "d2", ("--allow-unsafe-journal",))
    allowed.start()
    try:
        assert allowed.metrics().value("bidserver_journal_durability", mode="unsafe") == 1
        assert children(allowed.proc.pid) == []  # a URL given: no Redis of its own
    finally:
        allowed.stop()


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
