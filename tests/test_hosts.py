"""The Host check (DNS rebinding): which hosts are served by default and by configuration, and the
refusal of any other, for requests and live-room handshakes alike. Over a real server:
tests/integration/test_access.py."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse

from bidserver.app import build_app
from bidserver.config import Settings
from bidserver.hosts import host_allowed, served_hosts
from bidserver.store.journal import MemoryJournal

KEY = "hosts-test-key-0123456789abcdef0123"


def test_by_default_local_names_the_origins_hosts_and_a_specific_bind_address():
    assert served_hosts(Settings()) == {"localhost", "127.0.0.1", "::1"}
    assert served_hosts(Settings(host="0.0.0.0")) == {"localhost", "127.0.0.1", "::1"}
    settings = Settings(host="10.0.0.5", allowed_origins=("https://Platform.Example:8443",))
    assert served_hosts(settings) == {"localhost", "127.0.0.1", "::1", "10.0.0.5", "platform.example"}


def test_configured_hosts_replace_the_default():
    hosts = served_hosts(Settings(allowed_hosts=("Auction.Example.", "[::2]", "*.corp.example")))
    assert hosts == {"auction.example", "::2", "*.corp.example"}
    assert not host_allowed("localhost:8000", hosts)


@pytest.mark.parametrize("header, allowed", [
    ("localhost", True), ("localhost:8000", True), ("LOCALHOST.:8000", True),
    ("127.0.0.1:1", True), ("[::1]:8000", True),
    ("evil.example", False), ("evil.example:8000", False), ("localhost.evil.example", False),
    ("localhost@evil.example", False), ("[::1", False), ("", False), (None, False),
])
def test_a_host_header_names_a_served_host_whatever_its_port(header, allowed):
    assert host_allowed(header, served_hosts(Settings())) is allowed


def test_wildcards():
    hosts = served_hosts(Settings(allowed_hosts=("*.corp.example",)))
    assert host_allowed("a.corp.example", hosts) and host_allowed("b.a.corp.example:1", hosts)
    assert not host_allowed("corp.example", hosts) and not host_allowed("evilcorp.example", hosts)
    assert host_allowed("anything.example", served_hosts(Settings(allowed_hosts=("*",))))


@pytest.mark.parametrize("bad", ["https://auction.example", "auction.example:443", "a/b", "a b"])
def test_a_host_setting_with_a_scheme_port_or_path_fails_at_start(bad):
    with pytest.raises(ValueError, match="allowed_hosts"):
        Settings(allowed_hosts=(bad,))
    with pytest.raises(ValueError, match="allowed_hosts"):
        Settings.from_env({"BIDSERVER_ALLOWED_HOSTS": f"auction.example,{bad}"})
    assert Settings.from_env({"BIDSERVER_ALLOWED_HOSTS": "a.example, ::1"}).allowed_hosts == ("a.example", "::1")


def test_another_host_is_refused_with_421_for_requests_and_handshakes(tmp_path):
    """Starlette's test client says ``Host: testserver``: refused unless configured."""
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, redis_url="memory://")
    with TestClient(build_app(settings, journal=MemoryJournal())) as client:
        r = client.get("/healthz")
        assert r.status_code == 421 and r.json()["error"] == "host_not_allowed"
        assert r.headers["content-type"] == "application/problem+json"
        with pytest.raises(WebSocketDenialResponse) as denied:  # an HTTP answer, no socket
            with client.websocket_connect("/ws/auctions/x"):
                pass
        assert denied.value.status_code == 421 and denied.value.json()["error"] == "host_not_allowed"
        assert client.get("/healthz", headers={"host": "localhost:8000"}).status_code == 200
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, redis_url="memory://", allowed_hosts=("testserver",))
    with TestClient(build_app(settings, journal=MemoryJournal())) as client:
        assert client.get("/healthz").status_code == 200
