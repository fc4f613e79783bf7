"""The replication benchmark (``python -m loadtests.replication_bench``) must keep running: tiny
workloads on real masters and replicas, every row printed, no figure asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.servers import waitaof_executable

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(120)]


def test_replication_bench_smoke_prints_a_row_per_server_and_replica_count() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.replication_bench", "--auctions", "4", "--appends", "5",
         "--serial", "10"],
        cwd=ROOT, capture_output=True, text=True, timeout=110,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| redis-server")
            or line.startswith("| valkey")]
    expected = ["| redis-server, 0 replica(s): ", "| redis-server, 1 replica(s): "]
    if waitaof_executable() is not None:
        expected += ["| valkey, 0 replica(s): ", "| valkey, 1 replica(s): "]
    assert [row[:len(prefix)] for row, prefix in zip(rows, expected, strict=True)] == expected
    assert "on 1 replica(s)" in rows[1] and "on no replica" in rows[0]
