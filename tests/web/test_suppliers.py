"""The supplier registry in the browser (issue 12): a supplier registers and hands in a
certificate, a reviewer qualifies it, a buyer finds it with the invitation picker, and it accepts
the auction's terms and bids in the live room; a blacklisted supplier is told why it cannot take
part; every registry page passes axe in English and Chinese. Real Chromium, a real server on a
real Redis, each user in a browser context of their own."""

from __future__ import annotations

import hashlib
import time
from datetime import date, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect
from stdnum.cn import uscc

from .test_screens import LANGS, check_screen
from .test_tender import token
from .ui import bid, lot_card, post

CERTIFICATE = b"%PDF-1.4 ISO 9001:2015 certificate of Huadong Steel Pipes, CQC 00124Q"
TERMS = "Payment at 60 days.\nDelivery within 30 days of the award."
DAY = 86_400_000
STEEL, PIPES = "44200000-2", "44160000-9"  # CPV: structural products; pipelines, piping, pipes


def credit_code(body: str) -> str:
    """A valid unified social credit code (18 characters, the last its check character)."""
    return body + uscc.calc_check_digit(body)


def auction_config(title: str, terms: str | None = None, category: str | None = None) -> dict:
    config = {"title": title, "currency": "CNY", "duration_ms": 3_600_000,
              "decrement": {"kind": "amount", "value": 100},
              "lots": [{"lot_id": "L1", "title": "Seamless pipes", "ceiling": 100_000}]}
    return config | ({"terms": terms} if terms else {}) | ({"category": category} if category else {})


def register(server, supplier: str, name: str, code: str, categories: tuple[str, ...] = (STEEL,)) -> str:
    """A supplier registered over the API; its token."""
    bearer = token(server, "supplier", supplier, name=name)
    post(server.base_url, bearer, "/api/suppliers", {"registration": {
        "legal_name": name, "country": "CN", "identifier": credit_code(code),
        "contacts": [{"name": "Li Na", "email": "li.na@example.cn"}], "categories": list(categories)}})
    return bearer


def upload(server, bearer: str, supplier: str, data: bytes, title: str, expires_at: int | None) -> str:
    digest = hashlib.sha256(data).hexdigest()
    answer = httpx.put(f"{server.base_url}/api/suppliers/{supplier}/files/{digest}", content=data,
                       headers={"authorization": f"Bearer {bearer}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    post(server.base_url, bearer, f"/api/suppliers/{supplier}/documents", {
        "sha256": digest, "kind": "certificate", "title": title, "issuer": "CQC",
        "valid_from": int(time.time() * 1000) - DAY, "expires_at": expires_at, "filename": f"{title}.pdf"})
    return digest


def open_as(new_page, server, path: str, bearer: str, who: str, **kwargs) -> Page:
    page = new_page(who=who, **kwargs)
    page.goto(f"{server.base_url}/#{path}?token={bearer}")
    return page


