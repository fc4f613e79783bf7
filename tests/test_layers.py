"""The layers hold: checked from the source's imports (every import, ``TYPE_CHECKING`` ones too).

sealing (pure cryptography) -> engine (pure) -> runtime -> edges (http, ws) and the composition root
(app, cli); store below the runtime. See docs/design.md, "Layers".
"""

from __future__ import annotations

import ast
from pathlib import Path

import bidserver

ROOT = Path(bidserver.__file__).parent


def modules() -> dict[str, set[str]]:
    """Every bidserver module and the bidserver modules it imports (``from pkg import mod`` is an
    import of ``pkg.mod``, not of ``pkg``'s ``__init__``)."""
    paths = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    module = f"{base}.{alias.name}"
                    imported.add(module if module in paths else base)
        graph[name] = {m for m in imported if m.startswith("bidserver")}
    return {name: {m for m in deps if m in graph} - {name} for name, deps in graph.items()}


GRAPH = modules()


def imports_of(prefix: str) -> set[str]:
    return {dep for name, deps in GRAPH.items() if name.startswith(prefix) for dep in deps}


def test_the_engine_is_pure_and_self_contained():
    outside = {d for d in imports_of("bidserver.engine") if not d.startswith(("bidserver.engine", "bidserver.sealing"))}
    assert outside <= {"bidserver"}, outside
    assert "bidserver.sealing.keys" not in imports_of("bidserver.engine")  # sealing's one module with file I/O


def test_sealing_imports_nothing_of_bidserver_but_itself():
    assert any(name.startswith("bidserver.sealing.") for name in GRAPH)
    outside = {d for d in imports_of("bidserver.sealing") if not d.startswith("bidserver.sealing")}
    assert outside <= {"bidserver"}, outside
    # key files are the composition root's to read, which hands the keys down (``audit`` is the
    # root's loader of the server's one signing key, for serve and ``bidserver audit``)
    readers = {name for name, deps in GRAPH.items() if "bidserver.sealing.keys" in deps}
    assert readers <= {"bidserver.app", "bidserver.audit", "bidserver.cli",
                       "bidserver.cli_sealing"}, readers


def test_the_runtime_never_imports_an_edge():
    allowed = ("bidserver.engine", "bidserver.runtime", "bidserver.store", "bidserver.failures",
               "bidserver.clock", "bidserver.metrics")
    outside = {d for d in imports_of("bidserver.runtime") if not d.startswith(allowed)}
    assert outside <= {"bidserver"}, outside


def test_the_store_knows_no_runtime_engine_or_edge():
    forbidden = ("bidserver.runtime", "bidserver.engine", "bidserver.http", "bidserver.ws",
                 "bidserver.wire", "bidserver.app")
    assert not {d for d in imports_of("bidserver.store") if d.startswith(forbidden)}


def test_http_and_ws_do_not_import_each_other():
    assert not {d for d in imports_of("bidserver.http") if d.startswith("bidserver.ws")}
    assert not {d for d in imports_of("bidserver.ws") if d.startswith("bidserver.http")}


def test_no_module_imports_one_that_imports_it_back():
    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for dep in GRAPH.get(todo.pop(), ()):
                # a package's __init__ importing its own modules is no cycle through them
                if dep not in seen and not start.startswith(dep + "."):
                    seen.add(dep)
                    todo.append(dep)
        return seen

    cycles = sorted(name for name in GRAPH if name in reach(name))
    assert not cycles, cycles
