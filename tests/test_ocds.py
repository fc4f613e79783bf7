"""OCDS output: valid against the 1.1 schemas (offline), codelist values, exact money, stable ids."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from bidserver.engine import ocds_common
from bidserver.engine.money import money
from bidserver.engine.reverse import FORMAT as REVERSE
from bidserver.engine.reverse import ocds, records
from bidserver.engine.reverse.values import AuctionConfig, Decrement, DecrementKind, LotCloseMode, LotSpec
from tests.engine import builders as b
from tests.ocds_schema import codes, codes_of_extension, merged_release_schema, release_errors, schema_validators

# Fields that neither the core schema nor the bids extension define; each comes from an extension
# the package declares (ocds_common.EXTENSIONS). Anything else outside the schemas fails the test.
DECLARED_EXTENSION_FIELDS = {
    "tender.lots": ocds_common.LOTS_EXTENSION,
    "tender.items[].relatedLot": ocds_common.LOTS_EXTENSION,
    "awards[].relatedLots": ocds_common.LOTS_EXTENSION,
    "tender.techniques": ocds_common.TECHNIQUES_EXTENSION,
}


@pytest.fixture(scope="module")
def release_schema() -> dict[str, Any]:
    return merged_release_schema()


@pytest.fixture(scope="module")
def validators():
    return schema_validators()


CONFIG = AuctionConfig(
    title="Road salt 2027",
    currency="EUR",
    lots=(
        LotSpec(lot_id="L1", title="North depots", ceiling=100_000_00, reserve=80_000_00, quantity=Decimal("2.5"), unit="t"),
        LotSpec(lot_id="L2", title="South depots", ceiling=50_000_01),
    ),
    duration_ms=600_000,
    decrement=Decrement(DecrementKind.AMOUNT, 100),
)
AWARDED_AT = 1_767_261_600_123  # 2026-01-01T10:00:00.123Z
BID_AT = AWARDED_AT - 61_000  # 2026-01-01T09:58:59.123Z


def release(**changes) -> dict[str, Any]:
    args = dict(
        auction_id="A1",
        config=CONFIG,
        buyer="acme",
        lot_id="L1",
        award_id="A1:L1",
        bid_id="b-17",
        supplier_id="s2",
        supplier_name="Salt & Co",
        amount=97_050,
        bid_at_ms=BID_AT,
        awarded_at_ms=AWARDED_AT,
        basis="lowest",
        reason="",
    )
    args.update(changes)
    return ocds.award_release(**args)


def roundtrip(document: Any) -> Any:
    """What a consumer reads: our JSON bytes, numbers parsed exactly."""
    return json.loads(ocds_common.encode(document), parse_float=Decimal)


def test_release_is_valid_against_the_release_schema(validators):
    release_validator, _ = validators
    errors = sorted(release_validator.iter_errors(roundtrip(release())), key=str)
    assert not errors, "\n".join(e.message for e in errors)


def test_package_is_valid_and_declares_its_extensions(validators):
    _, package_validator = validators
    package = ocds_common.release_package(
        [release(), release(lot_id="L2", award_id="A1:L2", supplier_id="s1", supplier_name="", amount=4_000_000)],
        uri="https://bids.example/ocds/A1.json",
        published_at_ms=AWARDED_AT + 1,
        publisher_name="Example buyer platform",
    )
    errors = sorted(package_validator.iter_errors(roundtrip(package)), key=str)
    assert not errors, "\n".join(e.message for e in errors)
    assert package["version"] == "1.1"
    assert set(package["extensions"]) == set(DECLARED_EXTENSION_FIELDS.values()) | {ocds_common.BIDS_EXTENSION}
    ids = [(r["ocid"], r["id"]) for r in package["releases"]]
    assert len(set(ids)) == len(ids)


def test_an_invalid_release_is_caught(validators):
    """The validator really checks (a guard against a schema that validates everything)."""
    release_validator, _ = validators
    broken = roundtrip(release())
    broken["awards"][0]["value"]["amount"] = "970.50"
    broken["tender"]["status"] = "finished"
    messages = [e.message for e in release_validator.iter_errors(broken)]
    assert len(messages) == 2, messages


def _schema_node(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        assert schema["$ref"].startswith("#/definitions/"), schema["$ref"]
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _undeclared(value: Any, schema: dict, root: dict, path: str) -> list[str]:
    schema = _schema_node(schema, root)
    found = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            if key in properties:
                found += _undeclared(child, properties[key], root, child_path)
            elif child_path not in DECLARED_EXTENSION_FIELDS:
                found.append(child_path)
    elif isinstance(value, list) and "items" in schema:
        for child in value:
            found += _undeclared(child, schema["items"], root, path + "[]")
    return found


def test_every_field_is_in_the_schema_or_a_declared_extension(release_schema):
    assert _undeclared(release(), release_schema, release_schema, "") == []


def test_codelist_values():
    r = release()
    assert set(r["tag"]) <= codes("releaseTag.csv")
    assert r["initiationType"] in codes("initiationType.csv")
    assert r["tender"]["status"] in codes("tenderStatus.csv")
    assert {lot["status"] for lot in r["tender"]["lots"]} <= codes("tenderStatus.csv")
    assert r["tender"]["procurementMethod"] in codes("method.csv")
    assert r["tender"]["awardCriteria"] in codes("awardCriteria.csv")
    assert set(r["tender"]["submissionMethod"]) <= codes("submissionMethod.csv")
    assert r["awards"][0]["status"] in codes("awardStatus.csv")
    assert {role for party in r["parties"] for role in party["roles"]} <= codes("partyRole.csv")
    assert r["awards"][0]["value"]["currency"] in codes("currency.csv")


def test_award_content():
    named = msgspec.structs.replace(CONFIG, buyer_name="ACME Council")
    r = release(config=named, basis="buyer_choice", reason="better delivery terms")
    assert r["ocid"] == "ocds-bidsrv-A1"
    assert r["id"] == "award-A1:L1"
    assert r["date"] == "2026-01-01T10:00:00.123Z"
    assert r["tag"] == ["award"]
    assert r["buyer"] == {"id": "acme", "name": "ACME Council"}
    assert {p["id"]: p["roles"] for p in r["parties"]} == {"acme": ["buyer", "procuringEntity"], "s2": ["supplier", "tenderer"]}
    tender = r["tender"]
    assert tender["status"] == "complete"
    assert tender["techniques"] == {"hasElectronicAuction": True}
    assert tender["submissionMethod"] == ["electronicAuction"]
    assert [lot["id"] for lot in tender["lots"]] == ["L1", "L2"]
    award = r["awards"][0]
    assert award["id"] == "A1:L1"
    assert award["status"] == "active"
    assert award["suppliers"] == [{"id": "s2", "name": "Salt & Co"}]
    assert award["relatedLots"] == ["L1"]
    assert award["relatedBids"] == ["b-17"]
    assert "better delivery terms" in award["description"]
    assert "80000" not in json.dumps(roundtrip(r), default=str)  # the hidden reserve stays hidden


def test_release_id_is_stable_and_unique_per_award():
    assert release() == release()
    assert release()["id"] != release(lot_id="L2", award_id="A1:L2")["id"]


def test_open_lots_keep_the_tender_active():
    r = release(open_lots={"L2"})
    assert r["tender"]["status"] == "active"
    assert {lot["id"]: lot["status"] for lot in r["tender"]["lots"]} == {"L1": "complete", "L2": "active"}


def test_unknown_lot_is_refused():
    with pytest.raises(ValueError):
        release(lot_id="nope")


@pytest.mark.parametrize(
    ("minor", "units", "text"),
    [
        (97_050, 2, "970.50"),
        (1, 2, "0.01"),
        (10, 2, "0.10"),
        (123_456, 0, "123456"),
        (1_000, 3, "1.000"),
        (12_345_678_901_234_567_889, 2, "123456789012345678.89"),  # beyond a float's 53 bits
        (10**40 + 1, 2, "1" + "0" * 38 + ".01"),  # beyond Decimal's default 28-digit context
    ],
)
def test_money_is_exact_and_a_json_number(minor, units, text):
    assert money(minor, units) == Decimal(text)
    config = AuctionConfig(**{**{f: getattr(CONFIG, f) for f in CONFIG.__struct_fields__}, "minor_units": units})
    encoded = ocds_common.encode(release(config=config, amount=minor)).decode()
    assert re.search(r'"awards":\[.*?"value":\{"amount":' + re.escape(text) + r',"currency":"EUR"\}', encoded)
    assert roundtrip(release(config=config, amount=minor))["awards"][0]["value"]["amount"] == Decimal(text)


def test_sum_of_ceilings_is_exact():
    assert release()["tender"]["value"]["amount"] == Decimal("150000.01")


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "1970-01-01T00:00:00.000Z"), (AWARDED_AT, "2026-01-01T10:00:00.123Z"), (4_102_444_800_999, "2100-01-01T00:00:00.999Z")],
)
def test_rfc3339(ms, text):
    assert ocds_common.rfc3339(ms) == text


# ------------------------------------------------------------------ releases of real auctions:
# what the format puts on the awards stream (``records.awards``) for the events an auction decides


def released(state, events) -> list[dict[str, Any]]:
    return [json.loads(r.payload, parse_float=Decimal) for r in records.awards(state, events)]


def closed_below_reserve():
    """One lot with a reserve of 900.00, closed on a best bid of 950.00: not awarded at the close."""
    cfg = b.config(lots=(b.lot("L1", ceiling=100_000, reserve=90_000),))
    state = b.opened(cfg)
    b.accepted(state, b.bid("sup-a", 95_000, b.T0 + 1_000, bid_id="a-1"))
    b.accepted(state, b.tick(b.T0 + cfg.duration_ms))
    return state


def test_a_below_reserve_award_carries_the_buyers_reason():
    state = closed_below_reserve()
    events = b.accepted(state, b.award("L1", b.T0 + 70_000, reason="budget raised by the council"))
    [release] = released(state, events)
    assert "budget raised by the council" in release["awards"][0]["description"]
    assert release_errors(release) == []


def test_an_automatic_award_says_why_without_a_reason():
    state = b.opened()
    b.accepted(state, b.bid("sup-a", 95_000, b.T0 + 1_000))
    [release] = released(state, b.accepted(state, b.tick(b.T0 + 60_000)))
    assert release["awards"][0]["description"] == "The lowest valid bid when the lot closed."


def organisation_references(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Every place a release names an organisation by reference."""
    refs = [r["buyer"], r["tender"]["procuringEntity"]]
    refs += [s for award in r.get("awards", []) for s in award["suppliers"]]
    refs += [t for bid in r.get("bids", {}).get("details", []) for t in bid.get("tenderers", [])]
    return refs


