"""The registry benchmark (``python -m loadtests.registry_bench``) must keep running: a tiny
registry on its own durable Redis, every figure printed, none asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(90)]

ROWS = [
    "| fill: 2000 suppliers through append (durable, 32 in flight), s / appends/s |",
    "| eligibility lookup get, p50 / p99 ms (100 calls) |",
    "| get_many of 50 ids (one pipeline), p50 / p99 ms |",
    "| search by name prefix (1-3 chars), first page of 50, p50 / p99 ms (mean ids ",
    "| search by category + status (2 tags), p50 / p99 ms (mean ids ",
    "| search by name prefix + category tag, p50 / p99 ms (mean ids ",
    "| search by identifier prefix (5 chars), p50 / p99 ms |",
    "| search, the worst case: two large tags no supplier has both ",
    "| pages deep into a category+status listing (every cursor followed, 2 listings, up to ",
    "| Redis used_memory grown by the fill, MB / per supplier, KB |",
    "| AOF on disk after the fill, MB / per supplier, KB |",
]


def test_registry_bench_smoke_prints_its_table() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.registry_bench", "--suppliers", "2000",
         "--samples", "100"],
        cwd=ROOT, capture_output=True, text=True, timeout=80,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for row in ROWS:
        assert row in proc.stdout, (row, proc.stdout)
    figures = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert len(figures) == len(ROWS) + 1, proc.stdout  # the header row and one row a measure
    assert " - " not in proc.stdout, proc.stdout  # no figure missing
