"""Fixtures of the browser tests: Chromium, a real server, one browser context per user, and the
checks every screen gets (no browser errors, no serious accessibility violation, screenshots).

Without Chromium (or web/node_modules, for the tests that need Node.js) these tests skip, unless
``BIDSERVER_REQUIRE_BROWSER`` is set, as ``.ci/run`` sets it: then they fail, so that CI cannot
pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .browser import (
    REPO, TIMEOUT_MS, VIEWPORTS, PageErrors, accessibility_report, chromium, launch,
    screenshot_path, take_screenshot,
)
from .server import WebServer

expect.set_options(timeout=TIMEOUT_MS)
PAGE_ERRORS = pytest.StashKey[PageErrors]()


def unavailable(reason: str) -> None:
    """Skip, or fail where CI requires the browser tests to run."""
    if os.environ.get("BIDSERVER_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (BIDSERVER_REQUIRE_BROWSER is set: .ci/run installs it)",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if chromium() is None:
        unavailable("no chromium on PATH (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """``bidserver serve`` with its embedded Redis; ``server.restart()`` keeps data and port."""
    running = WebServer("", tmp_path_factory.mktemp("web") / "data")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def dev_token(server: WebServer) -> Callable[..., str]:
    """``dev_token("supplier", "acme", "ACME Ltd")``: a token from the server's dev sign-in."""
    return server.dev_token


@pytest.fixture
def page_errors(request: pytest.FixtureRequest) -> PageErrors:
    """The browser errors of this test's pages; ``page_errors.allow(regex)`` for expected ones.
    Checked when the test's body ends (``pytest_runtest_call`` below)."""
    errors = PageErrors()
    request.node.stash[PAGE_ERRORS] = errors
    return errors


@pytest.fixture
def _profiles() -> dict[Page, tuple[str, str]]:
    return {}


@pytest.fixture
def new_page(
    browser: Browser, page_errors: PageErrors, _profiles: dict[Page, tuple[str, str]]
) -> Iterator[Callable[..., Page]]:
    """``new_page(locale="en", viewport="desktop"|"phone", who="buyer")``: a page in a context
    of its own (its own cookies and sessionStorage: one per user), watched by ``page_errors``."""
    contexts = []

    def make(locale: str = "en", viewport: str = "desktop", who: str = "") -> Page:
        context = browser.new_context(locale=locale, **VIEWPORTS[viewport])
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page_errors.watch(context, who or f"page {len(contexts)} ({locale}, {viewport})")
        page = context.new_page()
        _profiles[page] = (locale, viewport)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def check_accessibility() -> Callable[[Page, str], None]:
    """``check_accessibility(page, "buyer-console")``: fails on axe's serious and critical
    violations, each with its elements and what to fix."""

    def check(page: Page, name: str) -> None:
        report = accessibility_report(page, name)
        if report:
            pytest.fail(report, pytrace=False)

    return check


@pytest.fixture
def screenshot(_profiles: dict[Page, tuple[str, str]]) -> Callable[[Page, str], Path]:
    """``screenshot(page, "live-room")`` -> ``artifacts/screenshots/live-room-en-phone.png``
    (the page's locale and viewport, as ``new_page`` made it)."""

    def take(page: Page, screen: str) -> Path:
        return take_screenshot(page, screenshot_path(screen, *_profiles[page]))

    return take


@pytest.fixture
def web_node_modules() -> Path:
    """web/node_modules (``npm ci --prefix web``), for the tests that run Node.js tools."""
    modules = REPO / "web" / "node_modules"
    if shutil.which("node") is None:
        unavailable("no node on PATH (apt-get install nodejs npm)")
    if not modules.is_dir():
        unavailable("no web/node_modules: run `npm ci --prefix web`")
    return modules


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test whose pages logged errors fails, even if all its assertions passed; one that
    failed anyway gets them as a note."""
    try:
        result = yield
    except BaseException as failed:
        errors = item.stash.get(PAGE_ERRORS, None)
        report = errors.report() if errors else ""
        if report:
            failed.add_note(report)
        raise
    errors = item.stash.get(PAGE_ERRORS, None)
    if errors is not None and (report := errors.report()):
        pytest.fail(report, pytrace=False)
    return result
