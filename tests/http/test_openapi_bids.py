"""The OpenAPI document tells the truth about POST /api/auctions/{id}/bids: every real answer of
the route, for every status it gives, validates against the schema the document declares for that
status (refusals are the live room's BidResult, not Problem)."""

from __future__ import annotations

import jsonschema
import pytest
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.config import Settings

from .test_api import BUYER, KEY, auth, create

S1 = auth("supplier", "s1")
PATH = "/api/auctions/{auction_id}/bids"


def declared_schema(doc: dict, status: int, media_type: str) -> dict:
    """What the document says a response with this status holds (exact code, then range)."""
    responses = doc["paths"][PATH]["post"]["responses"]
    declared = responses.get(str(status)) or responses.get(f"{status // 100}XX") or responses["default"]
    schema = declared["content"][media_type]["schema"]
    return {**schema, "components": doc["components"]}  # so "#/components/..." resolves


def check(doc: dict, response) -> dict:
    media_type = response.headers["content-type"]
    body = response.json()
    schema = declared_schema(doc, response.status_code, media_type)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(body))
    assert not errors, f"{response.status_code} {body}: {[e.message for e in errors]}"
    return body


@pytest.fixture
def client(journal, tmp_path):
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://",
                        rate_limit_per_s=0.001, rate_limit_burst=12)
    with TestClient(build_app(settings, journal=journal)) as client:
        yield client


def test_every_answer_of_the_bid_route_matches_the_document(client, journal):
    doc = client.get("/openapi.json").json()
    auction_id = create(client)
    base = f"/api/auctions/{auction_id}"
    client.post(f"{base}/invitations", json={"supplier": "s1"}, headers=BUYER)

    def bid(bid_id, amount=49000, headers=S1, **extra):
        body = {"bid_id": bid_id, "lot_id": "L1", "amount": amount, **extra}
        return client.post(f"{base}/bids", json=body, headers=headers)

    seen: dict[int, str | None] = {}

    def expect(response, status: int, reason: str | None) -> dict:
        body = check(doc, response)
        assert response.status_code == status, body
        assert body["reason"] == reason, body
        seen[status] = reason
        return body

    expect(bid("early"), 409, "auction_not_open")
    client.post(f"{base}/start", headers=BUYER)
    assert expect(bid("b1"), 201, None)["duplicate"] is False
    assert expect(bid("b1"), 200, None)["duplicate"] is True
    expect(bid("b2", 48990), 409, "decrement_too_small")
    expect(bid("b3", 0), 422, "invalid_amount")
    expect(bid("b4", lot_id="L9"), 404, "unknown_lot")
    expect(bid("b5", 40000, on_behalf_of="s2"), 403, "forbidden")
    expect(client.post(f"{base}/bids", content=b"{nope", headers=S1), 400, "bad_request")
    expect(client.post(f"{base}/bids", json={"bid_id": "b6"}), 401, "missing_token")
    expect(client.post("/api/auctions/nope/bids", json={"bid_id": "b7", "lot_id": "L1", "amount": 1},
                       headers=S1), 404, "unknown_auction")
    journal.available = False
    expect(bid("b8", 40000), 503, "journal_unavailable")
    journal.available = True
    while (r := bid("flood", 30000)).status_code != 429:  # the burst is spent in a few bids
        assert r.status_code in (200, 201)
    expect(r, 429, "rate_limited")
    assert {200, 201, 400, 401, 403, 404, 409, 422, 429, 503} <= seen.keys()


def test_refusals_are_documented_as_bid_results(client):
    doc = client.get("/openapi.json").json()
    responses = doc["paths"][PATH]["post"]["responses"]
    bid_result = {"$ref": "#/components/schemas/BidResult"}
    for status in ("200", "201", "409", "422", "429", "503"):
        assert responses[status]["content"]["application/json"]["schema"] == bid_result, status
    reasons = doc["components"]["schemas"]["BidResult"]["properties"]["reason"]["anyOf"][0]["enum"]
    assert {"decrement_too_small", "rate_limited", "journal_unavailable"} <= set(reasons)
    problem_errors = doc["components"]["schemas"]["Problem"]["properties"]["reason"]["enum"]
    assert {"not_found", "method_not_allowed", "internal_error", "journal_unavailable"} <= set(problem_errors)
