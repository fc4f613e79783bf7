"""Headless Chromium for the web tests: Debian's ``chromium`` driven by Playwright's sync API.

Playwright downloads no browser (CI's network has no browser download to offer): it launches the
system's binary. While Playwright's sync API runs, its event loop counts as running in this
thread, so the web tests are synchronous and the browser lives only as long as ``tests/web``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
TIMEOUT_MS = 10_000  # every Playwright wait (actions, expect, navigation) gives up after this

# Without the background-networking flags Chromium phones home at start (component updates,
# sync, variations), and on a closed network those refused connections slow and disturb it.
FLAGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
}


def chromium() -> str | None:
    return shutil.which("chromium")


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless; as root only without its sandbox (which refuses root)."""
    args = list(FLAGS) + (["--no-sandbox"] if os.geteuid() == 0 else [])
    return playwright.chromium.launch(executable_path=chromium(), headless=True, args=args)


@dataclass
class PageErrors:
    """What a page must never show: ``console.error``, uncaught exceptions, and Content Security
    Policy violations (Chromium reports those, like failed loads, as console errors).

    ``allow`` takes a regular expression for an error a test expects (a live room's WebSocket
    refused while its server restarts, say)."""

    seen: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    def watch(self, context: BrowserContext, who: str) -> None:
        self.contexts.append(context)
        context.on("console", lambda message: self._console(who, message))
        context.on("page", lambda page: page.on(
            "pageerror", lambda error: self._uncaught(who, page, error)))

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def _console(self, who: str, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location
            self.seen.append(f"[{who}] console.error at {where['url'] or '(inline)'}:"
                             f"{where['lineNumber'] + 1}: {message.text}")

    def _uncaught(self, who: str, page: Page, error: Error) -> None:
        self.seen.append(f"[{who}] uncaught on {page.url}: {error.stack or error.message}")

    def unexpected(self) -> list[str]:
        """The errors seen so far that no ``allow`` pattern matches. A round trip to every open
        page first: errors a page reported before it are delivered to the handlers by then."""
        for context in self.contexts:
            for page in context.pages:
                try:
                    page.evaluate("0")
                except Error:
                    pass  # closed, crashed or navigating: what it reported is in already
        return [e for e in self.seen if not any(p.search(e) for p in self.allowed)]

    def report(self) -> str:
        errors = self.unexpected()
        if not errors:
            return ""
        return f"{len(errors)} browser error(s):\n" + "\n".join(f"  {e}" for e in errors)


def accessibility_report(page: Page, name: str) -> str:
    """axe-core's serious and critical violations on ``page``, readably; empty if none."""
    violations = [
        v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")
    ]
    if not violations:
        return ""
    lines = [f"axe: {len(violations)} serious or critical violation(s) on {name} ({page.url}):"]
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            lines.extend(f"      {line}" for line in node.get("failureSummary", "").splitlines())
    return "\n".join(lines)


def screenshot_path(screen: str, locale: str, viewport: str) -> Path:
    """``artifacts/screenshots/<screen>-<lang>-<desktop|phone>.png``."""
    return SCREENSHOTS / f"{screen}-{locale}-{viewport}.png"


def take_screenshot(page: Page, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True, animations="disabled", caret="hide")
    return path


def wait_until(predicate: Callable[[], Any], timeout: float = TIMEOUT_MS / 1000,
               what: str = "condition") -> Any:
    """For conditions outside the page (a server's state): poll ``predicate`` until it returns
    something truthy, and fail after ``timeout`` seconds. In the page, use Playwright's
    ``expect`` and ``wait_for_*``, which wait the same way."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return value
