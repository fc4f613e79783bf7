"""A sealed tender in the browser (issue 11's portal): a supplier seals and submits its bid in the
page, two officers present their key shares, an evaluator scores, the buyer qualifies and
decides the award; every page shows what its role may see. The supplier's network log shows that
no price left its browser in clear before the opening: only the sealed bytes did."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import msgspec

import pytest
from playwright.sync_api import Page, expect

from bidserver.auth import mint_token
from bidserver.sealing import FIRST as SUITE
from bidserver.sealing.bid import LotPrice, bid_content, seal_bid
from bidserver.sealing.documents import open_document
from bidserver.sealing.receipts import SignedReceipt, verify_receipt
from bidserver.sealing.shamir import share_to_text, split

from .test_screens import LANGS, check_screen
from .browser import wait_until
from .ui import post

DOCS = "sha256:" + "cd" * 32
DAY = 86_400_000
ACME_PRICE = "12345.67"
PROPOSAL = "Method statement: grit from our own quarry, 40 km away.".encode()  # what the supplier types: never on the wire before the opening


def token(server, role: str, party: str, user: str | None = None, name: str = "") -> str:
    """A token signed with the server's generated key, for users the dev sign-in cannot name
    (an officer or an evaluator is a user of the buyer's organisation: its ``sub``)."""
    key = (server.data_dir / "jwt.key").read_text().strip()
    return mint_token(key, role=role, party=party, user=user, name=name)


def declared(server, tender: str, org: str, users) -> None:
    """Each officer and evaluator the tender names declares no conflict of interest (through the
    API: ``POST /api/tenders/{id}/declarations``), which they must before they act on the bids."""
    for user in users:
        post(server.base_url, token(server, "buyer", org, user), f"/api/tenders/{tender}/declarations",
             {"conflict": False, "statement": "No interest in any supplier."})


def open_page(new_page, server, tender: str, bearer: str, who: str) -> Page:
    page = new_page(who=who)
    page.goto(f"{server.base_url}/#/tenders/{tender}?token={bearer}")
    expect(page.get_by_test_id("tender-phase")).to_be_visible()
    return page


def qualify_all_and_decide(clerk: Page, bidders: tuple[str, ...]) -> None:
    """The buyer's page: every bidder's opened bid valid, then the award decided (confirmed)."""
    table = clerk.get_by_test_id("qualification")
    for bidder in bidders:
        row = table.get_by_role("row", name=bidder)
        row.get_by_role("button", name="Valid").click()
        expect(row.locator("td").first).to_have_text("Valid")
    clerk.get_by_role("button", name="Decide the award").click()
    clerk.get_by_role("dialog").get_by_role("button", name="Decide the award").click()


def test_a_tender_sealed_opened_scored_and_awarded_in_the_browser(server, new_page, page_errors):
    private, public = SUITE.keypair()
    shares = [share_to_text(s) for s in split(private, 2, 3)]
    buyer = token(server, "buyer", "city-hall", "clerk", "City Hall")
    now = int(time.time() * 1000)
    deadline = now + 10_000  # the supplier's page seals and submits well before
    config = {
        "title": "Winter grit", "currency": "EUR", "documents_hash": DOCS,
        "lots": [{"lot_id": "L1", "title": "Grit", "quantity": "800", "unit": "t"}],
        "public_key": base64.b64encode(public).decode(),
        "officers": ["off-1", "off-2", "off-3"], "k": 2, "evaluators": ["eval-1"],
        "award": {"kind": "meat", "criteria": [{"name": "price", "weight": 70},
                                               {"name": "quality", "weight": 30}]},
        "schedule": {"enquiry_end_at": now + 6_000, "submission_deadline_at": deadline,
                     "opening_at": deadline},
        "standstill_ms": 600_000,
    }
    tender = post(server.base_url, buyer, "/api/tenders", {"config": config})["view"]["tender_id"]
    declared(server, tender, "city-hall", (*config["officers"], *config["evaluators"]))
    for supplier, name in (("acme", "ACME Ltd"), ("globex", "Globex Corp")):
        post(server.base_url, buyer, f"/api/tenders/{tender}/invitations",
             {"supplier": supplier, "name": name})
    post(server.base_url, buyer, f"/api/tenders/{tender}/publish")

    # Globex seals with the terminal's code; ACME in its browser.
    blob = seal_bid(SUITE, public, bid_content(tender, "globex", "EUR",
                                               (LotPrice(lot_id="L1", amount=1_300_000),)))
    post(server.base_url, token(server, "supplier", "globex"), f"/api/tenders/{tender}/bids",
         {"bid_id": "g-1", "sealed": base64.b64encode(blob).decode(),
          "commitment": SUITE.commitment(blob)})

    acme = open_page(new_page, server, tender, token(server, "supplier", "acme", name="ACME Ltd"),
                     "supplier acme")
    sent: list[str] = []
    acme.on("request", lambda r: sent.append(f"{r.url} {r.post_data or ''}"))
    acme.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    expect(acme.get_by_test_id("no-bid")).to_be_visible()
    acme.get_by_label("Price for Grit (EUR)").fill(ACME_PRICE)
    acme.get_by_label("Documents of your bid (optional)").set_input_files(
        files=[{"name": "method-statement.txt", "mimeType": "text/plain", "buffer": PROPOSAL}])
    acme.get_by_role("button", name="Seal and submit").click()
    expect(acme.get_by_test_id("bid-result")).to_contain_text("Sealed bid received (sha256:")
    expect(acme.get_by_test_id("your-bid")).to_be_visible()
    with acme.expect_download() as download:  # the server's signed receipt, checked offline
        acme.get_by_test_id("receipt").click()
    signed = msgspec.json.decode(Path(download.value.path()).read_bytes(), type=SignedReceipt)
    published = httpx.get(f"{server.base_url}/api/keys/signing").json()
    assert verify_receipt(base64.b64decode(published["public_key"]), signed)
    assert (signed.receipt.kind, signed.receipt.supplier) == ("submitted", "acme")
    assert any("/bids " in line and '"sealed"' in line for line in sent), sent
    assert any("/files/" in line for line in sent), sent  # the document, sealed, uploaded
    leaked = [line for line in sent for clear in (ACME_PRICE, "1234567", "grit from our own quarry")
              if clear in line]
    assert not leaked, f"the price left the browser in clear: {leaked}"
    # Before the deadline nobody's page tells how many bids there are.
    expect(acme.get_by_test_id("received")).to_have_count(0)

    # The deadline passes on the server's clock; two of the three officers open.
    expect(acme.get_by_test_id("tender-phase")).to_have_text("Opening", timeout=30_000)
    for officer, share in (("off-1", shares[0]), ("off-3", shares[2])):
        page = open_page(new_page, server, tender, token(server, "buyer", "city-hall", officer),
                         f"officer {officer}")
        page.get_by_label("Your key share").fill(share)
        page.get_by_role("button", name="Present my share").click()
        expect(page.get_by_test_id("desk-result")).to_have_text("Your share was presented.")
        if officer == "off-1":  # the server holds it in memory only: the form stays, for a restart
            page_errors.allow(r"status of 409")  # Chromium logs the refusal of the same share again
            expect(page.get_by_test_id("share-again")).to_be_visible()
            page.get_by_label("Your key share").fill(share)
            page.get_by_role("button", name="Present my share").click()
            expect(page.get_by_test_id("desk-result")).to_contain_text("in already")
    record = acme.get_by_test_id("opening-record")
    expect(record).to_contain_text("ACME Ltd")
    expect(record).to_contain_text("€12,345.67")
    expect(record).to_contain_text("€13,000.00")
    expect(acme.get_by_test_id("tender-phase")).to_have_text("Evaluation")
    # The buyer fetches ACME's document, sealed, and opens it with the key the opening published.
    view = httpx.get(f"{server.base_url}/api/auctions/{tender}",
                     headers={"authorization": f"Bearer {buyer}"}).json()["view"]
    line = next(x for x in view["opening"]["record"] if x["supplier"] == "acme")
    (document,) = line["documents"]
    assert document["name"] == "method-statement.txt"
    stored = httpx.get(f"{server.base_url}/api/tenders/{tender}/files/{document['digest'][7:]}",
                       headers={"authorization": f"Bearer {buyer}"})
    assert stored.status_code == 200, stored.text
    key = base64.b64decode(view["opening"]["private_key"])
    assert open_document(SUITE, key, tender, stored.content) == PROPOSAL

    evaluator = open_page(new_page, server, tender,
                          token(server, "buyer", "city-hall", "eval-1"), "evaluator")
    for bidder, score in (("ACME Ltd", "60"), ("Globex Corp", "90")):
        group = evaluator.get_by_role("group", name=bidder)
        group.get_by_label("quality (30)").fill(score)
        group.get_by_role("button", name="Save the score").click()
        expect(evaluator.get_by_test_id("desk-result")).to_have_text("Done.")

    clerk = open_page(new_page, server, tender, buyer, "buyer")
    qualify_all_and_decide(clerk, ("ACME Ltd", "Globex Corp"))
    expect(clerk.get_by_test_id("tender-phase")).to_have_text("Standstill")
    # ACME: 70 price points (the cheapest) + 30 x 60% = 88; Globex: 70 x 12,345.67 / 13,000
    # = 66.48 + 30 x 90% = 93.48: the better price-quality ratio wins.
    expect(acme.get_by_test_id("standstill")).to_contain_text("Standstill until")
    expect(acme.get_by_role("region", name="Result")).to_contain_text("L1: Globex Corp at €13,000.00")
    ranking = clerk.get_by_test_id("ranking")  # explained per criterion
    expect(ranking.locator("thead")).to_contain_text("quality (30)")
    expect(ranking.locator("tbody tr").nth(0)).to_contain_text("Globex Corp")
    expect(ranking.locator("tbody tr").nth(1)).to_contain_text("88.00")  # ACME: 70 + 18


@pytest.fixture(scope="module")
def open_tender(server) -> dict[str, str]:
    """A published tender, an hour from its deadline: ACME has bid and asked a question that the
    buyer answered; another question waits for its answer."""
    _, public = SUITE.keypair()
    buyer = token(server, "buyer", "city-hall", "clerk", "City Hall")
    acme = token(server, "supplier", "acme", name="ACME Ltd")
    now = int(time.time() * 1000)
    config = {
        "title": "Bridge repairs 2027", "currency": "EUR", "documents_hash": DOCS,
        "buyer_name": "City Hall", "profile": "eu",
        "lots": [{"lot_id": "L1", "title": "Deck", "estimated_value": 90_000_000},
                 {"lot_id": "L2", "title": "Railings", "quantity": "420", "unit": "m"}],
        "public_key": base64.b64encode(public).decode(),
        "officers": ["off-1", "off-2", "off-3"], "k": 2,
        "schedule": {"enquiry_end_at": now + 30 * DAY, "submission_deadline_at": now + 36 * DAY,
                     "opening_at": now + 36 * DAY},
    }
    tender = post(server.base_url, buyer, "/api/tenders", {"config": config})["view"]["tender_id"]
    base = f"/api/tenders/{tender}"
    post(server.base_url, buyer, f"{base}/invitations", {"supplier": "acme", "name": "ACME Ltd"})
    post(server.base_url, buyer, f"{base}/publish")
    blob = seal_bid(SUITE, public, bid_content(tender, "acme", "EUR",
                                               (LotPrice(lot_id="L1", amount=88_000_000),)))
    post(server.base_url, acme, f"{base}/bids", {"bid_id": "a-1", "sealed": base64.b64encode(
        blob).decode(), "commitment": SUITE.commitment(blob)})
    for qid, text in (("q1", "May the deck be delivered in two phases?"), ("q2", "Which steel grade?")):
        post(server.base_url, acme, f"{base}/questions", {"question_id": qid, "text": text})
    post(server.base_url, buyer, f"{base}/questions/q1/answer",
         {"supplier": "acme", "answer": "Yes, if the second phase ends by June."})
    return {"id": tender, "buyer": buyer, "acme": acme}


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", list(LANGS))
def test_the_tender_pages_in_both_languages(server, open_tender, new_page, check_accessibility,
                                            screenshot, lang, viewport):
    for who, bearer, ready in (("tender-supplier", open_tender["acme"], "your-bid"),
                               ("tender-buyer", open_tender["buyer"], "questions")):
        page = new_page(locale=lang, viewport=viewport, who=who)
        page.goto(f"{server.base_url}/#/tenders/{open_tender['id']}?token={bearer}")
        expect(page.get_by_test_id(ready)).to_be_visible()
        expect(page.get_by_test_id("answers")).to_contain_text("second phase")
        check_screen(page, who, check_accessibility, screenshot, lang)


def test_an_rfq_quoted_in_the_browser_and_compared_by_the_buyer(server, new_page,
                                                                check_accessibility, screenshot):
    """A request for quotations: ACME quotes prices, delivery, validity and certificates in its
    page; after the deadline one of the buyer's two key holders opens; the buyer's page compares
    the quotes side by side with the cheapest, fastest and best certified marked."""
    private, public = SUITE.keypair()
    buyer = token(server, "buyer", "school-board", "clerk", "School Board")
    now = int(time.time() * 1000)
    deadline = now + 8_000
    config = {
        "procedure": "rfq", "title": "Office paper", "currency": "EUR", "documents_hash": DOCS,
        "lots": [{"lot_id": "P1", "title": "A4 paper", "quantity": "200", "unit": "ream"},
                 {"lot_id": "P2", "title": "Toner", "quantity": "4", "unit": "piece"}],
        "public_key": base64.b64encode(public).decode(), "officers": ["clerk", "head"], "k": 1,
        "schedule": {"submission_deadline_at": deadline, "opening_at": deadline},
        "standstill_ms": 0, "requested_certificates": ["ISO 9001", "ISO 14001"],
    }
    rfq = post(server.base_url, buyer, "/api/tenders", {"config": config})["view"]["tender_id"]
    declared(server, rfq, "school-board", config["officers"])
    for supplier, name in (("acme", "ACME Ltd"), ("globex", "Globex Corp")):
        post(server.base_url, buyer, f"/api/tenders/{rfq}/invitations",
             {"supplier": supplier, "name": name})
    post(server.base_url, buyer, f"/api/tenders/{rfq}/publish")
    blob = seal_bid(SUITE, public, bid_content(
        rfq, "globex", "EUR", (LotPrice(lot_id="P1", amount=90_000), LotPrice(lot_id="P2", amount=40_000)),
        delivery_days=2, validity_days=30, certificates=("ISO 9001",)))
    post(server.base_url, token(server, "supplier", "globex"), f"/api/tenders/{rfq}/bids",
         {"bid_id": "g-1", "sealed": base64.b64encode(blob).decode(),
          "commitment": SUITE.commitment(blob)})

    acme = open_page(new_page, server, rfq, token(server, "supplier", "acme"), "supplier acme")
    acme.get_by_label("Price for A4 paper (EUR)").fill("850")
    acme.get_by_label("Price for Toner (EUR)").fill("390")
    acme.get_by_role("button", name="Seal and submit").click()
    expect(acme.get_by_test_id("bid-result")).to_have_text(
        "Give the delivery time and how long the quote stays valid, in whole days.")
    acme.get_by_label("Delivery time (days from the order)").fill("5")
    acme.get_by_label("Quote valid for (days after the deadline)").fill("60")
    acme.get_by_label("Your certificates").fill("ISO 9001, ISO 14001")
    acme.get_by_role("button", name="Seal and submit").click()
    expect(acme.get_by_test_id("bid-result")).to_contain_text("Sealed bid received")

    clerk = open_page(new_page, server, rfq, buyer, "buyer")
    expect(clerk.get_by_test_id("tender-phase")).to_have_text("Opening", timeout=30_000)
    post(server.base_url, buyer, f"/api/tenders/{rfq}/shares",
         {"share": share_to_text(split(private, 1, 2)[1])})
    table = clerk.get_by_test_id("comparison")
    # The columns in the opening record's order: Globex (first in), then ACME.
    expect(table.locator("thead th").nth(1)).to_contain_text("Globex Corp")
    row = lambda name: table.get_by_role("row", name=name).get_by_role("cell")  # noqa: E731
    expect(row("Total").nth(0)).to_have_text("€1,300.00")
    expect(row("Total").nth(1)).to_have_text("€1,240.00 cheapest")  # 850 + 390
    expect(row("Delivery").nth(0)).to_have_text("2 days fastest")
    expect(row("Delivery").nth(1)).to_have_text("5 days")
    expect(row("Certificates").nth(1)).to_have_text("ISO 9001, ISO 14001 best certified")
    expect(clerk.locator("section[aria-labelledby=comparison-title] > p").first).to_have_text(
        "Cheapest: ACME Ltd · fastest: Globex Corp · best certified: ACME Ltd")
    check_screen(clerk, "rfq-comparison", check_accessibility, screenshot, "en")

    # Both quotes valid, then the award: the cheapest complete quote, final at once (no standstill).
    qualify_all_and_decide(clerk, ("ACME Ltd", "Globex Corp"))
    expect(clerk.get_by_test_id("tender-phase")).to_have_text("Awarded", timeout=20_000)
    expect(clerk.get_by_test_id("awards")).to_contain_text("Lot P1: awarded to ACME Ltd at €850.00")
    # ACME's own page: the award, and nothing of Globex's quote (an RFQ keeps quotes apart).
    expect(acme.get_by_test_id("tender-phase")).to_have_text("Awarded")
    expect(acme.get_by_test_id("awards")).to_contain_text("ACME Ltd")
    assert "900.00" not in acme.locator("main").inner_text()  # Globex's A4 price


def test_a_tender_continued_as_a_live_auction_from_the_buyers_page(server, new_page):
    """EU Art. 35: after the opening and the qualification of a lowest-price tender, the buyer
    continues it as a live reverse auction; the qualified bidders' sealed prices stand as their
    opening bids, and each page leads to the auction."""
    private, public = SUITE.keypair()
    buyer = token(server, "buyer", "port-authority", "clerk", "Port Authority")
    now = int(time.time() * 1000)
    deadline = now + 3_000
    config = {
        "title": "Tug hire", "currency": "EUR", "documents_hash": DOCS,
        "lots": [{"lot_id": "L1", "title": "Tug hire"}],
        "public_key": base64.b64encode(public).decode(), "officers": ["clerk"], "k": 1,
        "schedule": {"enquiry_end_at": deadline - 1_000, "submission_deadline_at": deadline,
                     "opening_at": deadline},
    }
    tender = post(server.base_url, buyer, "/api/tenders", {"config": config})["view"]["tender_id"]
    declared(server, tender, "port-authority", config["officers"])
    base = f"/api/tenders/{tender}"
    for supplier, name in (("acme", "ACME Ltd"), ("globex", "Globex Corp")):
        post(server.base_url, buyer, f"{base}/invitations", {"supplier": supplier, "name": name})
    post(server.base_url, buyer, f"{base}/publish")
    for supplier, price in (("acme", 500_000), ("globex", 480_000)):
        blob = seal_bid(SUITE, public, bid_content(tender, supplier, "EUR",
                                                   (LotPrice(lot_id="L1", amount=price),)))
        post(server.base_url, token(server, "supplier", supplier), f"{base}/bids",
             {"bid_id": f"{supplier}-1", "sealed": base64.b64encode(blob).decode(),
              "commitment": SUITE.commitment(blob)})
    phase = lambda: httpx.get(f"{server.base_url}/api/auctions/{tender}",  # noqa: E731
                              headers={"authorization": f"Bearer {buyer}"}).json()["view"]["phase"]
    wait_until(lambda: phase() == "opening", 30, "the deadline and the opening time")
    post(server.base_url, buyer, f"{base}/shares", {"share": share_to_text(split(private, 1, 1)[0])})
    for supplier in ("acme", "globex"):
        post(server.base_url, buyer, f"{base}/qualifications", {"supplier": supplier, "status": "valid"})

    clerk = open_page(new_page, server, tender, buyer, "buyer")
    clerk.get_by_role("button", name="Continue as a live auction").click()
    dialog = clerk.get_by_role("dialog")
    dialog.get_by_label("Duration (minutes)").fill("20")
    dialog.get_by_role("button", name="Continue as a live auction").click()
    expect(clerk.get_by_test_id("tender-phase")).to_have_text("Follow-on auction")
    clerk.get_by_test_id("follow-on").get_by_role("link").click()
    board = clerk.locator("article[data-lot='L1']").get_by_test_id("board")
    expect(board.locator("tbody tr")).to_have_count(2)  # the sealed prices, as opening bids
    expect(board).to_contain_text("€4,800.00")

    acme = open_page(new_page, server, tender, token(server, "supplier", "acme"), "supplier acme")
    acme.get_by_test_id("follow-on").get_by_role("link").click()
    expect(acme.get_by_test_id("your-rank")).to_have_text("2")