def assert_consistent(r: dict[str, Any]) -> None:
    """What the schema cannot check: one party per id, every reference naming a party by its id
    and name, every related bid and lot present in the release."""
    ids = [party["id"] for party in r["parties"]]
    assert len(ids) == len(set(ids)), f"two parties share an id: {ids}"
    parties = {party["id"]: party for party in r["parties"]}
    for ref in organisation_references(r):
        assert ref["id"] in parties and ref["name"] == parties[ref["id"]]["name"], ref
    bids = [bid["id"] for bid in r.get("bids", {}).get("details", [])]
    assert len(bids) == len(set(bids))
    lots = {lot["id"] for lot in r["tender"]["lots"]}
    for award in r.get("awards", []):
        assert set(award["relatedBids"]) <= set(bids), (award["relatedBids"], bids)
        assert set(award["relatedLots"]) <= lots


def test_references_are_consistent():
    assert_consistent(release())


def test_a_buyer_that_is_also_the_supplier_is_one_party_with_both_roles():
    r = release(supplier_id="acme", supplier_name="ACME Council")
    assert_consistent(r)
    [party] = r["parties"]
    assert party["id"] == "acme"
    assert set(party["roles"]) == {"buyer", "procuringEntity", "supplier", "tenderer"}


def test_the_awarded_bid_is_in_the_bids_details():
    r = release()
    assert_consistent(r)
    [bid] = r["bids"]["details"]
    assert bid == {
        "id": "b-17",
        "date": "2026-01-01T09:58:59.123Z",
        "status": "valid",
        "tenderers": [{"id": "s2", "name": "Salt & Co"}],
        "value": {"amount": Decimal("970.50"), "currency": "EUR"},
        "relatedLots": ["L1"],
    }
    assert {"valid"} <= codes_of_extension("bidStatus.csv")


