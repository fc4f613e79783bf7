"""The locust scenarios run, headless, against a real server: every user type makes requests and
nothing fails. A smoke run (a few users, seconds): no figure is asserted."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

# Not imported here: importing locust monkey-patches the process with gevent. It is in the test
# extra, so CI runs this; the run itself is a subprocess.
pytestmark = pytest.mark.bench


def test_mixed_load_runs_without_failures(tmp_path):
    prefix = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.locust_run", "--users", "12", "--spawn-rate", "12",
         "--run-time", "8s", "--suppliers", "24", "--csv", str(prefix)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(f"{prefix}_stats.csv", newline="") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    for name in ("ws bid", "ws connect", "ws resume", "ws update (server time to screen)",
                 "GET bid history (buyer)", "GET auction"):
        assert int(rows[name]["Request Count"]) > 0, name
    assert int(rows["Aggregated"]["Failure Count"]) == 0
