"""The audit-verify measurement (``python -m loadtests.audit_verify_bench``) must keep running:
tiny sizes, no figure asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(60)]


def test_audit_verify_bench_smoke_prints_its_rates() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.audit_verify_bench", "--entries", "300",
         "--head-every", "100"],
        cwd=ROOT, capture_output=True, text=True, timeout=50,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verify (in process):" in proc.stdout and "entries/s" in proc.stdout, proc.stdout
    assert "bidserver audit verify:" in proc.stdout, proc.stdout