def test_releases_of_an_auction_name_their_bids():
    state = b.opened(b.config(lots=b.lots("L1", "L2")))
    b.accepted(state, b.bid("sup-a", 95_000, b.T0 + 1_000, bid_id="a-1"))
    b.accepted(state, b.bid("sup-b", 94_000, b.T0 + 2_000, lot_id="L2", bid_id="b-1"))
    releases = released(state, b.accepted(state, b.tick(b.T0 + 60_000)))
    assert [r["bids"]["details"][0]["id"] for r in releases] == ["a-1", "b-1"]
    for r in releases:
        assert_consistent(r)
        assert release_errors(r) == []


def test_the_buyer_is_named_by_its_configured_name():
    state = b.opened(b.config(buyer_name="Road Authority of Northshire"))
    b.accepted(state, b.bid("sup-a", 95_000, b.T0 + 1_000))
    [r] = released(state, b.accepted(state, b.tick(b.T0 + 60_000)))
    assert r["buyer"] == {"id": "org-buyer", "name": "Road Authority of Northshire"}
    assert_consistent(r)


def test_without_a_configured_name_the_buyer_is_named_by_its_id():
    assert release()["buyer"] == {"id": "acme", "name": "acme"}
    blank = msgspec.structs.replace(CONFIG, buyer_name="  ")
    assert release(config=blank)["buyer"] == {"id": "acme", "name": "acme"}