def test_register_qualify_invite_accept_terms_and_bid(server, new_page, page_errors):
    page_errors.allow(r"status of (404|422)")  # not registered yet; the identifier refused
    supplier = token(server, "supplier", "huadong", name="Huadong")
    page = open_as(new_page, server, "/supplier", supplier, "supplier huadong")
    expect(page.get_by_role("heading", name="Register as a supplier")).to_be_visible()
    page.get_by_label("Legal name").fill("Huadong Steel Pipes Co., Ltd.")
    page.get_by_label("Country").select_option("CN")
    expect(page.get_by_text("18-character unified social credit code")).to_be_visible()
    good = credit_code("91310000MA1FL0AB1")
    page.get_by_label("Company identifier").fill(good[:-1] + ("0" if good[-1] != "0" else "1"))
    page.get_by_label("Contact 1: name").fill("Li Na")
    page.get_by_label("Contact 1: email").fill("li.na@example.cn")
    page.get_by_label("Find a category").fill("44200000")
    page.get_by_role("button", name="Add 44200000-2").click()
    expect(page.get_by_test_id("chosen-categories")).to_contain_text("44200000-2")
    page.get_by_role("button", name="Register", exact=True).click()
    # The server checks the check character and says so by the field, which gets the focus.
    identifier = page.get_by_label("Company identifier")
    expect(identifier).to_be_focused()
    expect(identifier).to_have_attribute("aria-invalid", "true")
    identifier.fill(good)
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_test_id("status")).to_have_text("Pending review")

    # A certificate handed in: hashed in the page, uploaded, described; it expires in 20 days.
    soon = (date.today() + timedelta(days=20)).isoformat()
    form = page.get_by_test_id("upload-form")
    form.get_by_label("File").set_input_files(
        files=[{"name": "iso9001.pdf", "mimeType": "application/pdf", "buffer": CERTIFICATE}])
    form.get_by_label("Title").fill("ISO 9001")
    form.get_by_label("Issuer").fill("CQC")
    form.get_by_label("Expires").fill(soon)
    form.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("upload-result")).to_have_text("ISO 9001 is on your record.")
    expect(page.get_by_test_id("documents")).to_contain_text("ISO 9001")
    expect(page.get_by_test_id("expiring")).to_contain_text("ISO 9001")

    # The reviewer finds it in the queue, reads the certificate and qualifies it on it.
    reviewer = open_as(new_page, server, "/", token(server, "platform", "platform", "rita"), "reviewer")
    expect(reviewer.get_by_role("heading", name="Supplier review")).to_be_visible()
    reviewer.get_by_role("link", name="Huadong Steel Pipes Co., Ltd.").click()
    with reviewer.expect_download() as download:
        reviewer.get_by_role("button", name="Download iso9001.pdf").click()
    assert download.value.path().read_bytes() == CERTIFICATE
    decide = reviewer.get_by_test_id("decide-form")
    decide.get_by_label("ISO 9001").check()
    decide.get_by_role("button", name="Qualify").click()
    expect(reviewer.get_by_test_id("review-result")).to_have_text("Qualified in 44200000-2.")
    expect(reviewer.get_by_test_id("history")).to_contain_text("rita")
    expect(reviewer.get_by_test_id("history").locator("tbody tr").first).to_contain_text("resting on ISO 9001")

    # A buyer's auction of the category, with terms: the picker finds the supplier, eligible.
    buyer = token(server, "buyer", "pipeline-authority", "bea", "Pipeline Authority")
    auction = post(server.base_url, buyer, "/api/auctions",
                   {"config": auction_config("Pipes for the canal", TERMS, STEEL)})["view"]["auction_id"]
    console = open_as(new_page, server, f"/auctions/{auction}", buyer, "buyer")
    picker = console.get_by_test_id("invite-picker")
    expect(picker).to_contain_text(f"qualified in this event's category, {STEEL}")
    picker.get_by_label("Legal name starts with").fill("huadong")
    picker.get_by_role("button", name="Search").click()
    found = picker.locator("li[data-supplier='huadong']")
    expect(found.get_by_test_id("eligibility")).to_have_text("Eligible")
    found.get_by_role("button", name="Invite Huadong Steel Pipes Co., Ltd.").click()
    expect(console.locator("tr[data-supplier='huadong'] [data-testid=terms-accepted]")).to_have_text("Not accepted")
    console.get_by_role("button", name="Start now").click()
    expect(console.get_by_test_id("auction-phase")).to_have_text("Open")

    # The supplier reads the terms, accepts them, and only then is offered the bid form.
    page.goto(f"{server.base_url}/#/room/{auction}")
    terms = page.get_by_test_id("terms")
    expect(terms).to_contain_text("Payment at 60 days.")
    expect(lot_card(page).locator("form")).to_have_count(0)
    terms.get_by_role("button", name="I accept these terms").click()
    expect(page.get_by_test_id("announcer")).to_have_text("Terms accepted. You may bid.")
    expect(terms).to_have_count(0)
    assert bid(page, "990") == "Accepted: CN¥990.00. Your rank: 1."
    expect(console.locator("tr[data-supplier='huadong'] [data-testid=terms-accepted]")).to_contain_text(
        "Accepted (version 1)")


