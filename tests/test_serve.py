"""``bidserver serve`` as the README runs it: a real process, its embedded Redis, its refusals."""

from __future__ import annotations

import os
import selectors
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


def _serve_once(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``bidserver serve`` expected to refuse: its exit status and what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "bidserver", "serve", *args],
        env=dict(os.environ, BIDSERVER_JWT_KEY=JWT_KEY, **(env or {})), capture_output=True,
        text=True, timeout=timeout,
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
         "--data-dir", str(tmp_path / "d1"), "--allow-single-machine-journal"],
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


def test_a_redis_without_a_replica_is_refused_unless_allowed(redis_server, tmp_path):
    """Its machine lost, its acknowledged bids are lost: the operator must say so (the tests'
    ServerProcess does, with --allow-single-machine-journal)."""
    refused = _serve_once("--port", "0", "--redis-url", redis_server.url,
                          "--data-dir", str(tmp_path / "d"))
    assert refused.returncode != 0 and "bidserver listening" not in refused.stdout
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert "no replica confirming writes" in lines[0]
    assert "--allow-single-machine-journal" in lines[0], lines
    wanted = _serve_once("--port", "0", "--redis-url", redis_server.url, "--journal-replicas", "1",
                         "--data-dir", str(tmp_path / "d"))
    assert "1 replica(s) must confirm every acknowledged write" in wanted.stderr, wanted.stderr


@pytest.mark.parametrize(("url", "why"), [
    ("redis+sentinel://sentinel-a:26379", "use redis+sentinel://host:port"),
    ("foo://x", "a Redis URL starts with one of redis://"),
])
def test_a_redis_url_that_cannot_be_read_is_a_usage_error(tmp_path, url, why):
    for given in (("--redis-url", url), ()):  # the flag, then the environment
        env = {} if given else {"BIDSERVER_REDIS_URL": url}
        refused = _serve_once("--port", "0", *given, "--data-dir", str(tmp_path / "d"), env=env)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert why in refused.stderr.strip().splitlines()[-1], refused.stderr


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


def _console_dir(tmp_path: Path) -> Path:
    """A console (the page, a script) in tmp_path/site/web, beside files never to be served."""
    web = tmp_path / "site" / "web"
    (web / "static" / "js").mkdir(parents=True)
    (web / "index.html").write_text('<!doctype html><script type="module" src="/static/js/app.js"></script>\n')
    (web / "static" / "js" / "app.js").write_text("export const greet = (who) => `hello ${who}`;\n" * 40)
    (web / "pyproject.toml").write_text("secret = 1\n")
    (tmp_path / "site" / "pyproject.toml").write_text("secret = 2\n")
    return web


def _raw_get(port: int, target: str, host: str = "127.0.0.1") -> bytes:
    """A request line sent as written: an HTTP client would resolve the ``..`` itself."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _printed_until(proc: subprocess.Popen, prefix: str, timeout: float = 30) -> list[str]:
    """The lines ``proc`` printed, up to the first that starts with ``prefix``."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline, printed = time.monotonic() + timeout, b""
    while not any(line.startswith(prefix) for line in printed.decode().split("\n")[:-1]):
        assert time.monotonic() < deadline and proc.poll() is None, (printed, proc.poll())
        if selector.select(timeout=max(0.0, deadline - time.monotonic())):
            printed += os.read(proc.stdout.fileno(), 4096)
    selector.close()
    lines = printed.decode().splitlines()
    return lines[: next(i for i, line in enumerate(lines) if line.startswith(prefix)) + 1]


