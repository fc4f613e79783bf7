"""The HTTP API's test client: the app on the in-memory journal twin (a module may override
``client`` with its own settings); and ``on_redis``, the app on the test's real Redis with a clock
the test moves, for the tender modules' flows."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.config import Settings
from bidserver.store.journal import MemoryJournal

KEY = "http-test-key-0123456789abcdef0123"
T0 = 1_800_000_000_000


class Clock:
    """The server's clock in a test: ``clock.now`` (ms since the epoch) is what it reads."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def on_redis(redis_server, tmp_path, clock):
    """``on_redis(**settings)``: a new server in process (a TestClient, to enter) on the test's
    real Redis and data dir, reading ``clock``; each call is another process, as after a restart."""

    def make(**overrides) -> TestClient:
        settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",),
                            redis_url=redis_server.url, allow_single_machine_journal=True,
                            **overrides)
        return TestClient(build_app(settings, now_ms=clock))

    return make


@pytest.fixture
def journal():
    return MemoryJournal()


@pytest.fixture
def client(journal, tmp_path):
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://")
    with TestClient(build_app(settings, journal=journal)) as client:
        yield client


def qualified(client, party: str, *categories: str) -> None:
    """Register ``party`` in the supplier registry and qualify it in ``categories``, as the
    supplier and the platform's reviewer would over the API: an event with a category invites
    only suppliers the registry admits."""
    import hashlib

    from stdnum.cn import uscc

    from bidserver.auth import mint_token

    def headers(role: str, org: str) -> dict[str, str]:
        return {"authorization": f"Bearer {mint_token(KEY, role=role, party=org)}"}

    digits = str(int(hashlib.sha256(party.encode()).hexdigest(), 16))[:9]
    body = f"91110000{digits}"
    registration = {"legal_name": f"{party} Ltd", "country": "CN",
                    "identifier": body + uscc.calc_check_digit(body),
                    "contacts": [{"name": party, "email": f"{party}@example.cn"}],
                    "categories": list(categories)}
    r = client.post("/api/suppliers", json={"registration": registration},
                    headers=headers("supplier", party))
    assert r.status_code == 201, r.text
    for category in categories:
        r = client.post(f"/api/suppliers/{party}/categories/{category}/qualification", json={},
                        headers=headers("platform", "platform"))
        assert r.status_code == 200, r.text
