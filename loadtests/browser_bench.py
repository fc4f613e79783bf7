"""The browser UI's speed (issue 10): headless Chromium against a real ``bidserver serve``.

    python -m loadtests.browser_bench [--quick] [--loads 20] [--room-bids 200] [--console-s 20]

Debian's Chromium, launched as the browser tests launch it (``tests.web.browser``), and the
server as they start it (``tests.web.server``: ``serve --port 0`` with its embedded Redis and
development sign-in; every token here is a development token from ``POST /api/dev/tokens``).
Auctions are created, joined and bid on over the HTTP API; the browser only reads. Three measures:

1. **Room load.** A supplier's join link opened in ``--loads`` fresh browser contexts (empty cache
   and storage), one after another, after one warm-up load that is not counted: the time from
   navigation until the lot shows the supplier's rank and countdown, read in the page
   (``performance.now()``, whose origin is the navigation's start, when the element appears and
   at the animation frame after), and the bytes of JavaScript and CSS the page transferred
   (Resource Timing's ``transferSize``: compressed bodies plus headers). Then again with the CPU
   throttled 4x (DevTools' ``Emulation.setCPUThrottlingRate``) on a phone's viewport.
2. **Update to screen.** A supplier's room on a full-board auction while other suppliers bid over
   HTTP, one bid every ``--room-interval-ms`` (longer than the server's 50 ms fan-out interval,
   so each bid is its own update), each taking the lead: the UI's own ``bidserver:update``
   measures (``web/static/js/components/use-live.js``: a frame's arrival until the animation
   frame that shows it has been painted), split at the render's commit to the DOM and at the
   frame's begin time (the display's beat, which the page waits for and cannot hurry).
3. **Buyer console under load.** An auction with ``--suppliers`` invited suppliers and
   ``--lots`` lots, every supplier's bid on every lot (full boards), the page scrolled to its
   lots, then ``--console-rate`` bids a second for ``--console-s`` seconds, spread over the lots
   and suppliers. Long tasks (> 50 ms on the main thread) and long animation frames are observed
   from before the page's first script; the ones before the first paced bid are the initial
   load, the rest the steady state. Also the update measures, and the main thread's time per
   update (DevTools' Performance metrics: all tasks, script, layout, style).

Every wait is bounded; every address is loopback. ``--web-dir`` serves another copy of ``web/``
(a before and after). ``--quick`` runs tiny sizes in a few seconds (the smoke test: its figures
mean nothing). See docs/performance.md, "The browser UI (issue 10)".
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from loadtests.browser_report import BUSY, loadavg, table
from tests.web.browser import VIEWPORTS, PageErrors, chromium, launch
from tests.web.server import WebServer

CEILING = 100_000_000  # EUR 1,000,000.00: every bid takes the lead by STEP, never runs out
STEP = 100  # EUR 1.00
TIMEOUT_MS = 60_000  # every wait in the browser (a throttled load, a console of 1,000 rows)
SIX_HOURS_MS = 6 * 3600 * 1000  # nothing closes during a run

# Run in every page before its own scripts: when the room's rank first appears (and the frame
# after), every long task and long animation frame, and each update measure's parts.
OBSERVE = """
window.__bench = { shown: null, painted: null, longtasks: [], frames: [] };
new MutationObserver((_, observer) => {
  if (!document.querySelector("[data-testid=your-rank]")) return;
  observer.disconnect();
  window.__bench.shown = performance.now();
  requestAnimationFrame(() => { window.__bench.painted = performance.now(); });
}).observe(document, { childList: true, subtree: true });
for (const [type, into] of [["longtask", "longtasks"], ["long-animation-frame", "frames"]]) {
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__bench[into].push([e.startTime, e.duration]);
    }).observe({ type, buffered: true });
  } catch { /* an entry type this browser lacks: none reported */ }
}
"""

READ_LOAD = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const files = [nav, ...performance.getEntriesByType("resource")].map((e) => ({
    url: e.name, transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize,
  }));
  return { shown: window.__bench.shown, painted: window.__bench.painted,
           dcl: nav.domContentLoadedEventEnd, files };
}"""

# Each update measure (use-live.js): arrival, DOM committed, the frame's begin time (its
# requestAnimationFrame time), its callbacks run, and painted (a task queued from the callbacks).
READ_UPDATES = """() => performance.getEntriesByName("bidserver:update").map((e) => [
  e.startTime, e.detail.committed, e.detail.frame, e.detail.callbacks, e.startTime + e.duration])"""