def test_serve_prints_the_console_and_development_sign_in_works(redis_server, tmp_path):
    """No key configured: the console's URL is printed, development sign-in is on (with its
    warning), its tokens are the server's, and the console's files are served and only them."""
    web = _console_dir(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bidserver", "serve", "--host", "127.0.0.1", "--port", "0",
         "--redis-url", redis_server.url, "--data-dir", str(tmp_path / "data"),
         "--log-level", "warning", "--allow-single-machine-journal"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")},
             "BIDSERVER_WEB_DIR": str(web), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        printed = _printed_until(proc, "buyer console: ")
        console = printed[-1].split()[2]
        port = int(console.rsplit(":", 1)[1].strip("/"))
        assert printed[-1] == f"buyer console: http://127.0.0.1:{port}/ (development sign-in)"
        assert printed[-2].startswith(f"bidserver listening on http://127.0.0.1:{port} ")

        page = httpx.get(console, timeout=5)
        assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
        script = httpx.get(f"{console}static/js/app.js", timeout=5,
                           headers={"accept-encoding": "gzip"})
        assert script.headers["content-encoding"] == "gzip" and b"hello" in script.content
        for target in ("/static/../pyproject.toml", "/static/../../pyproject.toml",
                       "/static/%2e%2e/pyproject.toml", "/static/..%2f..%2fpyproject.toml",
                       "/static/js/../../../pyproject.toml", "/static/./../pyproject.toml"):
            answer = _raw_get(port, target)
            assert answer.startswith(b"HTTP/1.1 404 "), (target, answer[:200])
            assert b"secret" not in answer and b"application/problem+json" in answer
        assert _raw_get(port, "/", host="evil.example").startswith(b"HTTP/1.1 421 ")

        minted = httpx.post(f"{console}api/dev/tokens", json={"role": "buyer", "org": "org-1"},
                            timeout=5)
        assert minted.status_code == 200, minted.text
        buyer = {"authorization": f"Bearer {minted.json()['token']}"}
        assert httpx.get(f"{console}api/auctions", headers=buyer, timeout=5).status_code == 200
        created = httpx.post(f"{console}api/auctions", json={"config": CONFIG}, headers=buyer,
                             timeout=5)
        assert created.status_code == 201, created.text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0
    warnings = [line for line in stderr.splitlines() if "development sign-in is on" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "BIDSERVER_JWT_KEY" in warnings[0]


def test_development_sign_in_on_with_a_configured_key_is_refused_in_one_line(tmp_path):
    data = tmp_path / "data"
    refused = subprocess.run(
        [sys.executable, "-m", "bidserver", "serve", "--port", "0", "--data-dir", str(data)],
        env=dict(os.environ, BIDSERVER_JWT_KEY=JWT_KEY, BIDSERVER_DEV_SIGN_IN="on"),
        capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode != 0 and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert "BIDSERVER_DEV_SIGN_IN=on" in lines[0] and "platform's key" in lines[0], lines
    assert not data.exists()  # nothing started, not even the embedded Redis

    missing = _serve_once("--port", "0", "--data-dir", str(data), env={"BIDSERVER_WEB_DIR": str(tmp_path)})
    lines = missing.stderr.strip().splitlines()
    assert missing.returncode != 0 and len(lines) == 1, missing.stderr[-2000:]
    assert f"BIDSERVER_WEB_DIR={tmp_path} has no index.html" in lines[0]
    assert not data.exists()


def test_with_a_key_the_console_asks_for_the_platforms_token(redis_server, tmp_path):
    server = ServerProcess(redis_server.url, tmp_path / "d",
                           env={"BIDSERVER_WEB_DIR": str(_console_dir(tmp_path))})
    server.start()
    try:
        assert httpx.get(f"{server.base_url}/api/session", timeout=5).json() == {"dev_sign_in": False}
        refused = httpx.post(f"{server.base_url}/api/dev/tokens",
                             json={"role": "buyer", "org": "org-1"}, timeout=5)
        assert (refused.status_code, refused.json()["reason"]) == (404, "not_found")
        assert httpx.get(f"{server.base_url}/", timeout=5).status_code == 200
    finally:
        server.stop()
    assert "development sign-in" not in server.log_path.read_text()
