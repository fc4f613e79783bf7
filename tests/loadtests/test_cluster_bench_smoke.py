"""The cluster benchmark (``python -m loadtests.cluster_bench``) must keep running: a tiny
workload on one replicated Redis and on a real 3 x 1 cluster, both rows printed, no figure
asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(120)]


def test_cluster_bench_smoke_prints_a_row_per_setup_with_each_master() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.cluster_bench", "--auctions", "20", "--turns", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=110,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| one Redis")
            or line.startswith("| cluster")]
    assert len(rows) == 2, proc.stdout
    assert rows[0].count("µs") == 2  # one master
    assert rows[1].count("µs") == 6  # three masters, each with a share of the appends
