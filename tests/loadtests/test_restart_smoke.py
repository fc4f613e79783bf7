"""CI runs the restart benchmark in smoke mode only: it must finish and print its table (no figure
is asserted; the full run, 1M events across 1,000 auctions, is by hand: docs/performance.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(150)]


def test_restart_smoke_prints_the_table():
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.restart", "--smoke"],
        cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for row in ("listening", "healthy", "first_bid", "recovered", "Redis used_memory"):
        assert row in proc.stdout, proc.stdout
