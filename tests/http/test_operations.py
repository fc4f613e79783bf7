"""Probes and metrics in process: /livez, /readyz (and /healthz, its old name) say whether to send
traffic and nothing about the auctions; /metrics is for the operator's token only. The real
processes (one and several workers) are in tests/integration/test_metrics.py."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.config import Settings
from bidserver.engine.formats import FORMATS
from bidserver.engine.values import Actor, Role
from bidserver.store.journal import MemoryJournal

from ..runtime.support import BUYER, config
from ..runtime.toy import TOY, Add, ToyConfig
from .conftest import KEY

TOKEN = "metrics-token-for-tests"
SCRAPE = {"authorization": f"Bearer {TOKEN}"}


def settings(tmp_path, **overrides) -> Settings:
    return Settings(jwt_key=KEY, data_dir=tmp_path, redis_url="memory://", allowed_hosts=("testserver",),
                    **overrides)


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return s.value
    return None


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_metrics_need_the_operators_token(tmp_path):
    with TestClient(build_app(settings(tmp_path), journal=MemoryJournal())) as client:
        off = client.get("/metrics", headers=SCRAPE)  # no token configured: not served
        assert off.status_code == 404 and "BIDSERVER_METRICS_TOKEN" in off.text
    with TestClient(build_app(settings(tmp_path, metrics_token=TOKEN),
                              journal=MemoryJournal())) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"authorization": "Bearer not-it"})
        assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_token")
        scraped = client.get("/metrics", headers=SCRAPE)
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain; version=")
        assert sample(scraped.text, "bidserver_redis_up") == 1
        assert sample(scraped.text, "bidserver_journal_durability", mode="memory") == 1


class SlowRecovery(MemoryJournal):
    """Lists the unfinished auctions only once ``release`` is set (recovery under way)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def unfinished_ids(self) -> list[str]:
        await self.release.wait()
        return await super().unfinished_ids()


def test_not_ready_while_recovering_then_ready(tmp_path):
    journal = SlowRecovery()
    with TestClient(build_app(settings(tmp_path), journal=journal)) as client:
        recovering = client.get("/readyz")
        assert (recovering.status_code, recovering.json()) == (
            503, {"status": "unready", "reason": "recovering"}
        )
        assert client.get("/livez").status_code == 200
        client.portal.call(journal.release.set)
        wait_until(lambda: client.get("/readyz").status_code == 200)
        assert client.get("/healthz").json() == {"status": "ready"}


def test_recovery_waits_for_a_journal_that_is_away_at_start(tmp_path):
    journal = MemoryJournal()
    with TestClient(build_app(settings(tmp_path), journal=journal)) as client:
        rooms = client.app.state.services.rooms
        created, result = client.portal.call(rooms.create, BUYER, config())
        assert result.ok  # an unfinished auction, to recover at the next start
    journal.available = False  # Redis went away between the connect and the recovery
    with TestClient(build_app(settings(tmp_path), journal=journal)) as client:
        assert client.get("/readyz").json()["reason"] == "journal_unavailable"
        journal.available = True
        wait_until(lambda: client.get("/readyz").status_code == 200)
        assert [a.auction_id for a in client.app.state.services.rooms] == [created.auction_id]


class BrokenAwards:
    def __call__(self, state, events):
        if TOY.awards(state, events):
            raise ValueError("cannot build the award")
        return []


def test_a_failing_timer_shows_on_readiness_and_metrics_without_an_id(tmp_path):
    broken = dataclasses.replace(TOY, awards=BrokenAwards())
    app = build_app(settings(tmp_path, metrics_token=TOKEN), journal=MemoryJournal(),
                    formats={**FORMATS, TOY.name: broken})
    with TestClient(app) as client:
        rooms = client.app.state.services.rooms
        tally, created = client.portal.call(rooms.create, Actor(Role.BUYER, "org-toys"),
                                            ToyConfig(title="Bell"))
        assert created.ok
        wait_until(lambda: rooms.recovering is None)
        assert client.get("/readyz").json() == {"status": "ready"}
        supplier = Actor(Role.SUPPLIER, "s1")
        assert client.portal.call(tally.submit, Add(actor=supplier, at=0, ref="r1", amount=5)).ok
        wait_until(lambda: tally.mode.failing_since is not None)  # the bell's award raised

        ready = client.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready", "timers": "failing"})
        scraped = client.get("/metrics", headers=SCRAPE).text
        assert sample(scraped, "bidserver_rooms_failing") == 1
        assert sample(scraped, "bidserver_timer_failures_total") >= 1
    assert tally.mode.failing_since is None  # stopped: no longer counted as failing
