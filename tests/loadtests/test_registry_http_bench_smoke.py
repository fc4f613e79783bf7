"""The registry's HTTP benchmark (``python -m loadtests.registry_http_bench``) must keep running:
300 real suppliers made through ``Admission.act``, the real server on them, every request
answered as expected and every row printed with its figures; none asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(90)]

ROWS = [
    "| `GET /api/suppliers?q=` a name prefix (1-3 characters) | 10 |",
    "| `?code=` an identifier prefix (4-6 characters) | 10 |",
    "| `?category=X&status=qualified`, the first page | 10 |",
    "| `?q=&category=X&status=qualified`, the start of one of its suppliers' names | 10 |",
    "| `?status=blacklisted` (reviewer) | 10 |",
    "| `?review=pending`, the reviewers' queue (reviewer) | 10 |",
    "| pages deep into `?category=X&status=qualified` (every `next_cursor` followed, 1 listings,",
    "| `GET /api/suppliers/{id}`, one record with its standings | 10 |",
    "| `POST /api/auctions/{id}/invitations`, admitted (the registry's lookup, the invitation "
    "noted and journaled durably) | 10 |",
    "| `POST /api/auctions/{id}/invitations`, refused 409 `supplier_not_eligible` | 10 |",
]


def test_registry_http_bench_smoke_prints_its_table() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.registry_http_bench", "--suppliers", "300",
         "--samples", "10"],
        cwd=ROOT, capture_output=True, text=True, timeout=80,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fill = "suppliers: 300, in 50 categories; fill through Admission.act"
    assert fill in proc.stdout, proc.stdout
    assert "load average (1 min) when the requests began / ended: " in proc.stdout, proc.stdout
    lines = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert len(lines) == len(ROWS) + 1, proc.stdout  # the header row and one row a request
    for row, line in zip(ROWS, lines[1:]):
        assert line.startswith(row), (row, line)
        assert re.search(r"\| \d+\.\d / \d+\.\d \|", line), line  # p50 / p99 printed