def test_a_blacklisted_supplier_is_told_why_it_cannot_take_part(server, new_page, page_errors):
    """Blacklisted during an auction it is invited to, the supplier's room says why and until
    when; a buyer's next invitation is refused, in words; an auction it was not invited to tells
    it nothing, and points to its status page, where it appeals."""
    page_errors.allow(r"status of (404|409)|WebSocket connection to .* failed")  # the refusals
    blackco = register(server, "blackco", "Black Pipe Trading", "91440300MA5EXAMP0")
    buyer = token(server, "buyer", "harbour-board", "hal", "Harbour Board")
    invited, other = (post(server.base_url, buyer, "/api/auctions", {"config": auction_config(title)})[
        "view"]["auction_id"] for title in ("Harbour pipes", "More harbour pipes"))
    post(server.base_url, buyer, f"/api/auctions/{invited}/invitations", {"supplier": "blackco"})
    post(server.base_url, buyer, f"/api/auctions/{invited}/start")
    room = open_as(new_page, server, f"/room/{invited}", blackco, "supplier blackco")
    expect(lot_card(room).locator("form")).to_have_count(1)
    expect(room.get_by_test_id("standing-notice")).to_have_count(0)

    # The reviewer blacklists it for 90 days, with the reason.
    reviewer = open_as(new_page, server, "/suppliers/blackco", token(server, "platform", "platform", "rita"),
                       "reviewer")
    form = reviewer.get_by_test_id("restrict-form")
    form.get_by_label("Blacklisting").check()
    form.get_by_label("Reason (the supplier is told)").fill("False declaration in tender T-17")
    ends = date.today() + timedelta(days=90)
    form.get_by_label("Ends on").fill(ends.isoformat())
    form.get_by_role("button", name="Blacklist").click()
    expect(reviewer.get_by_test_id("review-result")).to_have_text("The supplier is blacklisted.")
    expect(reviewer.get_by_test_id("restrictions")).to_contain_text("in force")

    # The room it is in learns at once; the page says why and until when.
    notice = room.get_by_test_id("standing-notice")
    expect(notice).to_contain_text("Your organisation is blacklisted")
    expect(notice).to_contain_text("Reason: False declaration in tender T-17")
    expect(notice).to_contain_text(f"until {ends.day} {ends:%b %Y}")
    expect(lot_card(room).locator("form")).to_have_count(0)  # no bid is taken from it now

    # The buyer's next invitation is refused by the server, in words.
    console = open_as(new_page, server, f"/auctions/{other}", buyer, "buyer")
    console.get_by_label("Supplier's organisation id").fill("blackco")
    console.get_by_role("button", name="Invite", exact=True).click()
    expect(console.get_by_test_id("action-result")).to_contain_text(
        "The supplier is not eligible for this event (blacklisted: False declaration in tender T-17")

    # Following a link to that auction tells the supplier nothing of it, and where to look.
    room.goto(f"{server.base_url}/#/room/{other}")
    expect(room.get_by_test_id("link-state")).to_have_attribute("data-state", "closed", timeout=20_000)
    assert "More harbour pipes" not in room.content()
    room.get_by_test_id("see-status").get_by_role("link").click()
    expect(room.get_by_test_id("status")).to_have_text("Blacklisted")
    expect(room.get_by_test_id("restriction-notice")).to_contain_text("False declaration in tender T-17")
    appeal = room.get_by_test_id("appeal-form")
    appeal.get_by_label("Why the decision should change").fill("The declaration was corrected in time.")
    appeal.get_by_role("button", name="Send the appeal").click()
    expect(room.get_by_test_id("appeals")).to_contain_text("Awaiting an answer")