CLEAR_UPDATES = "() => performance.clearMeasures('bidserver:update')"
# Two animation frames: the frame that paints the last update has run (or a second has passed).
NEXT_FRAME = """() => new Promise((done) => {
  setTimeout(done, 1000);
  requestAnimationFrame(() => requestAnimationFrame(done));
})"""


@dataclass
class Sizes:
    loads: int = 20  # fresh contexts per room-load series
    throttled_loads: int = 10  # the same with the CPU throttled
    throttle: float = 4.0
    room_bids: int = 200
    room_bidders: int = 10  # the other suppliers of the update-to-screen auction
    room_interval_ms: float = 80.0
    suppliers: int = 200  # the console's auction
    lots: int = 5
    console_rate: float = 20.0  # bids/s
    console_s: float = 20.0


FULL = Sizes()
QUICK = Sizes(loads=2, throttled_loads=1, room_bids=8, room_bidders=3, suppliers=6, lots=2,
              console_rate=10.0, console_s=1.0)


# --------------------------------------------------------------------------------- server side


class Backend:
    """Auctions and bids over the HTTP API, with development tokens (one per party, cached)."""

    def __init__(self, server: WebServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=30)
        self.tokens: dict[tuple[str, str], str] = {}
        self.prices: dict[tuple[str, str], int] = {}  # (auction, lot) -> the last amount bid

    def token(self, role: str, party: str) -> str:
        if (role, party) not in self.tokens:
            self.tokens[role, party] = self.server.dev_token(role, party, party.title())
        return self.tokens[role, party]

    def call(self, bearer: str, method: str, path: str, body: Any = None) -> dict:
        answer = self.http.request(method, path, json=body,
                                   headers={"authorization": f"Bearer {bearer}"})
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()

    def auction(self, title: str, visibility: str, lots: int, suppliers: list[str]) -> str:
        """An open auction (six hours long) with these suppliers invited."""
        buyer = self.token("buyer", "city-hall")
        config = {
            "title": title, "currency": "EUR", "duration_ms": SIX_HOURS_MS,
            "lots": [{"lot_id": f"L{i + 1}", "title": f"Lot {i + 1}", "quantity": "1200",
                      "unit": "t", "ceiling": CEILING} for i in range(lots)],
            "decrement": {"kind": "amount", "value": 1}, "visibility": visibility,
            "bid_rule": "improve_own", "tie_rule": "reject", "award_mode": "buyer",
        }
        auction_id = self.call(buyer, "POST", "/api/auctions", {"config": config})["view"]["auction_id"]
        for supplier in suppliers:
            self.call(buyer, "POST", f"/api/auctions/{auction_id}/invitations",
                      {"supplier": supplier, "name": supplier.title()})
        self.call(buyer, "POST", f"/api/auctions/{auction_id}/start")
        return auction_id

    def next_price(self, auction_id: str, lot: str) -> int:
        """The lot's next amount: one STEP under the last, so every bid takes the lead."""
        amount = self.prices.get((auction_id, lot), CEILING + STEP) - STEP
        self.prices[auction_id, lot] = amount
        return amount

    def bid(self, auction_id: str, supplier: str, lot: str, amount: int) -> bool:
        """A supplier's bid; whether it was accepted."""
        answer = self.http.post(
            f"/api/auctions/{auction_id}/bids",
            json={"bid_id": str(uuid.uuid4()), "lot_id": lot, "amount": amount},
            headers={"authorization": f"Bearer {self.token('supplier', supplier)}"})
        return answer.status_code == 201

    def link(self, route: str, auction_id: str, role: str, party: str) -> str:
        """A join link (``#/room/<id>?token=``) or its buyer's equivalent for the console."""
        return f"{self.server.base_url}/#/{route}/{auction_id}?token={self.token(role, party)}"

    def paced(self, bids: list[tuple[str, str]], auction_id: str, interval_s: float) -> dict:
        """``(supplier, lot)`` bids, one every ``interval_s`` on a fixed schedule, each taking
        its lot's lead; how many were accepted, the rate achieved, and the last bid."""
        accepted, began, last = 0, time.monotonic(), 0.0
        for k, (supplier, lot) in enumerate(bids):
            time.sleep(max(0.0, began + k * interval_s - time.monotonic()))
            last = time.monotonic() - began
            amount = self.next_price(auction_id, lot)
            accepted += self.bid(auction_id, supplier, lot, amount)
        rate = (len(bids) - 1) / last if last else 0.0  # from the first send to the last
        return {"accepted": accepted, "sent": len(bids), "rate": rate,
                "last": bids[-1][1], "last_amount": self.prices[auction_id, bids[-1][1]]}


