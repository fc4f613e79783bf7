"""The archive memory measurement (``python -m loadtests.archive_memory``, docs/performance.md)
must keep running: tiny sizes, no figure asserted but the one that is exact by construction (a
trimmed auction's stream is gone)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(60)]


def test_archive_memory_smoke_prints_its_lines() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.archive_memory", "--events", "60", "--auctions", "60"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "    60 events |" in proc.stdout and "(stream 0 B)" in proc.stdout, proc.stdout
    assert "60 archived auctions more (after 60)" in proc.stdout, proc.stdout
