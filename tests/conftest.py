"""Shared fixtures. Tests that need Redis get a real, private redis-server: never a mock, never
the shared instance on 6379 (a mock would not show durability, timeouts or Lua semantics)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from bidserver.store.embedded import EmbeddedRedis


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., EmbeddedRedis]]:
    """Start extra real servers: ``redis_factory(name="x", overrides={"appendonly": "no"})``.

    Each lives in its own directory under tmp_path, listens on a unix socket there (no port
    clashes between parallel runs) and is stopped at teardown.
    """
    started: list[EmbeddedRedis] = []

    def make(name: str = "redis", overrides: Mapping[str, str] | None = None) -> EmbeddedRedis:
        server = EmbeddedRedis(tmp_path / name, overrides=overrides)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def redis_server(redis_factory: Callable[..., EmbeddedRedis]) -> EmbeddedRedis:
    """A durable (AOF always) redis-server for one test: ``.url``, ``.stop()``, ``.start()``
    (restarts on the same data dir, reloading the AOF), ``.kill()`` (SIGKILL, a crash)."""
    return redis_factory()


@pytest.fixture
def waitaof_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Valkey (or Redis >= 7.2) with ``appendfsync everysec``: the journal's WAITAOF mode."""
    from .store.servers import everysec_server

    with everysec_server(tmp_path / "everysec") as server:
        yield server


# Whole scenarios (a server process, a browser, a load generator, a failover) take seconds each,
# the other tests milliseconds.
LONG_TESTS = ("tests/integration/", "tests/web/", "tests/loadtests/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first: pytest-xdist hands tests out one at a time as its workers free up
    (scripts/test_workers.sh), so the long ones start first and the short ones fill in after.
    In collection order a worker could be left with a run of long ones at the end (measured: one
    worker had 558 s of tests, the other three 250 s; CI's 15 minutes).

    And mark the tests that run on the shared test cluster (``on_shared_cluster``), so that a run
    can leave them out: the lowest-releases run does (``.ci/lowest``)."""
    items.sort(key=lambda item: not (item.nodeid.startswith(LONG_TESTS)
                                     or item.get_closest_marker("slow")))  # a stable sort
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        # the fixture, or a backend parameter that fetches it (journal, journal_url, redis_url)
        if "shared_cluster" in getattr(item, "fixturenames", ()) or any(
                isinstance(p, str) and p in ("cluster", "redis-cluster", "redis_cluster")
                for p in params):
            item.add_marker(pytest.mark.on_shared_cluster)


@pytest.fixture(scope="session")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A real Redis Cluster, 3 masters with a replica each, for this test process: starting one
    takes seconds, so tests share it and ``redis_cluster`` empties it before each."""
    from .store.cluster_servers import redis_cluster

    with redis_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def redis_cluster(shared_cluster):
    """The shared cluster, emptied (every master flushed, the replicas follow), and ok. A test
    that kills or stops a node uses its own (``tests.store.cluster_servers.redis_cluster``); one
    that stops them all, as an outage (``Cluster.stop``), may: they are started again here."""
    shared_cluster.start()
    for port in shared_cluster.masters():
        with shared_cluster.client(port) as client:
            client.flushall()
    return shared_cluster


@pytest.fixture(params=["redis", "cluster"])
def redis_url(request) -> str:
    """The URL of a real Redis for code that runs on both: once a private one Redis
    (``redis_server``), once the shared Redis Cluster (``redis_cluster``), emptied."""
    if request.param == "redis":
        return request.getfixturevalue("redis_server").url
    return request.getfixturevalue("redis_cluster").url