def euros(minor: int) -> str:
    """An amount as the English UI shows it (en-GB, EUR): 123456 -> "€1,234.56"."""
    return f"€{minor // 100:,}.{minor % 100:02d}"


# --------------------------------------------------------------------------------- measures


def main_thread(cdp: Any) -> dict[str, float]:
    """The page's main-thread time so far, in seconds (DevTools' Performance metrics): all its
    tasks, and within them script, layout and style."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {name: metrics[name] for name in BUSY}


def kind_of(url: str) -> str:
    """``js``, ``css`` or ``other`` (the page, the catalogue, API answers), by the URL's path."""
    path = url.split("?", 1)[0]
    return "js" if path.endswith((".js", ".mjs")) else "css" if path.endswith(".css") else "other"


@dataclass
class Run:
    sizes: Sizes
    browser: Browser
    backend: Backend
    web_dir: Path
    errors: PageErrors = field(default_factory=PageErrors)
    results: dict[str, Any] = field(default_factory=dict)

    def context(self, who: str, viewport: str = "desktop") -> BrowserContext:
        context = self.browser.new_context(locale="en", **VIEWPORTS[viewport])
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(OBSERVE)
        self.errors.watch(context, who)
        return context

    # ----------------------------------------------------------------- 1. room load

    def room_load(self, link: str, viewport: str, throttle: float) -> dict:
        context = self.context(f"room load ({viewport}, CPU /{throttle:g})", viewport)
        encodings: dict[str, str] = {}
        context.on("response", lambda r: encodings.__setitem__(
            r.url, r.headers.get("content-encoding", "identity")))
        try:
            page = context.new_page()
            if throttle > 1:
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            began = time.perf_counter()
            page.goto(link, wait_until="commit")
            page.get_by_test_id("your-rank").wait_for(state="visible")
            wall_ms = (time.perf_counter() - began) * 1000
            page.wait_for_function("() => window.__bench.painted !== null")
            page.wait_for_load_state("networkidle")  # the history the room asks for once open
            load = page.evaluate(READ_LOAD)
        finally:
            context.close()
        sums = {k: {"transfer": 0, "encoded": 0, "decoded": 0, "files": 0, "plain": []}
                for k in ("js", "css", "other")}
        for f in load["files"]:
            s = sums[kind_of(f["url"])]
            s["files"] += 1
            for key in ("transfer", "encoded", "decoded"):
                s[key] += f[key]
            if kind_of(f["url"]) != "other" and encodings.get(f["url"]) != "gzip":
                s["plain"].append(f"{f['url'].rsplit('/', 1)[-1]} ({f['decoded']} B)")
        return {"wall": wall_ms, "shown": load["shown"], "painted": load["painted"],
                "dcl": load["dcl"], "bytes": sums}

    def room_loads(self) -> None:
        s = self.sizes
        auction = self.backend.auction("Room load", "rank_and_leading_price", 1, ["acme"])
        self.backend.bid(auction, "acme", "L1", self.backend.next_price(auction, "L1"))
        link = self.backend.link("room", auction, "supplier", "acme")
        self.results["warmup"] = self.room_load(link, "desktop", 1)
        series = [("desktop", 1.0, s.loads), ("phone", s.throttle, s.throttled_loads)]
        for viewport, throttle, count in series:
            loads = [self.room_load(link, viewport, throttle) for _ in range(count)]
            self.results[f"load.{viewport}"] = loads

    # ----------------------------------------------------------------- 2. update to screen

    def room_updates(self) -> None:
        s = self.sizes
        others = [f"rival-{i:02d}" for i in range(s.room_bidders)]
        auction = self.backend.auction("Update to screen", "full_board", 1, ["acme", *others])
        self.backend.bid(auction, "acme", "L1", self.backend.next_price(auction, "L1"))
        for supplier in others:  # tokens before the clock starts (development sign-in is paced)
            self.backend.token("supplier", supplier)
        context = self.context("supplier room")
        try:
            page = context.new_page()
            page.goto(self.backend.link("room", auction, "supplier", "acme"))
            page.get_by_test_id("your-rank").filter(has_text="1").wait_for()
            page.evaluate(CLEAR_UPDATES)
            bids = [(others[k % len(others)], "L1") for k in range(s.room_bids)]
            sent = self.backend.paced(bids, auction, s.room_interval_ms / 1000)
            page.get_by_test_id("leading").filter(has_text=euros(sent["last_amount"])).wait_for()
            page.evaluate(NEXT_FRAME)
            self.results["room.updates"] = page.evaluate(READ_UPDATES)
            self.results["room.sent"] = sent
        finally:
            context.close()

    # ----------------------------------------------------------------- 3. buyer console

    def console(self) -> None:
        s = self.sizes
        suppliers = [f"supplier-{i:03d}" for i in range(s.suppliers)]
        lots = [f"L{i + 1}" for i in range(s.lots)]
        for supplier in suppliers:
            self.backend.token("supplier", supplier)
        auction = self.backend.auction("Console under load", "full_board", s.lots, suppliers)
        seed = [(supplier, lot, self.backend.next_price(auction, lot))
                for supplier in suppliers for lot in lots]
        with ThreadPoolExecutor(8) as pool:
            seeded = sum(pool.map(lambda b: self.backend.bid(auction, *b), seed))
        context = self.context("buyer console")
        try:
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(self.backend.link("auctions", auction, "buyer", "city-hall"))
            # Each board shows its top 10 rows until the buyer asks for all (console.js TOP_ROWS).
            page.wait_for_function(
                "n => document.querySelectorAll('[data-testid=board] tbody tr').length >= n",
                arg=len(lots) * min(10, len(suppliers)))
            page.wait_for_load_state("networkidle")  # the bid history behind the price charts
            # What a buyer watches: the lots, below the suppliers' table.
            page.locator("article[data-lot='L1']").scroll_into_view_if_needed()
            page.evaluate(NEXT_FRAME)
            steady_from = page.evaluate("() => performance.now()")
            page.evaluate(CLEAR_UPDATES)
            before = main_thread(cdp)
            count = round(s.console_rate * s.console_s)
            bids = [(suppliers[k % len(suppliers)], lots[k % len(lots)]) for k in range(count)]
            sent = self.backend.paced(bids, auction, 1 / s.console_rate)
            card = page.locator(f"article[data-lot='{sent['last']}']")
            card.get_by_test_id("leading").filter(has_text=euros(sent["last_amount"])).wait_for()
            page.evaluate(NEXT_FRAME)
            after = main_thread(cdp)
            bench = page.evaluate("() => window.__bench")
            self.results["console.updates"] = page.evaluate(READ_UPDATES)
        finally:
            context.close()
        for key in ("longtasks", "frames"):
            entries = bench[key]
            self.results[f"console.{key}.load"] = [d for at, d in entries if at < steady_from]
            self.results[f"console.{key}.steady"] = [d for at, d in entries if at >= steady_from]
        self.results["console.sent"] = sent
        self.results["console.busy"] = {k: after[k] - before[k] for k in after}
        self.results["console.seeded"] = (seeded, len(seed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves the script runs")
    parser.add_argument("--web-dir", type=Path, default=None,
                        help="serve the UI from this directory (BIDSERVER_WEB_DIR): another "
                        "version of web/, for a before and after")
    for name, spec in Sizes.__dataclass_fields__.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(spec.default), default=None)
    parser.add_argument("--raw", type=Path, default=None,
                        help="also write every measure taken, as JSON, to this file")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(**{name: getattr(args, name) if getattr(args, name) is not None
                     else getattr(base, name) for name in Sizes.__dataclass_fields__})
    if chromium() is None:
        print("no chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    load_before = loadavg()
    web_dir = (args.web_dir or Path(__file__).resolve().parents[1] / "web").resolve()
    env = {"BIDSERVER_WEB_DIR": str(web_dir)}
    with tempfile.TemporaryDirectory(prefix="bidserver-browser-bench-") as work:
        server = WebServer("", Path(work) / "data", env=env)
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                run = Run(sizes, browser, Backend(server), web_dir)
                run.room_loads()
                run.room_updates()
                run.console()
                print(table(run, ["python", "-m", "loadtests.browser_bench", *argv],
                            browser.version, load_before))
                if args.raw:
                    args.raw.write_text(json.dumps(run.results))
                report = run.errors.report()
                if report:
                    print(f"\nThe pages reported errors (figures suspect):\n{report}")
                browser.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
