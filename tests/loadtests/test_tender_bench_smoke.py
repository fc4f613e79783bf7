"""The sealed tenders' benchmark (``python -m loadtests.tender_bench``) must keep running: tiny
sizes, every bid accepted with its receipt and the record on every socket, no figure asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(90)]


def test_tender_bench_smoke_prints_its_table() -> None:
    proc = subprocess.run([sys.executable, "-m", "loadtests.tender_bench", "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=80)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| deadline rush: accepted with a receipt / refused or failed | 20 / 0 |" in proc.stdout, proc.stdout
    assert "| opening 10 sealed bids (k-th share to the record on every bidder's socket, 10 sockets)" \
        in proc.stdout, proc.stdout
