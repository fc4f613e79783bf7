"""The awards stream as a contract-signing service reads it from a real server on real Redis: the
OCDS releases of an auction whose buyer awarded a lot below the reserve and then cancelled.

Each release is valid against the OCDS 1.1 release schema (with the bids extension), names every
organisation once, by its display name, has every bid its award relates to, and the last one says
the tender is cancelled.
"""

from __future__ import annotations

from tests.test_ocds import assert_consistent, release_errors

from .conftest import BUYER, ON_BOTH_BACKENDS, SUPPLIERS, auction_config, create_auction
from .harness import Api, award_releases, lot_view, token, wait_until

pytestmark = ON_BOTH_BACKENDS

BUYER_NAME = "Municipality of Example"
S1 = next(iter(SUPPLIERS))


async def test_the_releases_of_an_award_below_the_reserve_then_a_cancel(server, journal_url):
    refused = await Api(server, token("buyer", BUYER)).call(
        "POST", "/api/auctions", {"config": auction_config(currency="QQQ")})
    assert (refused.status_code, refused.json()["error"]) == (422, "invalid_config"), refused.text

    config = auction_config(
        buyer_name=BUYER_NAME,
        lots=[
            {"lot_id": "L1", "title": "Road salt", "ceiling": 100000, "reserve": 90000},
            {"lot_id": "L2", "title": "Grit", "ceiling": 50000},
        ],
        duration_ms=4000, lot_close="staggered", stagger_ms=600_000,
    )
    # The buyer's own organisation is invited too (an in-house bid): one id, two roles.
    buyer_api, auction_id = await create_auction(server, config, {**SUPPLIERS, BUYER: BUYER_NAME})
    base = f"/api/auctions/{auction_id}"
    assert (await buyer_api.call("POST", f"{base}/start")).status_code == 200
    for party, bid_id, amount in ((S1, "s1-1", 96000), (BUYER, "own-1", 95000)):
        r = await Api(server, token("supplier", party)).call(
            "POST", f"{base}/bids", {"bid_id": bid_id, "lot_id": "L1", "amount": amount})
        assert (r.status_code, r.json()["status"]) == (201, "accepted"), r.text

    async def l1_closed() -> bool:
        view = (await buyer_api.call("GET", base)).json()["view"]
        return lot_view(view, "L1")["phase"] == "closed"

    await wait_until(l1_closed, 30, "L1's close (the reserve is not met: no automatic award)")
    reason = "the reserve was set before the salt price rose; budget raised by the council"
    r = await buyer_api.call("POST", f"{base}/lots/L1/award", {"reason": reason})
    assert r.status_code == 200, r.text
    r = await buyer_api.call("POST", f"{base}/cancel", {"reason": "the grit lot is re-planned"})
    assert r.status_code == 200, r.text

    releases = await wait_until(
        lambda: award_releases(journal_url, auction_id), 10, "the releases")
    assert [fields["lot_id"] for fields, _ in releases] == ["L1", ""]
    for _, release in releases:
        assert release_errors(release) == []
        assert_consistent(release)
        assert release["buyer"] == {"id": BUYER, "name": BUYER_NAME}

    (_, award), (fields, cancellation) = releases
    assert award["tender"]["status"] == "active"  # L2 still ran when L1 was awarded
    [party] = [p for p in award["parties"] if p["id"] == BUYER]
    assert set(party["roles"]) == {"buyer", "procuringEntity", "supplier", "tenderer"}
    [awarded] = award["awards"]
    assert reason in awarded["description"]
    assert awarded["relatedBids"] == ["own-1"]
    assert [bid["id"] for bid in award["bids"]["details"]] == ["own-1"]

    assert fields["award_id"] == auction_id
    assert cancellation["tag"] == ["tenderCancellation"]
    assert cancellation["tender"]["status"] == "cancelled"
    assert {lot["id"]: lot["status"] for lot in cancellation["tender"]["lots"]} == {
        "L1": "complete", "L2": "cancelled"}
    assert "awards" not in cancellation
