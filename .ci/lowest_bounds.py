"""Run by .ci/lowest in .venv-lowest: prints each direct dependency's installed release and fails
if one is not the release its lower bound names (so every bound is one that CI really tests)."""

import sys
import tomllib
from importlib.metadata import version

from packaging.requirements import Requirement
from packaging.version import Version


def padded(v: str) -> tuple[int, ...]:
    release = Version(v).release
    return release + (0,) * (3 - len(release))


project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wrong = []
for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
    req = Requirement(spec)
    if req.marker is not None and not req.marker.evaluate():
        continue  # not for this platform
    installed = version(req.name)
    print(f"lowest: {req.name:16} {installed:12} {req.specifier}")
    low = [s.version for s in req.specifier if s.operator == ">="]
    if low and padded(installed) != padded(low[0]):
        wrong.append(f"{req.name}: bound >={low[0]}, installed {installed}")
if wrong:
    sys.exit("lowest: lower bounds that are not the release installed:\n  " + "\n  ".join(wrong))
