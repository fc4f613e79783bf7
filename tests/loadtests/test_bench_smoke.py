"""CI runs the benchmark in smoke mode only: it must finish and print its table.

No figure is asserted (CI machines are shared and small sizes mean nothing); the full benchmark is
run by hand (``python -m loadtests.bench``, see docs/performance.md). Select it alone with
``pytest -m bench``; it is part of the default suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.timeout(240)]


def test_bench_smoke_prints_the_table(tmp_path):
    pytest.importorskip("picows", reason="the load generator needs picows (pip install -e '.[test]')")
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        capture_output=True,
        text=True,
        timeout=210,  # three servers in the live-room scenario, on a shared CI machine
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| scenario" in proc.stdout and "| bidserver" in proc.stdout, proc.stdout + proc.stderr
    assert "hot auction: durable bids/s" in proc.stdout
    assert "as x of the baseline with no conflation" in proc.stdout
    assert "FAILED" not in proc.stdout, proc.stdout  # every scenario ran on both servers
    assert out.exists()


def test_bench_smoke_with_a_replica_takes_bids_waiting_for_it(tmp_path):
    """``--redis-replicas 1``: bidserver's Redis gets a replica, serve starts without the
    single-machine flag, and every bid of the hot auction is accepted."""
    pytest.importorskip("picows", reason="the load generator needs picows (pip install -e '.[test]')")
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.bench", "--smoke", "--servers", "bidserver",
         "--only", "hot", "--redis-replicas", "1", "--out", str(out)],
        cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"), capture_output=True, text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [accepted] = [line for line in proc.stdout.splitlines() if "hot auction: bids not accepted" in line]
    assert accepted.split("|")[2].strip() == "0", accepted
    assert "FAILED" not in proc.stdout, proc.stdout
