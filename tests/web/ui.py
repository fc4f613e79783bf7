"""Steps through the UI as its users take them (by labels and roles, as a person reads the page),
shared by the browser tests. English labels: the tests that switch language say so."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

# An i18n key shown instead of its words ("room.your_rank"): what an untranslated string looks like.
RAW_KEY = re.compile(
    r"\b(?:shell|roles|signin|auctions|phases|lot_phases|rules|create|console|lot|chart|room|"
    r"history|results|live|dialog|announce|reasons|registry|terms)\.[a-z_]+(?:\.[a-z_]+)*\b"
)


def sign_in(page: Page, base_url: str, role: str, org: str, name: str = "") -> None:
    """Development sign-in from the page's own form."""
    page.goto(f"{base_url}/#/signin")
    page.get_by_label("Role").select_option(role)
    page.get_by_label("Organisation id").fill(org)
    if name:
        page.get_by_label("Display name (optional)").fill(name)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Auctions", exact=True)).to_be_visible()


def create_auction(page: Page, title: str, *, ceiling: str = "1000", duration_min: str = "10",
                   visibility: str = "Anonymised board", soft: tuple[str, str, str] | None = None,
                   award: str = "The buyer awards") -> str:
    """Fills the create form and saves; returns the new auction's id (from the address)."""
    page.get_by_role("link", name="New auction").first.click()
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("What is bought").fill(f"{title}, lot 1")
    page.get_by_label("Ceiling (opening) price").fill(ceiling)
    page.get_by_label(visibility).check()
    page.get_by_label("Duration (minutes)").fill(duration_min)
    if soft is None:
        page.get_by_label("Soft close (anti-sniping)").uncheck()
    else:
        window, extension, most = soft
        page.get_by_label("Window before the end (minutes)").fill(window)
        page.get_by_label("Extension (minutes)").fill(extension)
        page.get_by_label("Most extensions per lot (empty: no limit)").fill(most)
    page.get_by_label(award).check()
    page.get_by_role("button", name="Create the auction (as a draft)").click()
    expect(page.get_by_test_id("auction-phase")).to_have_text("Draft")
    return page.url.rsplit("/", 1)[-1]


def invite(page: Page, supplier: str, name: str) -> str:
    """Invites a supplier from the console and returns its join link."""
    page.get_by_label("Supplier's organisation id").fill(supplier)
    page.get_by_label("Supplier's name").fill(name)
    page.get_by_role("button", name="Invite", exact=True).click()
    row = page.locator(f"tr[data-supplier='{supplier}']")
    row.get_by_role("button", name="Make link").click()
    link = row.get_by_test_id("join-link")
    expect(link).to_have_value(re.compile(r"#/room/.+\?token="))
    return link.input_value()


def lot_card(page: Page, lot_id: str = "L1"):
    return page.locator(f"article[data-lot='{lot_id}']")


def bid(page: Page, amount: str, lot_id: str = "L1") -> str:
    """Types a bid in a supplier's room, sends it, and returns the answer the page shows."""
    card = lot_card(page, lot_id)
    result = card.get_by_test_id("bid-result")
    before = result.inner_text() if result.count() else None
    card.locator("input[inputmode=decimal]").fill(amount)
    card.locator("form button[type=submit]").click()
    expect(result).to_be_visible()
    if before is not None:
        expect(result).not_to_have_text(before)
    return result.inner_text()


def visible_text(page: Page) -> str:
    """Everything a person (or a screen reader) could read on the page, hidden regions too."""
    return page.evaluate("document.documentElement.textContent + ' ' + "
                         "Array.from(document.querySelectorAll('input, textarea'))"
                         ".map(e => e.value).join(' ')")


def post(base_url: str, token: str, path: str, body: dict | None = None) -> dict[str, Any]:
    """A call of the HTTP API as the token's holder, for setting a scene; it must succeed."""
    answer = httpx.post(f"{base_url}{path}", json=body or {}, timeout=10,
                        headers={"authorization": f"Bearer {token}"})
    assert answer.status_code < 300, f"POST {path}: {answer.status_code} {answer.text}"
    return answer.json()


def open_auction(base_url: str, buyer: str, config: dict, suppliers: dict[str, str]) -> str:
    """Creates an auction, invites ``suppliers`` (id -> name) and starts it; returns its id."""
    auction = post(base_url, buyer, "/api/auctions", {"config": config})["view"]["auction_id"]
    for supplier, name in suppliers.items():
        post(base_url, buyer, f"/api/auctions/{auction}/invitations", {"supplier": supplier, "name": name})
    post(base_url, buyer, f"/api/auctions/{auction}/start")
    return auction


def small_auction(server: Any, buyer_org: str) -> tuple[str, str]:
    """An open one-lot auction with acme invited; its id and acme's token."""
    buyer = server.dev_token("buyer", buyer_org, buyer_org)
    acme = server.dev_token("supplier", "acme", "ACME Ltd")
    config = {"title": "Pipes", "currency": "EUR", "duration_ms": 3_600_000,
              "decrement": {"kind": "amount", "value": 100},
              "lots": [{"lot_id": "L1", "title": "Pipes", "ceiling": 1_000_000}]}
    auction = open_auction(server.base_url, buyer, config, {"acme": ""})
    return auction, acme
