"""The HTTP API's test client: the app on the in-memory journal twin (a module may override
``client`` with its own settings)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.config import Settings
from bidserver.store.journal import MemoryJournal

KEY = "http-test-key-0123456789abcdef0123"


@pytest.fixture
def journal():
    return MemoryJournal()


@pytest.fixture
def client(journal, tmp_path):
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://")
    with TestClient(build_app(settings, journal=journal)) as client:
        yield client
