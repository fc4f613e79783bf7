"""The table ``python -m loadtests.browser_bench`` prints: each figure beside its target, with the
command, the machine (and its load average: the browser, the server and this script share it
with whatever else runs), and the browser."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any

from loadtests.bench import machine
from tests.web.browser import chromium

Row = tuple[str, str, str, str]
BUSY = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "**no**")


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def spread(values: list[float]) -> str:
    return f"{fmt(percentile(values, 0.5))} / {fmt(max(values) if values else None)}"


def load_rows(label: str, loads: list[dict], target: bool) -> list[Row]:
    painted = [x["painted"] for x in loads]
    return [
        (f"room load{label}: navigation to your rank on screen (the frame after it appears), "
         f"median / max ms ({len(loads)} fresh contexts)", spread(painted),
         "<= 1000" if target else "", verdict(at_most(max(painted), 1000)) if target else ""),
        (f"room load{label}: ... to your rank in the DOM, median / max ms",
         spread([x["shown"] for x in loads]), "", ""),
        (f"room load{label}: goto to rank visible, from this script, median / max ms",
         spread([x["wall"] for x in loads]), "", ""),
        (f"room load{label}: DOMContentLoaded, median / max ms", spread([x["dcl"] for x in loads]),
         "", ""),
    ]


def update_rows(label: str, updates: list[list[float]]) -> list[Row]:
    """Each update ``[arrival, committed, frame, callbacks, painted]`` (use-live.js). The page's
    time is arrival to painted less the wait between the commit and the frame's begin time: the
    beat of the display (60 Hz: 0 to 16.7 ms, uniformly, on a real screen), which no page can
    hurry; a busy main thread that delays the frame past its beat still counts."""
    waits = [max(0.0, frame - committed) for _, committed, frame, _, _ in updates]
    walls = [painted - arrival for arrival, _, _, _, painted in updates]
    page = [wall - wait for wall, wait in zip(walls, waits)]
    parts = {
        "arrival to DOM committed (parse, render, DOM changes)":
            [committed - arrival for arrival, committed, _, _, _ in updates],
        "committed to the frame's beat (waiting for the display: not the page's time)": waits,
        "the frame: its beat (or the commit, if later) to painted":
            [painted - max(frame, committed) for _, committed, frame, _, painted in updates],
    }
    p = [percentile(page, q) for q in (0.5, 0.95, 0.99)]
    rows = [(f"{label}: update to screen, the page's time (arrival to painted, less the wait for "
             f"the frame's beat), p50 / p95 / p99 / max ms ({len(updates)} updates)",
             f"{fmt(p[0])} / {fmt(p[1])} / {fmt(p[2])} / {fmt(max(page, default=None))}",
             "p99 <= 16", verdict(at_most(p[2], 16))),
             (f"{label}: ... arrival to painted, the wait for the beat included, p50 / p99 / max ms",
              f"{fmt(percentile(walls, 0.5))} / {fmt(percentile(walls, 0.99))} / "
              f"{fmt(max(walls, default=None))}", "", "")]
    for part, values in parts.items():
        rows.append((f"{label}: ... of which {part}, p50 / p99 ms",
                     f"{fmt(percentile(values, 0.5))} / {fmt(percentile(values, 0.99))}", "", ""))
    return rows


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages: what else ran while the figures were taken."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def table(run: Any,  # loadtests.browser_bench.Run (not imported: it imports this module)
           argv: list[str], version: str, load_before: str) -> str:
    r, s = run.results, run.sizes
    rows: list[Row] = []
    desktop = r["load.desktop"]
    rows += load_rows(" (desktop)", desktop, True)
    first = desktop[0]["bytes"]
    wire = first["js"]["transfer"] + first["css"]["transfer"]
    rows.append(("room load: JS + CSS transferred (gzip bodies + headers), KB (1 KB = 1000 B)",
                 f"{wire / 1000:.1f}", "<= 150", verdict(wire <= 150_000)))
    for kind in ("js", "css", "other"):
        b = first[kind]
        rows.append((f"room load: {kind}: files / transferred / compressed bodies / decoded, KB",
                     f"{b['files']} / {b['transfer'] / 1000:.1f} / {b['encoded'] / 1000:.1f} / "
                     f"{b['decoded'] / 1000:.1f}", "", ""))
    plain = first["js"]["plain"] + first["css"]["plain"]
    rows.append(("room load: JS/CSS files not gzipped (the server gzips files from 500 B)",
                 ", ".join(plain) or "none", "", ""))
    rows.append(("room load: warm-up (first load after the server started, not counted), ms",
                 fmt(r["warmup"]["painted"]), "", ""))
    rows += load_rows(f" (phone viewport, CPU throttled {s.throttle:g}x)", r["load.phone"], False)

    sent = r["room.sent"]
    rows += update_rows("supplier room (full board)", r["room.updates"])
    rows.append(("supplier room: bids accepted / sent, bids/s",
                 f"{sent['accepted']} / {sent['sent']}, {sent['rate']:.1f}", "", ""))

    seeded, seed = r["console.seeded"]
    csent = r["console.sent"]
    rows.append((f"console: {s.suppliers} suppliers, {s.lots} lots: board rows seeded "
                 "(bids accepted / sent)", f"{seeded} / {seed}", "", ""))
    rows.append(("console: paced bids accepted / sent, bids/s",
                 f"{csent['accepted']} / {csent['sent']}, {csent['rate']:.1f}", "", ""))
    for phase, title in (("load", "initial load"), ("steady", "steady state")):
        tasks = r[f"console.longtasks.{phase}"]
        frames = r[f"console.frames.{phase}"]
        ok = not tasks if phase == "steady" else None  # every long task is over 50 ms
        rows.append((f"console {title}: long tasks (> 50 ms): count / longest ms",
                     f"{len(tasks)} / {fmt(max(tasks, default=None))}",
                     "0" if phase == "steady" else "", verdict(ok)))
        rows.append((f"console {title}: long animation frames (> 50 ms): count / longest ms",
                     f"{len(frames)} / {fmt(max(frames, default=None))}", "", ""))
    rows += update_rows("console", r["console.updates"])
    busy, updates = r["console.busy"], max(1, len(r["console.updates"]))
    rows.append(("console steady state: main thread per update: all tasks / script / layout / "
                 "style ms", " / ".join(f"{busy[k] * 1000 / updates:.1f}" for k in BUSY), "", ""))

    m = machine()
    head = [
        f"command: {' '.join(shlex.quote(a) for a in argv)}",
        f"date: {m['date']}; machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, "
        f"{m['kernel']}; Python {m['python']}; load average before / after: "
        f"{load_before} / {loadavg()}",
        f"browser: Chromium {version} (headless, {chromium()}); server: bidserver serve, "
        f"embedded Redis, loopback; UI: {run.web_dir}",
        "",
        "| measure | figure | target | met |",
        "|---|---|---|---|",
    ]
    return "\n".join(head + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows])
