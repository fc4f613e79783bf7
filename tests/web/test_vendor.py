"""The committed bundles in web/static/vendor are what ``web/vendor.mjs`` builds from the lockfile:
a dependency bumped without a rebuild, or a bundle edited by hand, fails here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .browser import REPO

WEB = REPO / "web"
VENDOR = WEB / "static" / "vendor"


def test_the_committed_bundles_are_what_vendor_mjs_builds(web_node_modules, tmp_path):
    def leave_out(directory: str, names: list[str]) -> list[str]:
        # The packages are linked, not copied; the bundles are built afresh, in an empty folder.
        if Path(directory) == WEB:
            return ["node_modules"]
        return ["vendor"] if Path(directory) == WEB / "static" else []

    copy = tmp_path / "web"
    shutil.copytree(WEB, copy, ignore=leave_out)
    (copy / "node_modules").symlink_to(web_node_modules, target_is_directory=True)
    built = subprocess.run(["node", "vendor.mjs"], cwd=copy, capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, f"node vendor.mjs:\n{built.stdout}{built.stderr}"

    fresh = {p.name: p.read_bytes() for p in (copy / "static" / "vendor").iterdir()}
    # Beside the bundles only the hand-written type declarations (test_typecheck.py checks them).
    committed = {p.name for p in VENDOR.iterdir() if not p.name.endswith(".d.ts")}
    rebuild = "rebuild with `npm run vendor --prefix web` and commit web/static/vendor"
    assert committed == set(fresh), (
        f"vendor.mjs builds {sorted(fresh)}, committed: {sorted(committed)}: {rebuild}")
    differ = sorted(name for name, built in fresh.items() if (VENDOR / name).read_bytes() != built)
    assert not differ, f"{', '.join(differ)} differ from what vendor.mjs builds: {rebuild}"