def staggered_with_l1_awarded():
    """Two staggered lots: L1 closed and awarded, L2 still taking bids."""
    cfg = b.config(lots=b.lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED, stagger_ms=60_000)
    state = b.opened(cfg)
    b.accepted(state, b.bid("sup-a", 95_000, b.T0 + 1_000, bid_id="a-1"))
    b.accepted(state, b.bid("sup-b", 94_000, b.T0 + 2_000, lot_id="L2", bid_id="b-1"))
    [award] = released(state, b.accepted(state, b.tick(b.T0 + 60_000)))
    return state, award


def test_a_cancel_publishes_a_release_saying_the_tender_is_cancelled():
    state, award = staggered_with_l1_awarded()
    assert award["tender"]["status"] == "active"  # L2 runs on
    events = b.accepted(state, b.cancel(b.T0 + 70_000))
    [entry] = records.awards(state, events)
    assert (entry.award_id, entry.lot_id) == ("auc-1", "")  # one per auction; never an award's id
    [r] = released(state, events)
    assert r["ocid"] == award["ocid"] and r["id"] not in (award["id"], "")
    assert r["tag"] == ["tenderCancellation"]
    assert r["date"] == ocds_common.rfc3339(b.T0 + 70_000)
    assert r["tender"]["status"] == "cancelled"
    # The award made before the cancel stands (docs/design.md): its lot is complete.
    assert {lot["id"]: lot["status"] for lot in r["tender"]["lots"]} == {"L1": "complete", "L2": "cancelled"}
    assert "awards" not in r and "bids" not in r
    assert [p["roles"] for p in r["parties"]] == [["buyer", "procuringEntity"]]
    assert_consistent(r)
    assert release_errors(r) == []
    assert set(r["tag"]) <= codes("releaseTag.csv")
    assert r["tender"]["status"] in codes("tenderStatus.csv")
    schema = merged_release_schema()
    assert _undeclared(r, schema, schema, "") == []


def test_a_draft_cancelled_before_it_opened_says_so_too():
    state = b.draft()
    [r] = released(state, b.accepted(state, b.cancel(b.T0)))
    assert r["tender"]["status"] == "cancelled"
    assert {lot["status"] for lot in r["tender"]["lots"]} == {"cancelled"}


def test_the_release_package_holds_what_the_stream_carried_for_the_buyer_alone():
    cfg = b.config(lots=b.lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED, stagger_ms=60_000)
    state = b.opened(cfg)
    b.accepted(state, b.bid("sup-a", 95_000, b.T0 + 1_000, bid_id="a-1"))
    b.accepted(state, b.bid("sup-b", 94_000, b.T0 + 2_000, lot_id="L2", bid_id="b-1"))
    carried = released(state, b.accepted(state, b.tick(b.T0 + 60_000)))
    carried += released(state, b.accepted(state, b.cancel(b.T0 + 70_000)))
    package = REVERSE.release_package(state, b.BUYER, uri="https://bids.example/ocds/auc-1.json",
                                      published_at_ms=b.T0 + 80_000, publisher_name="Example")
    package = roundtrip(package)
    assert package["releases"] == carried  # the award still says L2 was taking bids
    assert [r["tag"] for r in package["releases"]] == [["award"], ["tenderCancellation"]]
    assert schema_validators()[1].is_valid(package)
    assert all(release_errors(r) == [] for r in package["releases"])
    for actor in (b.OBSERVER, b.supplier("sup-a")):  # observers see suppliers by alias only
        assert REVERSE.release_package(state, actor, uri="u", published_at_ms=0, publisher_name="p") is None
