"""A sealed tender's OCDS releases, from tenders folded through the engine: each release (and the
release package) valid against the official OCDS 1.1 schemas with the bids extension, codelists
included (``tests.ocds_schema``); the award ids stable across a replay; lowest price and MEAT;
cancellation and unsuccessful; nothing told about bids before the deadline."""

from __future__ import annotations

import json
from decimal import Decimal

from bidserver.engine import ocds_common
from bidserver.engine.rejections import Reason
from bidserver.engine.tender import FORMAT
from bidserver.engine.tender.commands import CreateTender
from bidserver.engine.tender import events as ev
from tests.ocds_schema import main, require, verdict

from .builders import (
    BUYER, DAY, DEADLINE, MEAT, NAMES, OBSERVER, OPENING, ORG, T0, TENDER, Run, bid, cancel, config,
    decide_award, of_type, published, qualify, revise, score, supplier, tick, withdraw, with_bids,
)

FOUR = ("sup-a", "sup-b", "sup-c", "sup-d")


def stream(run: Run, events) -> list[tuple[str, str, dict]]:
    """What the awards stream carries for ``events``: (award id, lot id, release)."""
    return [(r.award_id, r.lot_id, json.loads(r.payload, parse_float=Decimal))
            for r in FORMAT.awards(run.state, events)]


def assert_valid(release: dict) -> None:
    faults = verdict(release)
    assert not faults, "\n".join(faults)
    parties = {p["id"]: p for p in release["parties"]}
    assert len(parties) == len(release["parties"])
    refs = [release["buyer"], release["tender"]["procuringEntity"], *release["tender"].get("tenderers", [])]
    refs += [s for a in release.get("awards", []) for s in a["suppliers"]]
    refs += [t for d in release.get("bids", {}).get("details", []) for t in d["tenderers"]]
    assert all(parties[r["id"]]["name"] == r["name"] for r in refs)
    bids = [d["id"] for d in release.get("bids", {}).get("details", [])]
    assert len(bids) == len(set(bids))
    assert all(set(a["relatedBids"]) <= set(bids) for a in release.get("awards", []))


def evaluated(cfg=None, scores=None) -> Run:
    """Four invited suppliers: a bids; b bids and revises; c bids and is disqualified; d bids and
    withdraws. Opened, qualified, scored (MEAT) and decided; the standstill still running."""
    run = Run(cfg or config(), suppliers=FOUR).publish()
    run.do(bid("sup-a", "a-1", {"L1": 4_000_000, "L2": 1_500_000}, T0 + DAY))
    run.do(bid("sup-b", "b-1", {"L1": 3_900_000}, T0 + DAY + 1))
    run.do(revise("sup-b", "b-2", "b-1", {"L1": 3_800_000}, T0 + DAY + 2))
    run.do(bid("sup-c", "c-1", {"L1": 4_200_000, "L2": 1_400_000}, T0 + DAY + 3))
    run.do(bid("sup-d", "d-1", {"L2": 1_000_000}, T0 + DAY + 4))
    run.do(withdraw("sup-d", "d-1", T0 + DAY + 5))
    run.close().start_opening().open()
    run.do(qualify("sup-a", OPENING + DAY))
    run.do(qualify("sup-b", OPENING + DAY))
    run.do(qualify("sup-c", OPENING + DAY, reason="no tax certificate", valid=False))
    for user, given in (scores or {}).items():
        for party, by_criterion in given.items():
            for criterion, value in by_criterion.items():
                run.do(score(user, party, criterion, value, OPENING + DAY + 1))
    run.do(decide_award(OPENING + 2 * DAY))
    return run


def finalised(run: Run) -> tuple[list, list]:
    events = run.do(tick(run.state.standstill_ends_at))
    assert of_type(events, ev.AwardFinal)
    return events, stream(run, events)


