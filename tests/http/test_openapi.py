"""The OpenAPI document is valid OpenAPI 3.1 and says what the routes do: every route and method
once, unique operationIds, the real success statuses with their schemas, the errors each route
gives, units in the descriptions and the bounds decoding enforces."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.config import Settings
from bidserver.http.operations import OPERATIONS_ROUTES
from bidserver.http.routes import ROUTES
from bidserver.http.session import DEV_ROUTES, SESSION_ROUTES
from bidserver.store.journal import MemoryJournal

from .test_api import BUYER, CONFIG, create


def _doc(client) -> dict:
    return client.get("/openapi.json").json()


def test_the_document_is_valid_openapi(client):
    validate(_doc(client))


@pytest.mark.parametrize("dev_sign_in", [False, True])
def test_every_route_once_with_a_unique_operation_id(client, tmp_path, dev_sign_in):
    if dev_sign_in:  # the server's generated key: development sign-in is on
        settings = Settings(data_dir=tmp_path / "dev", allowed_hosts=("testserver",),
                            redis_url="memory://")
        client = TestClient(build_app(settings, journal=MemoryJournal()))
    doc = _doc(client)
    validate(doc)
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    routed = {
        (route.path, method.lower())
        for route in client.app.routes if isinstance(route, Route)
        for method in route.methods - {"HEAD"}
    }
    served = [id(route) for route in client.app.routes]
    assert all(id(route) in served for route in [*ROUTES, *OPERATIONS_ROUTES, *SESSION_ROUTES])
    assert (id(DEV_ROUTES[0]) in served) is dev_sign_in
    # the probes are in; /healthz (/readyz's old name), /metrics (Prometheus text), the document
    # itself and the console's page are not
    assert documented == routed - {
        ("/healthz", "get"), ("/metrics", "get"), ("/openapi.json", "get"), ("/", "get")
    }
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), ids


def test_signing_in_is_documented(tmp_path):
    settings = Settings(data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://")
    with TestClient(build_app(settings, journal=MemoryJournal())) as client:
        doc = _doc(client)
    session = doc["paths"]["/api/session"]["get"]
    assert "security" not in session
    assert session["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Session"}
    mint = doc["paths"]["/api/dev/tokens"]["post"]
    assert "security" not in mint and mint["requestBody"]["required"]
    assert {"200", "400", "413", "429", "500"} <= mint["responses"].keys()
    body = doc["components"]["schemas"]["DevTokenBody"]
    assert sorted(body["properties"]["role"]["enum"]) == ["buyer", "observer", "platform", "supplier"]
    assert set(body["required"]) == {"role", "org"}
    assert "12 hours" in mint["description"]


def test_success_statuses_and_schemas_are_the_real_ones(client):
    doc = _doc(client)
    create_op = doc["paths"]["/api/auctions"]["post"]["responses"]
    assert "200" not in create_op and "Location" in create_op["201"]["headers"]
    assert client.post("/api/auctions", json={"config": CONFIG}, headers=BUYER).status_code == 201
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ok = [status for status in op["responses"] if status.startswith("2")]
            assert ok, (method, path)
            for status in ok:
                assert op["responses"][status]["content"], (method, path, status)
            errors = {s for s in op["responses"] if s[0] in "45"}
            assert "500" in errors and not {s for s in errors if "X" in s}, (method, path)
    start = doc["paths"]["/api/auctions/{auction_id}/start"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422", "503"} <= start.keys()
    assert start["404"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "401" not in doc["paths"]["/api/time"]["get"]["responses"]


def test_views_are_described_by_their_types(client):
    doc = _doc(client)
    answer = doc["paths"]["/api/auctions/{auction_id}"]["get"]["responses"]["200"]
    refs = [each["$ref"].rsplit("/", 1)[1]
            for each in answer["content"]["application/json"]["schema"]["anyOf"]]
    views = {doc["components"]["schemas"][ref]["properties"]["view"]["$ref"] for ref in refs}
    assert views == {"#/components/schemas/AuctionView", "#/components/schemas/TenderView"}
    publish = doc["paths"]["/api/tenders/{auction_id}/publish"]["post"]["responses"]["200"]
    ref = publish["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    tender_view = doc["components"]["schemas"][ref]["properties"]["view"]
    assert tender_view["$ref"] == "#/components/schemas/TenderView"
    listed = doc["components"]["schemas"]["ListedAuction"]
    assert "suppliers" not in listed["required"]  # the buyer's listing only


def test_fields_say_their_units_and_bounds(client):
    schemas = _doc(client)["components"]["schemas"]
    value = schemas["Decrement"]["properties"]["value"]
    assert "basis points" in value["description"] and "0.50%" in value["description"]
    assert value["exclusiveMinimum"] == 0
    config = schemas["AuctionConfig"]
    assert config["properties"]["currency"]["pattern"] == "^[A-Z]{3}$"
    assert config["properties"]["lots"]["minItems"] == 1
    assert "milliseconds" in config["properties"]["duration_ms"]["description"]
    assert "format" not in config["required"]  # decoded alone: its tag may be left out
    assert "format" not in schemas["TenderConfig"]["required"]
    lot = schemas["LotSpec"]["properties"]
    assert lot["ceiling"]["exclusiveMinimum"] == 0 and "minor units" in lot["ceiling"]["description"]
    assert lot["quantity"]["format"] == "decimal"
    assert schemas["AuctionConfig"]["properties"]["minor_units"]["maximum"] == 4


def test_a_bound_the_document_states_is_enforced_while_decoding(client):
    """Refused as 400 naming the field, before the engine sees it."""
    for bad in ({"currency": "eur"}, {"lots": []}, {"duration_ms": 0},
                {"decrement": {"kind": "percent", "value": 0}}):
        r = client.post("/api/auctions", json={"config": {**CONFIG, **bad}}, headers=BUYER)
        assert (r.status_code, r.json()["reason"]) == (400, "bad_request"), (bad, r.text)
        assert f"$.config.{next(iter(bad))}" in r.json()["detail"]


def test_integers_written_with_a_fraction_are_integers(client):
    """JSON Schema's integer is a value: 49000.0 is one (schemathesis sent such numbers; msgspec
    alone refused them as 400). A fraction is still refused where an integer is expected."""
    auction_id = create(client, {**CONFIG, "duration_ms": 600000.0})
    base = f"/api/auctions/{auction_id}"
    client.post(f"{base}/invitations", json={"supplier": "s1"}, headers=BUYER)
    client.post(f"{base}/start", headers=BUYER)
    bid = {"bid_id": "b1", "lot_id": "L1", "amount": 4.9e4, "on_behalf_of": "s1"}
    r = client.post(f"{base}/bids", json=bid, headers=BUYER)
    assert r.status_code == 201, r.text
    r = client.post(f"{base}/bids", json={**bid, "bid_id": "b2", "amount": 48000.5}, headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (400, "bad_request")
    huge = b'{"bid_id": "b3", "lot_id": "L1", "amount": 1e100000000, "on_behalf_of": "s1"}'
    r = client.post(f"{base}/bids", content=huge, headers=BUYER)
    assert (r.status_code, r.json()["reason"]) == (400, "bad_request")
