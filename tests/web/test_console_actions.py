"""The buyer's actions from the console, each seen where it matters: pause and resume, extend,
a bid entered on a supplier's behalf, a void (confirmed, with a reason), and a cancellation."""

from __future__ import annotations

from playwright.sync_api import expect

from .ui import bid, lot_card, small_auction


def test_the_buyers_actions_reach_the_supplier(server, new_page):
    auction, acme = small_auction(server, "county")
    buyer_token = server.dev_token("buyer", "county", "county")
    room = new_page(who="supplier acme")
    room.goto(f"{server.base_url}/#/room/{auction}?token={acme}")
    assert bid(room, "9000").startswith("Accepted")

    console = new_page(who="buyer")
    console.goto(f"{server.base_url}/#/auctions/{auction}?token={buyer_token}")
    expect(console.locator("tr[data-supplier='acme'] [data-testid=presence]")).to_have_attribute(
        "data-state", "online")

    console.get_by_role("button", name="Pause").click()
    dialog = console.get_by_role("dialog")
    dialog.get_by_label("Reason (optional)").fill("A question from a supplier")
    dialog.get_by_role("button", name="Pause").click()
    expect(room.get_by_text("The auction is paused: bids wait until it resumes.")).to_be_visible()
    expect(room.get_by_test_id("announcer")).to_have_text("The auction is paused.")
    console.get_by_role("button", name="Resume").click()
    expect(room.get_by_test_id("auction-phase")).to_have_text("Open")

    ends = lot_card(room).get_by_role("timer")
    before = ends.inner_text()
    console.get_by_role("button", name="Extend").click()
    dialog.get_by_label("By how many minutes").fill("30")
    dialog.get_by_role("button", name="Extend").click()
    expect(ends).not_to_have_text(before)
    expect(room.get_by_test_id("announcer")).to_contain_text("Pipes extended to")

    lot_card(console).get_by_role("button", name="Bid on behalf").click()
    dialog.get_by_label("Your bid (EUR)").fill("8500")
    dialog.get_by_role("button", name="Place bid").click()
    expect(console.get_by_test_id("action-result")).to_have_text("The bid of €8,500.00 is accepted.")
    expect(lot_card(room).get_by_test_id("your-best")).to_have_text("€8,500.00")
    expect(lot_card(console).get_by_test_id("board")).to_contain_text("entered by the buyer")

    lot_card(console).get_by_role("button", name="Void").click()
    expect(dialog.get_by_role("heading")).to_have_text("Void this bid?")
    dialog.get_by_role("button", name="Void").click()  # a reason is required: nothing happens
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason (required)").fill("Entered by mistake")
    dialog.get_by_role("button", name="Void").click()
    expect(lot_card(room).get_by_test_id("your-best")).to_have_text("€9,000.00")  # its own again
    expect(room.get_by_test_id("announcer")).to_contain_text("one of your bids was voided")

    console.get_by_role("button", name="Cancel the auction").click()
    dialog.get_by_label("Reason (required)").fill("Budget withdrawn")
    dialog.get_by_role("button", name="Cancel the auction").click()
    expect(room.get_by_text("The auction was cancelled: Budget withdrawn")).to_be_visible()
    expect(console.get_by_test_id("auction-phase")).to_have_text("Cancelled")