def test_a_final_award_puts_one_valid_release_per_lot_on_the_awards_stream():
    run = evaluated()
    assert stream(run, run.log) == []  # nothing before the award is final
    _, entries = finalised(run)
    assert [(award_id, lot_id) for award_id, lot_id, _ in entries] == [(f"{TENDER}:L1", "L1"), (f"{TENDER}:L2", "L2")]
    for award_id, lot_id, release in entries:
        assert_valid(release)
        assert release["ocid"] == f"ocds-bidsrv-{TENDER}"
        assert release["id"] == f"award-{award_id}" and release["tag"] == ["award"]
        [award] = release["awards"]
        assert (award["id"], award["status"], award["relatedLots"]) == (award_id, "active", [lot_id])
    l1, l2 = (release for _, _, release in entries)
    assert l1["awards"][0]["suppliers"] == [{"id": "sup-b", "name": NAMES["sup-b"]}]
    assert l1["awards"][0]["value"] == {"amount": Decimal("38000.00"), "currency": "EUR"}
    assert l1["awards"][0]["relatedBids"] == ["sup-b/b-2/L1"]  # the revision, not the bid it replaced
    assert l2["awards"][0]["suppliers"] == [{"id": "sup-a", "name": NAMES["sup-a"]}]  # c is disqualified
    tender = l1["tender"]
    assert tender["status"] == "complete"
    assert (tender["procurementMethod"], tender["awardCriteria"]) == ("open", "priceOnly")
    assert tender["numberOfTenderers"] == 4
    assert tender["tenderPeriod"]["endDate"] == "2027-02-24T08:00:00.000Z"  # DEADLINE
    assert set(tender["enquiryPeriod"]) == set(tender["awardPeriod"]) == {"startDate", "endDate"}
    assert tender["value"] == {"amount": Decimal("70000.00"), "currency": "EUR"}
    roles = {p["id"]: p["roles"] for p in l1["parties"]}
    assert roles == {ORG: ["buyer", "procuringEntity"], "sup-a": ["tenderer"],
                     "sup-b": ["tenderer", "supplier"], "sup-c": ["tenderer"], "sup-d": ["tenderer"]}
    statuses = {d["id"]: d["status"] for d in l1["bids"]["details"]}
    assert statuses == {"sup-a/a-1/L1": "valid", "sup-a/a-1/L2": "valid", "sup-b/b-2/L1": "valid",
                        "sup-c/c-1/L1": "disqualified", "sup-c/c-1/L2": "disqualified",
                        "sup-d/d-1": "withdrawn"}
    assert {d["id"]: d.get("rank") for d in l1["bids"]["details"]}["sup-b/b-2/L1"] == 1
    assert {s["measure"]: s["value"] for s in l1["bids"]["statistics"]} == {
        "bids": 3, "validBids": 2, "disqualifiedBids": 1}
    assert "no tax certificate" in ocds_common.encode(l1["bids"]["details"]).decode()


def test_award_ids_and_releases_are_stable_across_a_replay():
    run = evaluated()
    events, entries = finalised(run)
    replayed = FORMAT.replay(TENDER, run.log)
    again = [(r.award_id, r.lot_id, r.payload) for r in FORMAT.awards(replayed, events)]
    assert again == [(r.award_id, r.lot_id, r.payload) for r in FORMAT.awards(run.state, events)]
    assert [a for a, _, _ in again] == [a for a, _, _ in entries] == [f"{TENDER}:L1", f"{TENDER}:L2"]


def test_meat_is_rated_criteria_with_the_formula_and_the_winners_points():
    top = {"quality": 90, "delivery": 80}
    low = {"quality": 40, "delivery": 50}
    scores = {e: {"sup-a": top, "sup-b": low} for e in ("ev-1", "ev-2")}
    run = evaluated(config(award=MEAT), scores)
    _, entries = finalised(run)
    l1 = entries[0][2]
    assert_valid(l1)
    assert l1["tender"]["awardCriteria"] == "ratedCriteria"
    assert "price 60, quality 30, delivery 10" in l1["tender"]["awardCriteriaDetails"]
    # a: 60 x 3.8/4.0 + 27 + 8 = 92.00 beats b: 60 + 12 + 5 = 77.00 despite b's lower price
    assert l1["awards"][0]["suppliers"][0]["id"] == "sup-a"
    assert "92.00 of 100 points" in l1["awards"][0]["description"]


def test_a_cancellation_before_the_deadline_tells_nothing_of_the_bids():
    run = with_bids()
    events = run.do(cancel(T0 + 2 * DAY))
    [(award_id, lot_id, release)] = stream(run, events)
    assert (award_id, lot_id) == (TENDER, "")
    assert_valid(release)
    assert release["id"] == f"cancellation-{TENDER}" and release["tag"] == ["tenderCancellation"]
    assert release["tender"]["status"] == "cancelled"
    assert {lot["status"] for lot in release["tender"]["lots"]} == {"cancelled"}
    assert "bids" not in release and "numberOfTenderers" not in release["tender"]
    assert [p["roles"] for p in release["parties"]] == [["buyer", "procuringEntity"]]


def test_a_cancellation_after_the_opening_lists_the_bids_pending_qualification():
    run = with_bids().close().start_opening().open()
    [(_, _, release)] = stream(run, run.do(cancel(OPENING + DAY)))
    assert_valid(release)
    assert {d["status"] for d in release["bids"]["details"]} == {"pending"}
    assert "awards" not in release


