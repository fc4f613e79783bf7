"""The award formula, the abnormally-low flag and when the evaluation is complete. Pure arithmetic
on the state, shared by ``decide`` (which records the ranking in the award decision) and the views
(which show the buyer the flags and the evaluators' progress as they go).

The published formula, per lot, over the valid bids that price the lot:

- lowest price: ranked by price, lowest first;
- MEAT: ``total = price points + quality points``, out of 100, where
  ``price points = price weight * lowest price / price`` and, for each quality criterion,
  ``quality points = weight * (mean of the evaluators' scores, 0-100) / 100``.

Totals are computed exactly (fractions) and shown in hundredths of a point, rounded half to even.
Ties (equal totals, or equal prices) go to the lower price, then to the earlier receipt of the bid,
then to the supplier id, so the ranking is a function of the journal alone.

A bid is flagged abnormally low (EU Art. 69: the buyer must ask for an explanation before
rejecting it) when its price is below ``abnormally_low_pct`` percent of the mean of the other
valid prices on the lot; a lot with one valid bid flags nothing.
"""

from __future__ import annotations

from fractions import Fraction

from .commands import Qualification
from .conflicts import active_evaluators
from .events import Points, Ranked
from .state import TenderState
from .values import PRICE, AwardKind


def opened_suppliers(state: TenderState) -> list[str]:
    """The suppliers whose bids opened, in the opening record's order."""
    return [line.supplier for line in state.record if line.failed is None]


def valid_suppliers(state: TenderState) -> list[str]:
    """The opened bids the buyer has not disqualified (not yet qualified ones included)."""
    return [s for s in opened_suppliers(state)
            if (q := state.qualifications.get(s)) is None or q.status != Qualification.DISQUALIFIED]


def expected_scores(state: TenderState) -> int:
    """How many scores each evaluator gives: every quality criterion of every valid bid."""
    return len(state.config.quality_criteria) * len(valid_suppliers(state))


def scores_given(state: TenderState, evaluator: str) -> int:
    """The evaluator's scores of the bids still valid."""
    valid = set(valid_suppliers(state))
    return sum(len(by_criterion) for supplier, by_criterion in state.scores.get(evaluator, {}).items()
               if supplier in valid)


def scoring_complete(state: TenderState) -> bool:
    """Every evaluator has scored every valid bid on every quality criterion (trivially so for
    lowest price): only then may any evaluator's scores be shown to the others. An evaluator who
    declared a conflict is removed (``conflicts``): the others' scores complete it."""
    expected = expected_scores(state)
    return all(scores_given(state, e) == expected for e in active_evaluators(state))


def qualification_complete(state: TenderState) -> bool:
    return all(s in state.qualifications for s in opened_suppliers(state))


def lot_prices(state: TenderState, lot_id: str, suppliers: list[str]) -> dict[str, int]:
    lines = {line.supplier: line for line in state.record}
    prices = {}
    for supplier in suppliers:
        for entry in lines[supplier].prices:
            if entry.lot_id == lot_id:
                prices[supplier] = entry.price
    return prices


def abnormally_low(pct: int, prices: dict[str, int]) -> set[str]:
    """The suppliers whose price is below ``pct`` percent of the mean of the others' prices:
    ``price < pct/100 * sum(others)/len(others)``, in integers."""
    total, count = sum(prices.values()), len(prices)
    if count < 2:
        return set()
    return {s for s, price in prices.items()
            if price * 100 * (count - 1) < pct * (total - price)}


def _quality(state: TenderState, supplier: str, criterion: str) -> Fraction:
    """The mean of the evaluators' scores of this bid on this criterion (0-100)."""
    scores = [state.scores[e][supplier][criterion] for e in active_evaluators(state)]
    return Fraction(sum(scores), len(scores))


def _hundredths(value: Fraction) -> int:
    return round(value * 100)


def rank_lot(state: TenderState, lot_id: str) -> tuple[Ranked, ...]:
    """The lot's valid bids ranked by the published formula (the evaluation must be complete for
    MEAT: every evaluator's scores are read)."""
    config = state.config
    prices = lot_prices(state, lot_id, valid_suppliers(state))
    if not prices:
        return ()
    flagged = abnormally_low(config.abnormally_low_pct, prices)
    received = {line.supplier: line.received_at for line in state.record}
    lowest = min(prices.values())
    rows: list[tuple[tuple, str, Fraction | None, tuple[Points, ...]]] = []
    for supplier, price in prices.items():
        tiebreak = (price, received[supplier], supplier)
        if config.award.kind is AwardKind.LOWEST_PRICE:
            rows.append((tiebreak, supplier, None, ()))
            continue
        parts: list[tuple[str, Fraction]] = []
        for criterion in config.award.criteria:
            if criterion.name == PRICE:
                parts.append((PRICE, Fraction(criterion.weight * lowest, price)))
            else:
                parts.append((criterion.name,
                              _quality(state, supplier, criterion.name) * criterion.weight / 100))
        total = sum((value for _, value in parts), Fraction(0))
        points = tuple(Points(name, _hundredths(value)) for name, value in parts)
        rows.append(((-total, *tiebreak), supplier, total, points))
    rows.sort(key=lambda row: row[0])
    return tuple(
        Ranked(rank=rank, supplier=supplier, price=prices[supplier],
               total=None if total is None else _hundredths(total), points=points,
               abnormally_low=supplier in flagged)
        for rank, (_, supplier, total, points) in enumerate(rows, 1)
    )
