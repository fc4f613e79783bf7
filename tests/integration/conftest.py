from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bidserver.store.connect import is_cluster_url

from .harness import Api, ServerProcess, token


@pytest.fixture
def journal_url(request):
    """Where the servers of a test journal: a private redis-server by default; a module whose
    scenarios must also hold on a Redis Cluster says ``pytestmark = ON_BOTH_BACKENDS`` and runs
    once more on the shared 3 x 1 test cluster."""
    if getattr(request, "param", "redis") == "cluster":
        return request.getfixturevalue("redis_cluster").url
    return request.getfixturevalue("redis_server").url


ON_BOTH_BACKENDS = pytest.mark.parametrize("journal_url", ["redis", "cluster"], indirect=True)


@dataclass(frozen=True)
class JournalStore:
    """The Redis of ``journal_url`` as an operator holds it: the URL, its masters and every
    node (one, for one Redis), and their data directories."""

    url: str
    masters: list[str]
    nodes: list[str]
    data_dirs: list[Path]


@pytest.fixture
def journal_store(journal_url, request) -> JournalStore:
    if is_cluster_url(journal_url):
        cluster = request.getfixturevalue("redis_cluster")
        return JournalStore(
            journal_url, [f"redis://127.0.0.1:{p}" for p in cluster.masters()],
            [f"redis://127.0.0.1:{p}" for p in cluster.nodes],
            [node.data_dir for node in cluster.nodes.values()],
        )
    server = request.getfixturevalue("redis_server")
    return JournalStore(server.url, [server.url], [server.url], [server.data_dir])


@pytest.fixture
def server(journal_url, tmp_path):
    proc = ServerProcess(journal_url, tmp_path / "server")
    proc.start()
    yield proc
    proc.stop()
    assert_slots_kept(proc)


def assert_slots_kept(proc: ServerProcess) -> None:
    """On a cluster a script whose keys span slots fails only where it runs, often in a task
    that logs and retries: its log must show none (one Redis never says this)."""
    log = proc.log_path.read_text(errors="replace") if proc.log_path.exists() else ""
    for sign in ("CROSSSLOT", "same key slot", "Cross slot"):
        assert sign not in log, f"{sign} in {proc.log_path}"


@pytest.fixture
def server_factory(journal_url, tmp_path):
    """Servers with their own settings on the test's Redis: ``server_factory(env={...})``
    (``BIDSERVER_*`` variables, see bidserver/config.py); all stopped at teardown."""
    started: list[ServerProcess] = []

    def make(name: str = "custom", env: dict[str, str] | None = None, extra_args=()) -> ServerProcess:
        proc = ServerProcess(journal_url, tmp_path / name, tuple(extra_args), env)
        started.append(proc)
        proc.start()
        return proc

    yield make
    for proc in started:
        proc.stop()
    for proc in started:
        assert_slots_kept(proc)


BUYER = "org-buyer-municipality"
SUPPLIERS = {
    "sup-alpha-7f3": "Alpha Logistics Ltd",
    "sup-bravo-91c": "Bravo Freight GmbH",
    "sup-charlie-2d8": "Charlie Haulage SA",
}


def auction_config(**overrides):
    config = {
        "title": "Road salt, winter 2027",
        "currency": "EUR",
        "lots": [
            {"lot_id": "L1", "title": "Road salt", "quantity": "1200", "unit": "t",
             "ceiling": 100000, "reserve": 98000}
        ],
        "duration_ms": 60_000,
        "decrement": {"kind": "amount", "value": 500},
        "visibility": "rank_only",
    }
    config.update(overrides)
    return config


async def create_auction(server: ServerProcess, config: dict, suppliers=SUPPLIERS) -> tuple[Api, str]:
    buyer = Api(server, token("buyer", BUYER, "Municipality of Example"))
    response = await buyer.call("POST", "/api/auctions", {"config": config})
    assert response.status_code == 201, response.text
    auction_id = response.json()["view"]["auction_id"]
    for supplier, name in suppliers.items():
        r = await buyer.call(
            "POST", f"/api/auctions/{auction_id}/invitations", {"supplier": supplier, "name": name}
        )
        assert r.status_code == 200, r.text
    return buyer, auction_id
