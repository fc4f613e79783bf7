"""The browser harness itself, on pages of its own (no UI needed): Chromium opens a page served
under a strict Content Security Policy, axe runs in it, screenshots land where the README says,
browser errors fail a test, and the server comes back on its port with its data."""

from __future__ import annotations

import http.server
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from bidserver.auth import mint_token

from .browser import REPO, SCREENSHOTS
from .conftest import unavailable

CSP = "default-src 'self'; base-uri 'none'; frame-ancestors 'none'"
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Harness</title>
  <link rel="icon" href="icon.svg">
  <script type="module" src="app.js"></script>
</head>
<body>
  <main>
    <h1>Road salt, 1200 t · 道路用盐</h1>
    <p id="status">waiting for the script</p>
    <button type="button">Place bid</button>
  </main>
</body>
</html>
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """A page and its script, from a local http.server on a free port, with a strict CSP."""
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "app.js").write_text('document.getElementById("status").textContent = "ready";\n')
    (tmp_path / "icon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def end_headers(self) -> None:
            self.send_header("Content-Security-Policy", CSP)
            super().end_headers()

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def test_a_page_under_a_strict_csp_runs_its_script_passes_axe_and_is_screenshotted(
    site, new_page, check_accessibility, screenshot
):
    for locale, viewport, width in (("en", "desktop", 1280), ("zh-CN", "phone", 390 * 2)):
        page = new_page(locale=locale, viewport=viewport)
        page.goto(site)
        expect(page.locator("#status")).to_have_text("ready")
        assert page.evaluate("navigator.language") == locale
        check_accessibility(page, "harness")  # axe is injected without breaking the CSP
        path = screenshot(page, "harness")
        assert path == SCREENSHOTS / f"harness-{locale}-{viewport}.png"
        assert png_size(path)[0] == width


def test_serious_accessibility_violations_fail_with_what_to_fix(new_page, check_accessibility):
    page = new_page()
    page.set_content('<html lang="en"><title>t</title><main><h1>h</h1>'
                     '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
                     '<button></button></main>')
    with pytest.raises(pytest.fail.Exception) as failed:
        check_accessibility(page, "bad page")
    report = str(failed.value)
    assert "on bad page" in report
    assert "[critical] image-alt" in report and "[critical] button-name" in report
    assert "<img" in report and "Fix" in report


INNER = """
from playwright.sync_api import expect

def test_console_error(new_page):
    new_page().set_content("<script>console.error('boom-1')</script>")

def test_uncaught(new_page):
    new_page().set_content("<script>throw new Error('boom-2')</script>")

def test_csp_violation(new_page):
    new_page().set_content(
        "<meta http-equiv='Content-Security-Policy' content=\\"script-src 'none'\\">"
        "<script>var boom3 = 1</script>")

def test_failing_anyway(new_page):
    new_page(who="supplier A").set_content("<script>console.error('boom-4')</script>")
    assert False, "its own failure"

def test_allowed(new_page, page_errors):
    page_errors.allow("WebSocket connection .* failed")
    new_page().set_content(
        "<script>console.error('WebSocket connection to ws://x failed')</script><p>ok</p>")

def test_clean(new_page):
    page = new_page()
    page.set_content("<script>console.log('fine'); console.warn('fine')</script><p>ok</p>")
    expect(page.locator("p")).to_have_text("ok")
"""


def test_browser_errors_fail_the_test_that_made_them(tmp_path):
    (tmp_path / "test_inner.py").write_text(INNER)
    inner = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.web.conftest", "-p", "no:cacheprovider",
         "-q", "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        # Only the harness as a plugin: the suite's others (schemathesis...) take seconds to load.
        env=dict(os.environ, PYTHONPATH=str(REPO), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"),
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    out = inner.stdout + inner.stderr
    assert "4 failed, 2 passed" in out, out
    for says in ("console.error at (inline):1: boom-1", "uncaught on about:blank: Error: boom-2",
                 "violates the following Content Security Policy", "[supplier A] console.error"):
        assert says in out, (says, out)
    assert "its own failure" in out


def test_the_server_restarts_on_its_port_with_its_data(server):
    # The server's own key (it generated it: dev sign-in is on), as a platform would sign.
    buyer = {"authorization": "Bearer " + mint_token(
        (server.data_dir / "jwt.key").read_text().strip(), role="buyer", party="org-1")}
    config = {"title": "t", "currency": "EUR", "duration_ms": 60_000,
              "decrement": {"kind": "amount", "value": 1},
              "lots": [{"lot_id": "L1", "title": "l", "ceiling": 100}]}
    created = httpx.post(f"{server.base_url}/api/auctions", json={"config": config},
                         headers=buyer, timeout=5)
    assert created.status_code == 201, created.text
    auction = f"{server.base_url}/api/auctions/{created.json()['view']['auction_id']}"
    base_url, pid = server.base_url, server.proc.pid

    server.restart(kill=True)
    assert server.base_url == base_url and server.proc.pid != pid
    assert httpx.get(auction, headers=buyer, timeout=5).status_code == 200


def test_without_chromium_the_tests_skip_unless_ci_requires_them(monkeypatch):
    monkeypatch.delenv("BIDSERVER_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        unavailable("no chromium on PATH")
    monkeypatch.setenv("BIDSERVER_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="BIDSERVER_REQUIRE_BROWSER is set"):
        unavailable("no chromium on PATH")
