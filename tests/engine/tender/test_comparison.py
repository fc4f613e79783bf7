"""The buyer's side-by-side comparison of an RFQ's opened quotes (比价): prices per line and in
total, the highlights (cheapest, fastest, best certified) with ties kept and ordered, who may see
it and when, and the spreadsheet; properties over random quotes (Hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidserver.engine.rejections import Reason, Rejection
from bidserver.engine.tender import TenderState
from bidserver.engine.tender.comparison import Highlight, compare, comparison_for, table
from bidserver.engine.tender.events import LotPrice, OpenedBid
from bidserver.engine.tender.state import Phase, QualificationRecord
from bidserver.engine.values import Actor, Role

from bidserver.engine.tender.values import TenderLot

from .builders import BUYER, OBSERVER, ORG, OTHER_BUYER, T0, officer, rfq_config, supplier
from .builders import opened as tender_opened
from .test_rfq import OPENED_AT, opened, quoted

A, B, C, D = "sup-a", "sup-b", "sup-c", "sup-d"


def state_of(lines: list[OpenedBid], cfg=None, disqualified=()) -> TenderState:
    """An opened RFQ with this opening record (the comparison reads the record, the config and
    the qualifications; sealing is tested through ``opened``)."""
    state = TenderState.new("rfq-1")
    state.config, state.buyer, state.phase = cfg or rfq_config(), ORG, Phase.EVALUATION
    state.opened_at, state.record = OPENED_AT, lines
    state.qualifications = {s: QualificationRecord("disqualified", "no samples", OPENED_AT)
                            for s in disqualified}
    return state


def line(supplier_id: str, prices: dict[str, int], *, at: int = T0, delivery: int = 5,
         validity: int = 30, certificates: tuple[str, ...] = ()) -> OpenedBid:
    return OpenedBid(supplier=supplier_id, name=supplier_id.upper(), bid_id=f"{supplier_id}-q",
                     commitment="sha256:" + "0" * 64, received_at=at,
                     prices=tuple(LotPrice(k, v) for k, v in prices.items()),
                     delivery_days=delivery, validity_days=validity, certificates=certificates)


def test_the_comparison_of_three_sealed_quotes():
    comparison = compare(opened().state)
    assert [(s.supplier, s.total, s.complete, s.delivery_days) for s in comparison.suppliers] == [
        (A, 137_500, True, 5), (B, 136_600, True, 10), (C, 137_400, True, 3)]
    assert comparison.cheapest == Highlight(value=136_600, suppliers=(B,))
    assert comparison.fastest == Highlight(value=3, suppliers=(C,))
    # C claims both requested (names matched with whitespace and case folded), A one of them
    assert comparison.best_certified == Highlight(value=2, suppliers=(C,))
    assert [s.requested_held for s in comparison.suppliers] == [
        ("ISO 9001",), (), ("ISO 9001", "ISO 14001")]
    assert [(x.lot_id, x.cheapest) for x in comparison.lines] == [
        ("P1", (B,)), ("P2", (C,)), ("P3", (C,))]
    paper, toner, staples = comparison.lines
    assert (paper.quantity, paper.unit) == (Decimal(200), "ream")
    assert [(q.supplier, q.unit_price, q.line_price) for q in paper.quotes] == [
        (A, 450, 90_000), (B, 440, 88_000), (C, 475, 95_000)]
    # 2.5 boxes: 2 500 / 2.5 = 1 000; 2 600 / 2.5 = 1 040; toner 45 000 / 3 = 15 000
    assert [q.unit_price for q in staples.quotes] == [1_000, 1_040, 960]
    assert [q.unit_price for q in toner.quotes] == [15_000, 15_333, 13_333]
    assert [(s.cheapest, s.fastest, s.best_certified) for s in comparison.suppliers] == [
        (False, False, False), (True, False, False), (False, True, True)]


def test_a_unit_price_is_rounded_half_to_even_and_the_line_price_is_as_quoted():
    cfg = rfq_config(lots=rfq_config().lots[1:2])  # toner: 3 pieces
    comparison = compare(state_of([line(A, {"P2": 10}), line(B, {"P2": 11}), line(C, {"P2": 7})],
                                  cfg))
    # 10/3 = 3.33 -> 3; 11/3 = 3.67 -> 4; 7/3 = 2.33 -> 2; and 1.5 -> 2, 2.5 -> 2 below
    assert [q.unit_price for q in comparison.lines[0].quotes] == [3, 4, 2]
    two = rfq_config(lots=(TenderLot(lot_id="X", title="x", quantity=Decimal(2)),))
    halves = compare(state_of([line(A, {"X": 3}), line(B, {"X": 5})], two))
    assert [q.unit_price for q in halves.lines[0].quotes] == [2, 2]


def test_a_partial_quote_has_no_total_to_be_cheapest_but_may_be_cheapest_on_its_lines():
    comparison = compare(state_of([
        line(A, {"P1": 1_000}),  # the lowest sum, but one line of three
        line(B, {"P1": 2_000, "P2": 2_000, "P3": 2_000}),
    ]))
    assert comparison.cheapest == Highlight(value=6_000, suppliers=(B,))
    assert comparison.lines[0].cheapest == (A,) and comparison.lines[1].cheapest == (B,)
    assert [(s.lines_quoted, s.complete) for s in comparison.suppliers] == [(1, False), (3, True)]
    assert compare(state_of([line(A, {"P1": 1})])).cheapest is None  # no complete quote


def test_ties_are_every_supplier_at_the_best_value_in_the_award_formulas_order():
    full = {"P1": 100, "P2": 100, "P3": 100}
    comparison = compare(state_of([
        line(C, full, at=T0 + 3, delivery=2),
        line(A, full, at=T0 + 2, delivery=2),
        line(B, {"P1": 100, "P2": 100, "P3": 99}, at=T0 + 5, delivery=2),
        line(D, full, at=T0 + 2, delivery=9),
    ]))
    assert comparison.cheapest == Highlight(value=299, suppliers=(B,))
    # equal delivery: lower total first, then earlier receipt, then the supplier id
    assert comparison.fastest == Highlight(value=2, suppliers=(B, A, C))
    # equal line prices on P1: the same order among those tied
    assert comparison.lines[0].cheapest == (B, A, D, C)


def test_a_disqualified_quote_is_shown_but_never_highlighted():
    comparison = compare(state_of([
        line(A, {"P1": 1, "P2": 1, "P3": 1}, delivery=0, certificates=("ISO 9001",)),
        line(B, {"P1": 5, "P2": 5, "P3": 5}, delivery=9),
    ], disqualified=(A,)))
    assert [s.status for s in comparison.suppliers] == ["disqualified", "pending"]
    assert comparison.cheapest.suppliers == comparison.fastest.suppliers == (B,)
    assert comparison.best_certified is None  # B holds none of the requested
    assert all(x.cheapest == (B,) for x in comparison.lines)


def test_without_requested_certificates_nobody_is_best_certified():
    lines = [line(A, {"P1": 1}, certificates=("ISO 9001", "CE", "CCC")), line(B, {"P1": 2})]
    comparison = compare(state_of(lines, rfq_config(requested_certificates=())))
    assert comparison.best_certified is None
    assert comparison.suppliers[0].certificates == ("ISO 9001", "CE", "CCC")


def test_a_quote_that_did_not_open_is_listed_with_its_reason():
    run = opened(**{A: {"prices": {"P1": 1}, "delivery": None}, B: {"prices": {"P1": 2}}})
    comparison = compare(run.state)
    assert [s.supplier for s in comparison.suppliers] == [B]
    assert [(n.supplier, n.reason) for n in comparison.not_opened] == [
        (A, "states no delivery time, which a quote must")]


def test_the_buyers_organisation_alone_sees_it_once_the_quotes_are_opened():
    run = opened()
    for actor in (BUYER, officer("off-1"), OBSERVER):
        assert not isinstance(comparison_for(run.state, actor), Rejection)
    for actor in (supplier(A), supplier(D), OTHER_BUYER, Actor(Role.OBSERVER, "org-other")):
        assert comparison_for(run.state, actor).reason is Reason.FORBIDDEN
    before = comparison_for(quoted().state, BUYER)
    assert before.reason is Reason.WRONG_PHASE and "not opened" in before.detail
    assert comparison_for(tender_opened().state, BUYER).reason is Reason.UNKNOWN_AUCTION
    assert comparison_for(TenderState.new("x"), BUYER).reason is Reason.UNKNOWN_AUCTION


def test_the_spreadsheet_is_side_by_side_with_the_highlights_named():
    sheet = table(compare(opened().state))
    assert sheet.header == (
        "lot_id", "item", "quantity", "unit",
        "SUP-A Ltd (sup-a) unit price", "SUP-A Ltd (sup-a) line price",
        "SUP-B Ltd (sup-b) unit price", "SUP-B Ltd (sup-b) line price",
        "SUP-C Ltd (sup-c) unit price", "SUP-C Ltd (sup-c) line price", "highlighted")
    rows = {row[1]: row for row in sheet.rows}
    assert rows["A4 paper"] == ("P1", "A4 paper", "200", "ream", "4.50", "900.00", "4.40",
                                "880.00", "4.75", "950.00", "SUP-B Ltd")
    assert rows["total (EUR)"][5::2] + rows["total (EUR)"][-1:] == (
        "1375.00", "1366.00", "1374.00", "SUP-B Ltd")
    assert rows["delivery (days)"][-1] == "SUP-C Ltd"
    assert rows["requested held (of 2)"][5:] == (1, "", 0, "", 2, "SUP-C Ltd")
    assert rows["certificates"][9] == "iso  9001; ISO 14001; CCC"
    assert rows["status"][5:] == ("pending", "", "pending", "", "pending", "")


def test_a_partial_total_says_how_many_lines_it_covers():
    sheet = table(compare(state_of([line(A, {"P1": 100}), line(B, {"P1": 1, "P2": 1, "P3": 1})])))
    total = next(row for row in sheet.rows if row[1] == "total (EUR)")
    assert total[5] == "1.00 (1 of 3 lines)" and total[7] == "0.03" and total[-1] == "SUP-B"


# ------------------------------------------------------------------ properties

LOTS = ("P1", "P2", "P3")
quotes = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from(LOTS), st.integers(1, 10**9), min_size=1),
        st.integers(0, 30),  # delivery
        st.integers(0, 3),  # receipt
        st.sets(st.sampled_from(("ISO 9001", "iso 14001", "CE"))),
        st.booleans(),  # disqualified
    ),
    min_size=1, max_size=6,
)


def _state(drawn) -> TenderState:
    lines = [line(f"s{i}", prices, at=T0 + at, delivery=delivery, certificates=tuple(sorted(c)))
             for i, (prices, delivery, at, c, _) in enumerate(drawn)]
    return state_of(lines, disqualified=[f"s{i}" for i, d in enumerate(drawn) if d[-1]])


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(quotes, st.randoms(use_true_random=False))
def test_the_highlights_are_the_best_values_and_do_not_depend_on_the_records_order(drawn, rnd):
    state = _state(drawn)
    comparison = compare(state)
    eligible = [s for s in comparison.suppliers if s.status != "disqualified"]
    totals = [s.total for s in eligible if s.complete]
    cheapest = comparison.cheapest.value if comparison.cheapest else None
    assert cheapest == (min(totals) if totals else None)
    if comparison.cheapest:
        assert set(comparison.cheapest.suppliers) == {
            s.supplier for s in eligible if s.complete and s.total == min(totals)}
    deliveries = [s.delivery_days for s in eligible]
    assert (comparison.fastest.value if comparison.fastest else None) == (
        min(deliveries) if deliveries else None)
    for x in comparison.lines:
        prices = {q.supplier: q.line_price for q in x.quotes
                  if q.supplier in {s.supplier for s in eligible}}
        assert set(x.cheapest) == {s for s, p in prices.items() if p == min(prices.values())}
        assert all(q.cheapest == (q.supplier in x.cheapest) for q in x.quotes)
    for s in comparison.suppliers:
        assert s.total == sum(q.line_price for x in comparison.lines for q in x.quotes
                              if q.supplier == s.supplier)
    shuffled = list(state.record)
    rnd.shuffle(shuffled)
    again = compare(state_of(shuffled, disqualified=[s for s in state.qualifications]))
    assert (again.cheapest, again.fastest, again.best_certified) == (
        comparison.cheapest, comparison.fastest, comparison.best_certified)
    assert [x.cheapest for x in again.lines] == [x.cheapest for x in comparison.lines]
    assert len(table(comparison).rows) == len(comparison.lines) + 6


@pytest.mark.parametrize("requested", [(), ("ISO 9001",)])
def test_the_comparison_is_the_same_for_the_buyer_and_its_observers(requested):
    state = opened(rfq_config(requested_certificates=requested)).state
    assert comparison_for(state, BUYER) == comparison_for(state, OBSERVER)