def test_too_few_bids_at_the_deadline_is_an_unsuccessful_release_with_the_count():
    run = published(config(min_bidders=2))
    run.do(bid("sup-a", "a-1", {"L1": 4_000_000}, T0 + DAY))
    [(award_id, lot_id, release)] = stream(run, run.do(tick(DEADLINE)))
    assert (award_id, lot_id) == (TENDER, "")
    assert_valid(release)
    assert (release["id"], release["tag"]) == (f"unsuccessful-{TENDER}", ["tenderUpdate"])
    assert release["tender"]["status"] == "unsuccessful"
    assert release["tender"]["numberOfTenderers"] == 1
    assert release["bids"] == {"statistics": [{"id": "bids", "measure": "bids", "value": 1}]}


def test_no_valid_bid_is_unsuccessful_with_every_bid_disqualified():
    run = with_bids().close().start_opening().open()
    for party in ("sup-a", "sup-b", "sup-c"):
        run.do(qualify(party, OPENING + DAY, reason="late bid security", valid=False))
    [(_, _, release)] = stream(run, run.do(decide_award(OPENING + 2 * DAY)))
    assert_valid(release)
    assert release["tender"]["status"] == "unsuccessful"
    assert {d["status"] for d in release["bids"]["details"]} == {"disqualified"}


def test_the_release_package_holds_what_the_stream_carried_for_the_buyer_and_observers():
    run = evaluated()
    _, entries = finalised(run)
    package = FORMAT.release_package(run.state, BUYER, uri="https://bids.example/ocds/tnd-1.json",
                                     published_at_ms=OPENING + 30 * DAY, publisher_name="Example")
    package = json.loads(ocds_common.encode(package), parse_float=Decimal)
    faults = verdict(package)
    assert not faults, "\n".join(faults)
    assert package["releases"] == [release for _, _, release in entries]
    assert package["version"] == "1.1"
    assert package["publishedDate"] == ocds_common.rfc3339(OPENING + 30 * DAY)
    assert ocds_common.BIDS_EXTENSION in package["extensions"]
    assert FORMAT.release_package(run.state, OBSERVER, uri="u", published_at_ms=0, publisher_name="p")
    assert FORMAT.release_package(run.state, supplier("sup-a"), uri="u", published_at_ms=0,
                                  publisher_name="p") is None


def test_a_running_tender_has_published_no_release_yet():
    run = with_bids()
    package = FORMAT.release_package(run.state, BUYER, uri="u", published_at_ms=0, publisher_name="p")
    assert package["releases"] == []


def test_the_validator_verdict_on_a_tenders_package(tmp_path, capsys):
    """The official validator's verdict, printed (``pytest -s``) for the closing note to quote;
    the same command refuses a broken package."""
    require()
    run = evaluated()
    finalised(run)
    path = tmp_path / "tnd-1.json"
    path.write_bytes(ocds_common.encode(FORMAT.release_package(
        run.state, BUYER, uri="https://bids.example/ocds/tnd-1.json",
        published_at_ms=OPENING + 30 * DAY, publisher_name="Example")))
    assert main([str(path)]) == 0
    with capsys.disabled():
        print("\n" + capsys.readouterr().out, end="")
    broken = json.loads(path.read_text())
    broken["releases"][0]["bids"]["details"][0]["status"] = "opened"
    path.write_text(json.dumps(broken))
    assert main([str(path)]) == 1
    assert "bids.details[].status: 'opened'" in capsys.readouterr().out


def test_the_category_classifies_every_item_of_the_releases_and_is_shown_to_all():
    """OCDS 1.1 classifies items (``tender.items[].classification``), not the tender: each item
    carries the tender's CPV code, named from the CPV list; a follow-on auction keeps it."""
    run = evaluated(config(category="14410000-8"))
    for actor in (BUYER, OBSERVER, supplier("sup-a")):
        assert FORMAT.view(run.state, actor).category == "14410000-8"
    _, entries = finalised(run)
    for _, _, release in entries:
        assert_valid(release)
        assert {json.dumps(item["classification"]) for item in release["tender"]["items"]} == {
            json.dumps({"scheme": "CPV", "id": "14410000-8", "description": "Rock salt"})}
    plain = evaluated()
    _, entries = finalised(plain)
    assert all("classification" not in item for _, _, r in entries for item in r["tender"]["items"])
    assert b"category" not in FORMAT.encode_event(plain.log[0])  # old configurations' bytes


def test_a_category_of_another_shape_is_refused():
    state = FORMAT.new_state("t2")
    decision = FORMAT.decide(state, CreateTender(actor=BUYER, at=T0, tender_id="t2",
                                                 config=config(category="14410000")))
    assert (decision.reason, decision.field) == (Reason.INVALID_CONFIG, "config.category")
