"""A whole reverse auction through the UI, in real Chromium against a real server: a buyer and
two suppliers, each in a browser context of their own (the issue's "done when")."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from .ui import bid, create_auction, invite, lot_card, sign_in, visible_text


def test_buyer_and_two_suppliers_run_an_auction_through_the_ui(server, new_page):
    buyer = new_page(who="buyer")
    sign_in(buyer, server.base_url, "buyer", "city-hall", "City Hall")
    # Any bid extends the lot (window = duration) once, by 6 s; the buyer awards.
    create_auction(buyer, "Road salt", ceiling="1000", duration_min="0.34",
                   soft=("0.34", "0.1", "1"))
    link_a = invite(buyer, "acme", "ACME Ltd")
    link_b = invite(buyer, "globex", "Globex Corp")

    alice = new_page(who="supplier acme")  # English, desktop
    alice.goto(link_a)
    bob = new_page(locale="zh-CN", viewport="phone", who="supplier globex")  # Chinese, phone
    bob.goto(link_b)
    expect(alice.get_by_text("Bidding has not started yet.")).to_be_visible()
    expect(bob.get_by_text("竞价尚未开始。")).to_be_visible()
    assert "?token=" not in alice.url  # the join link's token left the address bar

    buyer.get_by_role("button", name="Start now").click()
    expect(alice.get_by_test_id("auction-phase")).to_have_text("Open")
    expect(bob.get_by_test_id("auction-phase")).to_have_text("进行中")
    # The buyer sees both suppliers connected (the live room's presence).
    for supplier in ("acme", "globex"):
        expect(buyer.locator(f"tr[data-supplier='{supplier}'] [data-testid=presence]")
               ).to_have_attribute("data-state", "online")

    # A bid the rules refuse is explained before it is sent: above the ceiling.
    card = lot_card(alice)
    card.locator("input[inputmode=decimal]").fill("1200")
    expect(card.get_by_text("Above the ceiling: bid at most €1,000.00.")).to_be_visible()
    expect(card.locator("form button[type=submit]")).to_be_disabled()

    assert bid(alice, "990") == "Accepted: €990.00. Your rank: 1."
    expect(lot_card(alice).get_by_test_id("your-rank")).to_have_text("1")
    # The first bid fell in the soft-close window: the lot is extended, and everybody sees it.
    expect(lot_card(buyer).get_by_text("extended once")).to_be_visible()
    expect(lot_card(alice).get_by_text("extended once")).to_be_visible()
    # ...and screen readers hear it once, politely (the countdown itself is never announced).
    expect(buyer.get_by_test_id("announcer")).to_contain_text("Road salt, lot 1 extended to")
    expect(buyer.get_by_test_id("announcer")).to_have_attribute("aria-live", "polite")

    # A tie with another supplier's bid is refused, with the reason in words (Chinese).
    assert bid(bob, "990") == "被拒绝: 其他供应商已报出相同金额，不允许同价."
    # Bob's next bid from the keyboard alone: type, Enter.
    amount = lot_card(bob).locator("input[inputmode=decimal]")
    amount.fill("")
    amount.press_sequentially("980")
    amount.press("Enter")
    expect(lot_card(bob).get_by_test_id("bid-result")).to_contain_text("已接受：€980.00。")
    expect(lot_card(bob).get_by_test_id("your-rank")).to_have_text("1")
    expect(lot_card(alice).get_by_test_id("your-rank")).to_have_text("2")
    expect(alice.get_by_test_id("announcer")).to_have_text("Road salt, lot 1: your rank is now 2.")
    # The buyer's board has both, with identities; the suppliers' boards have aliases only.
    board = lot_card(buyer).get_by_test_id("board")
    expect(board.locator("tbody tr")).to_have_count(2)
    expect(board.locator("tbody tr").first).to_contain_text("Globex Corp")

    # The close, on the server's clock (after the extension), then the buyer's award.
    expect(lot_card(buyer).get_by_text("Closed", exact=True)).to_be_visible(timeout=40_000)
    lot_card(buyer).get_by_role("button", name="Award").click()
    dialog = buyer.get_by_role("dialog")
    expect(dialog.get_by_label("Winning bid")).to_contain_text("Globex Corp")
    dialog.get_by_role("button", name="Award").click()
    expect(lot_card(buyer).get_by_test_id("award")).to_contain_text("Awarded to Globex Corp at €980.00")
    expect(lot_card(bob).get_by_test_id("award")).to_have_text("您以 €980.00 中标此标段。")
    expect(lot_card(alice).get_by_test_id("award")).to_have_text(
        "This lot was awarded to another supplier.")

    # Nobody's page ever showed another supplier's identity (ids and names, anywhere in the DOM).
    for page, others in ((alice, ("globex", "Globex")), (bob, ("acme", "ACME"))):
        text = visible_text(page)
        for other in others:
            assert other.lower() not in text.lower(), f"{other!r} shown to {page.url}"
        assert "city-hall" not in text and "City Hall" not in text

    # Results: the award and the whole history, refused attempt included.
    buyer.get_by_role("link", name="Results").click()
    expect(buyer.get_by_test_id("awards")).to_contain_text("Globex Corp")
    history = buyer.get_by_test_id("history")
    expect(history.locator("tbody tr")).to_have_count(3)
    expect(history).to_contain_text(re.compile("Refused: Another supplier bid exactly this amount"))
    with buyer.expect_download() as download:
        buyer.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.endswith("-results.csv")
    assert "globex" in Path(download.value.path()).read_text()
    # The printable summary: print.css keeps the results and drops the controls.
    buyer.emulate_media(media="print")
    expect(buyer.get_by_role("button", name="Download CSV")).to_be_hidden()
    expect(buyer.get_by_text("Printed ")).to_be_visible()
    expect(buyer.get_by_test_id("awards")).to_be_visible()
