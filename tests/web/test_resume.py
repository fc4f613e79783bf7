"""A supplier's live room survives the server going away mid-auction (a crash: kill -9) and
comes back showing the right state, without a reload; a bid whose answer was lost is sent again
with the same id and decided once."""

from __future__ import annotations

import json
import re
import time

import httpx
from playwright.sync_api import expect

from bidserver.auth import mint_token

from .ui import bid, lot_card, open_auction, post, small_auction


def test_a_supplier_page_survives_a_server_restart_mid_auction(server, new_page, page_errors):
    # While the server is down the page's socket and fetches fail: Chromium logs those.
    page_errors.allow(r"WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|net::ERR")
    buyer = server.dev_token("buyer", "port-authority", "Port Authority")
    acme = server.dev_token("supplier", "acme", "ACME Ltd")
    globex = server.dev_token("supplier", "globex", "Globex Corp")
    config = {"title": "Pilot boats", "currency": "EUR", "duration_ms": 3_600_000,
              "decrement": {"kind": "amount", "value": 1000},
              "visibility": "rank_and_leading_price",
              "lots": [{"lot_id": "L1", "title": "Pilot boat hire", "ceiling": 5_000_000}]}
    auction = open_auction(server.base_url, buyer, config, {"acme": "ACME Ltd", "globex": "Globex"})

    page = new_page(who="supplier acme")
    page.goto(f"{server.base_url}/#/room/{auction}?token={acme}")
    assert bid(page, "49000").startswith("Accepted: €49,000.00.")
    state = page.get_by_test_id("link-state")
    expect(state).to_have_attribute("data-state", "open")

    server.restart(kill=True)  # kill -9, then the same data dir and port
    # Meanwhile (the page reconnecting, with back-off) another supplier takes the lead.
    post(server.base_url, globex, f"/api/auctions/{auction}/bids",
         {"bid_id": "g1", "lot_id": "L1", "amount": 4_800_000})

    expect(state).to_have_attribute("data-state", "open", timeout=30_000)
    card = lot_card(page)
    expect(card.get_by_test_id("your-rank")).to_have_text("2")  # what happened while away
    expect(card.get_by_test_id("your-best")).to_have_text("€49,000.00")
    expect(card.get_by_test_id("leading")).to_have_text("€48,000.00")
    assert bid(page, "47000").startswith("Accepted: €47,000.00. Your rank: 1.")
    expect(page.get_by_role("region", name="Your bids").locator("tbody tr")).to_have_count(2)


def test_no_bid_goes_out_while_the_connection_is_down(server, new_page, page_errors):
    page_errors.allow(r"WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|net::ERR")
    auction, acme = small_auction(server, "water-board")
    page = new_page(who="supplier acme")
    page.goto(f"{server.base_url}/#/room/{auction}?token={acme}")
    expect(page.get_by_test_id("link-state")).to_have_attribute("data-state", "open")
    server.stop()
    expect(page.get_by_test_id("link-state")).to_have_attribute("data-state", "reconnecting")
    card = lot_card(page)
    card.locator("input[inputmode=decimal]").fill("9000")
    # The button waits for the connection: nothing can be sent into the void.
    expect(card.locator("form button[type=submit]")).to_be_disabled()
    server.start()
    expect(page.get_by_test_id("link-state")).to_have_attribute("data-state", "open", timeout=30_000)
    card.locator("form button[type=submit]").click()
    expect(card.get_by_test_id("bid-result")).to_have_text("Accepted: €9,000.00. Your rank: 1.")


def test_a_bid_whose_answer_was_lost_is_resent_with_the_same_id(server, new_page):
    """The socket drops after the bid reached the server and before its answer reached the page:
    the page reconnects, sends the bid again under the same id, and the server answers it as the
    duplicate of the bid it accepted (one bid, not two)."""
    auction, acme = small_auction(server, "harbour")
    page = new_page(who="supplier acme")
    sent: list[dict] = []
    dropped = []

    def relay(ws) -> None:
        upstream = ws.connect_to_server()

        def from_page(message) -> None:
            data = json.loads(message)
            if data.get("type") == "bid":
                sent.append(data)
            upstream.send(message)

        def from_server(message) -> None:
            if json.loads(message).get("type") == "bid_result" and not dropped:
                dropped.append(message)
                ws.close()  # the answer is lost with the connection
                return
            ws.send(message)

        ws.on_message(from_page)
        upstream.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/auctions/"), relay)
    page.goto(f"{server.base_url}/#/room/{auction}?token={acme}")
    assert bid(page, "9000") == "Accepted: €9,000.00. Your rank: 1."
    assert len(sent) == 2 and sent[0]["bid_id"] == sent[1]["bid_id"], sent
    assert '"status":"accepted"' in dropped[0]
    bids = httpx.get(f"{server.base_url}/api/auctions/{auction}/bids",
                     headers={"authorization": f"Bearer {acme}"}).json()["bids"]
    assert [b["bid_id"] for b in bids] == [sent[0]["bid_id"]]



def test_an_expired_sign_in_says_so_and_offers_to_sign_in_again(server, new_page, page_errors):
    # The socket's handshake is refused (HTTP 401): Chromium logs each attempt.
    page_errors.allow(r"401|HTTP Authentication failed")
    auction, _ = small_auction(server, "harbour-board")
    key = (server.data_dir / "jwt.key").read_text().strip()
    an_hour_ago = int(time.time()) - 3600
    expired = mint_token(key, role="supplier", party="acme", name="ACME Ltd", ttl_s=60,
                         now=an_hour_ago)
    page = new_page(who="supplier acme, expired")
    page.goto(f"{server.base_url}/#/room/{auction}?token={expired}")
    state = page.get_by_test_id("link-state")
    expect(state).to_have_attribute("data-state", "closed")
    expect(state).to_contain_text("Your sign-in has expired")
    page.get_by_test_id("sign-in-again").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