@pytest.fixture(scope="module")
def registry_scene(server) -> dict[str, str]:
    """A buyer's auction of a category, with terms; a supplier qualified in it on a certificate
    that expires in 10 days, invited, then suspended, which appealed, with a second category
    awaiting review; another qualified in it but blacklisted, not invited."""
    now = int(time.time() * 1000)
    reviewer = token(server, "platform", "platform", "rita")
    buyer = token(server, "buyer", "scene-buyer", "bo", "Scene Buyer")
    auction = post(server.base_url, buyer, "/api/auctions",
                   {"config": auction_config("Scene pipes", TERMS, STEEL)})["view"]["auction_id"]
    bearer = register(server, "scene-co", "Scene Industrial Supplies", "91110000MA01XCEN0", (STEEL, PIPES))
    ccc = upload(server, bearer, "scene-co", b"scene certificate", "CCC", now + 10 * DAY)
    post(server.base_url, reviewer, f"/api/suppliers/scene-co/categories/{STEEL}/qualification",
         {"certificates": [ccc]})
    post(server.base_url, buyer, f"/api/auctions/{auction}/invitations", {"supplier": "scene-co"})
    post(server.base_url, reviewer, "/api/suppliers/scene-co/restrictions",
         {"kind": "suspended", "reason": "Complaint under examination", "end_at": now + 30 * DAY})
    post(server.base_url, bearer, "/api/suppliers/scene-co/appeals",
         {"appeal_id": "a1", "about": "r1", "text": "The complaint is unfounded."})
    register(server, "scene-two", "Scene Two Metals", "91110000MA01XTWX0")
    post(server.base_url, reviewer, f"/api/suppliers/scene-two/categories/{STEEL}/qualification", {})
    post(server.base_url, reviewer, "/api/suppliers/scene-two/restrictions",
         {"kind": "blacklisted", "reason": "Bid rigging"})
    return {"supplier": bearer, "reviewer": reviewer, "buyer": buyer, "auction": auction,
            "newcomer": token(server, "supplier", "newcomer")}


@pytest.mark.parametrize("lang", list(LANGS))
def test_the_registry_pages_in_both_languages(server, registry_scene, new_page, page_errors,
                                              check_accessibility, screenshot, lang):
    page_errors.allow(r"status of 404")  # the newcomer is not registered yet
    zh = lang == "zh-CN"
    s = registry_scene
    screens = (
        ("supplier-register", "/supplier", s["newcomer"], "registration-form"),
        ("supplier-status", "/supplier", s["supplier"], "documents"),
        ("reviewer-queue", "/suppliers", s["reviewer"], "supplier-list"),
        ("reviewer-supplier", "/suppliers/scene-co", s["reviewer"], "history"),
        ("room-terms", f"/room/{s['auction']}", s["supplier"], "standing-notice"),
    )
    page = new_page(locale=lang, who="registry pages")
    for name, path, bearer, ready in screens:
        page.goto(f"{server.base_url}/#{path}?token={bearer}")
        expect(page.get_by_test_id(ready)).to_be_visible()
        if name == "supplier-register":
            page.get_by_label("查找品目" if zh else "Find a category").fill("pipes")
            expect(page.get_by_test_id("cpv-results")).to_be_visible()
        check_screen(page, name, check_accessibility, screenshot, lang)
    page.goto(f"{server.base_url}/#/auctions/{s['auction']}?token={s['buyer']}")
    expect(page.get_by_test_id("restricted")).to_be_visible()  # the buyer sees scene-co suspended
    page.get_by_test_id("invite-picker").get_by_role("button", name="搜索" if zh else "Search").click()
    blacklisted = page.get_by_test_id("picker-results").locator("li[data-supplier='scene-two']")
    expect(blacklisted.get_by_test_id("eligibility")).to_contain_text("Bid rigging")
    expect(blacklisted.get_by_role("button")).to_be_disabled()
    check_screen(page, "buyer-picker", check_accessibility, screenshot, lang)
