"""Bad input the API once let through: a clear refusal that changes nothing, never a 500."""

from __future__ import annotations

import csv
import io

import pytest

from .test_api import BUYER, CONFIG, auth, create


@pytest.mark.parametrize("quantity", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_a_quantity_that_is_no_finite_number_is_refused(client, quantity):
    lots = [{**CONFIG["lots"][0], "quantity": quantity}]
    r = client.post("/api/auctions", json={"config": {**CONFIG, "lots": lots}}, headers=BUYER)
    assert r.status_code == 422 and r.json()["error"] == "invalid_config", r.text
    assert "finite" in r.json()["detail"]
    assert client.get("/api/auctions", headers=BUYER).json()["auctions"] == []


@pytest.mark.parametrize(("currency", "status", "reason", "detail"), [
    ("QQQ", 422, "invalid_config", "ISO 4217"),
    ("DEM", 422, "invalid_config", "ISO 4217"),
    ("eur", 400, "bad_request", "$.config.currency"),  # not even the documented pattern
])
def test_a_currency_that_is_no_iso_4217_code_is_refused(client, currency, status, reason, detail):
    """Any three letters once passed, and the award's OCDS release then failed the schema."""
    r = client.post("/api/auctions", json={"config": {**CONFIG, "currency": currency}}, headers=BUYER)
    assert r.status_code == status and r.json()["reason"] == reason, r.text
    assert detail in r.json()["detail"]
    assert client.get("/api/auctions", headers=BUYER).json()["auctions"] == []
    draft = create(client)
    r = client.put(f"/api/auctions/{draft}/config", json={"config": {**CONFIG, "currency": currency}},
                   headers=BUYER)
    assert r.status_code == status and r.json()["reason"] == reason, r.text
    assert client.get(f"/api/auctions/{draft}", headers=BUYER).json()["view"]["currency"] == "EUR"


def test_a_refused_configuration_names_the_field_it_is_about(client):
    """Refusals of the engine's rules and of the body's shape alike carry ``field``, the path in
    the body, which the console's form shows the refusal beside."""
    lots = [{**CONFIG["lots"][0], "reserve": CONFIG["lots"][0]["ceiling"] + 1}]
    r = client.post("/api/auctions", json={"config": {**CONFIG, "lots": lots}}, headers=BUYER)
    assert (r.status_code, r.json()["reason"], r.json()["field"]) == (
        422, "invalid_config", "config.lots[0].reserve"), r.text
    lots = [{**CONFIG["lots"][0], "ceiling": 0}]
    r = client.post("/api/auctions", json={"config": {**CONFIG, "lots": lots}}, headers=BUYER)
    assert (r.status_code, r.json()["reason"], r.json()["field"]) == (
        400, "bad_request", "config.lots[0].ceiling"), r.text
    r = client.post("/api/auctions", content=b"[", headers=BUYER)
    assert r.status_code == 400 and "field" not in r.json()
    assert client.get("/api/auctions", headers=BUYER).json()["auctions"] == []


def test_results_keep_huge_amounts_exact_and_never_run_formulas(client):
    huge = 10**40 + 7  # 41 digits: the results once overflowed Decimal.quantize (a 500)
    lots = [{**CONFIG["lots"][0], "title": '=HYPERLINK("http://x")', "ceiling": huge}]
    auction_id = client.post(
        "/api/auctions", json={"config": {**CONFIG, "lots": lots}}, headers=BUYER
    ).json()["view"]["auction_id"]
    base = f"/api/auctions/{auction_id}"
    client.post(f"{base}/invitations", json={"supplier": "s1", "name": "@SUM(A1)"}, headers=BUYER)
    client.post(f"{base}/start", headers=BUYER)
    bid = {"bid_id": "b1", "lot_id": lots[0]["lot_id"], "amount": huge - 1}
    assert client.post(f"{base}/bids", json=bid, headers=auth("supplier", "s1")).status_code == 201
    r = client.get(f"{base}/results.csv", headers=BUYER)
    assert r.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(r.text)))
    assert row["amount"] == str(huge - 1)[:-2] + "." + str(huge - 1)[-2:]  # exact, 2 minor units
    assert row["lot_title"] == "'" + '=HYPERLINK("http://x")' and row["name"] == "'@SUM(A1)"


@pytest.mark.parametrize("bid_id", ["=HYPERLINK(1)", "+1", "-1", "@x", "a b", "ü", ""])
def test_ids_outside_the_safe_set_are_refused(client, bid_id):
    auction_id = create(client)
    base = f"/api/auctions/{auction_id}"
    client.post(f"{base}/invitations", json={"supplier": "s1"}, headers=BUYER)
    client.post(f"{base}/start", headers=BUYER)
    bid = {"bid_id": bid_id, "lot_id": "L1", "amount": 100}
    r = client.post(f"{base}/bids", json=bid, headers=auth("supplier", "s1"))
    assert r.status_code == 400 and r.json()["error"] == "bad_request", r.text
    r = client.post(f"{base}/invitations", json={"supplier": bid_id or "="}, headers=BUYER)
    assert r.status_code == 400
