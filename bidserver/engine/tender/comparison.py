"""The buyer's side-by-side comparison of an RFQ's opened quotes (比价). Pure: built from the
folded state, so the JSON and the CSV say the same and a replay gives the same table.

What it shows, per line item (the tender's lots, with quantity and unit): each supplier's line
price as quoted, and its unit price derived from it (``line price / quantity``, exact, rounded half
to even to the currency's minor unit: the quoted line price is what counts, the unit price is for
reading); per supplier: its total over the lines it quotes, whether it quotes every line, its
delivery time, validity, the certificates it claims and which of the requested ones they are, and
its qualification so far. A quote that did not open is listed with the reason.

The highlights are computed over the quotes the buyer has not disqualified:

- **cheapest**: the lowest total among the quotes that price every line (a partial quote's total
  is not a price for the whole purchase), and per line the lowest line price;
- **fastest**: the shortest delivery time;
- **best certified**: the most of the buyer's requested certificates (``certificate_key`` matches
  names), when the RFQ requests any and some quote holds one. Without requested certificates
  there is none: counting whatever names a supplier claims would reward listing many.

A tie is a tie: every supplier at the best value is highlighted, never one picked silently. They
are listed in the order the award formula breaks ties (``evaluation``): lower total (a complete
quote before a partial one), then the earlier receipt, then the supplier id, so the first named is
the one the formula would prefer among equals.

Only the buyer's organisation (its people and observers) is shown the comparison, and only once
the quotes are opened: it is the buyer's working paper, and an RFQ shows no supplier another's
quote (a supplier sees its own opened quote, ``views.BidderView.quote``, and the award).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import msgspec

from ..format import Table
from ..money import money_text
from ..rejections import Reason, Rejection
from ..values import Actor, Role
from . import conflicts
from .events import OpenedBid
from .state import TenderState
from .values import TenderConfig, certificate_key


class Quoted(msgspec.Struct, frozen=True, kw_only=True):
    supplier: str
    unit_price: int  # minor units: line_price / quantity, rounded half to even
    line_price: int  # minor units, as quoted
    cheapest: bool


class Line(msgspec.Struct, frozen=True, kw_only=True):
    lot_id: str
    title: str
    quantity: Decimal
    unit: str
    quotes: tuple[Quoted, ...]  # the suppliers that quote this line, in the suppliers' order
    cheapest: tuple[str, ...]  # the lowest line price among the quotes not disqualified


class Supplier(msgspec.Struct, frozen=True, kw_only=True):
    supplier: str
    name: str
    bid_id: str
    received_at: int
    status: str  # pending (not yet qualified), valid or disqualified
    total: int  # minor units, over the lines it quotes
    lines_quoted: int
    complete: bool  # it quotes every line
    delivery_days: int
    validity_days: int
    certificates: tuple[str, ...]  # as claimed
    requested_held: tuple[str, ...]  # the requested certificates it claims, as requested
    cheapest: bool
    fastest: bool
    best_certified: bool


class NotOpened(msgspec.Struct, frozen=True, kw_only=True):
    supplier: str
    name: str
    bid_id: str
    reason: str


class Highlight(msgspec.Struct, frozen=True, kw_only=True):
    value: int  # the best total (minor units), delivery time (days) or requested certificates held
    suppliers: tuple[str, ...]  # every supplier at that value, in the tie-break order


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    tender_id: str
    title: str
    currency: str
    minor_units: int
    requested_certificates: tuple[str, ...]
    suppliers: tuple[Supplier, ...]  # the opened quotes, in the opening record's order
    lines: tuple[Line, ...]  # the line items, in the RFQ's order
    cheapest: Highlight | None  # None: no quote (not disqualified) prices every line
    fastest: Highlight | None  # None: no quote not disqualified
    best_certified: Highlight | None  # None: no certificate requested, or none held
    not_opened: tuple[NotOpened, ...]


def _unit_price(line_price: int, quantity: Decimal) -> int:
    return round(Fraction(line_price) / Fraction(quantity))


def _status(state: TenderState, supplier: str) -> str:
    qualification = state.qualifications.get(supplier)
    return "pending" if qualification is None else str(qualification.status)


def _held(config: TenderConfig, line: OpenedBid) -> tuple[str, ...]:
    claimed = {certificate_key(name) for name in line.certificates}
    return tuple(c for c in config.requested_certificates if certificate_key(c) in claimed)


def _best(values: dict[str, int], order: dict[str, tuple], lowest: bool) -> Highlight | None:
    """Every supplier at the best value, in the tie-break order; None when there is none."""
    if not values:
        return None
    best = min(values.values()) if lowest else max(values.values())
    tied = sorted((s for s, v in values.items() if v == best), key=order.__getitem__)
    return Highlight(value=best, suppliers=tuple(tied))


def compare(state: TenderState) -> Comparison:
    """The comparison of the opened quotes (the state is an opened RFQ)."""
    config = state.config
    lot_ids = [lot.lot_id for lot in config.lots]
    opened = [line for line in state.record if line.failed is None]
    prices = {line.supplier: {p.lot_id: p.price for p in line.prices} for line in opened}
    totals = {s: sum(by_lot.values()) for s, by_lot in prices.items()}
    complete = {s: all(lot in by_lot for lot in lot_ids) for s, by_lot in prices.items()}
    eligible = [line for line in opened if _status(state, line.supplier) != "disqualified"]
    # the award formula's tie-break: lower total (complete quotes first), earlier, supplier id
    order = {line.supplier: (not complete[line.supplier], totals[line.supplier], line.received_at,
                             line.supplier) for line in opened}
    held = {line.supplier: _held(config, line) for line in opened}

    cheapest = _best({line.supplier: totals[line.supplier] for line in eligible
                      if complete[line.supplier]}, order, lowest=True)
    fastest = _best({line.supplier: line.delivery_days for line in eligible}, order, lowest=True)
    certified = _best({line.supplier: len(held[line.supplier]) for line in eligible
                       if held[line.supplier]}, order, lowest=False)

    lines = []
    for lot in config.lots:
        best = _best({line.supplier: prices[line.supplier][lot.lot_id] for line in eligible
                      if lot.lot_id in prices[line.supplier]}, order, lowest=True)
        winners = best.suppliers if best is not None else ()
        lines.append(Line(
            lot_id=lot.lot_id, title=lot.title, quantity=lot.quantity, unit=lot.unit,
            quotes=tuple(
                Quoted(supplier=line.supplier, line_price=prices[line.supplier][lot.lot_id],
                       unit_price=_unit_price(prices[line.supplier][lot.lot_id], lot.quantity),
                       cheapest=line.supplier in winners)
                for line in opened if lot.lot_id in prices[line.supplier]
            ),
            cheapest=winners,
        ))

    def named(highlight: Highlight | None, supplier: str) -> bool:
        return highlight is not None and supplier in highlight.suppliers

    return Comparison(
        tender_id=state.auction_id, title=config.title, currency=config.currency,
        minor_units=config.minor_units, requested_certificates=config.requested_certificates,
        suppliers=tuple(
            Supplier(
                supplier=line.supplier, name=line.name, bid_id=line.bid_id,
                received_at=line.received_at, status=_status(state, line.supplier),
                total=totals[line.supplier], lines_quoted=len(prices[line.supplier]),
                complete=complete[line.supplier], delivery_days=line.delivery_days,
                validity_days=line.validity_days, certificates=line.certificates,
                requested_held=held[line.supplier], cheapest=named(cheapest, line.supplier),
                fastest=named(fastest, line.supplier),
                best_certified=named(certified, line.supplier),
            )
            for line in opened
        ),
        lines=tuple(lines),
        cheapest=cheapest,
        fastest=fastest,
        best_certified=certified,
        not_opened=tuple(NotOpened(supplier=line.supplier, name=line.name, bid_id=line.bid_id,
                                   reason=line.failed)
                         for line in state.record if line.failed is not None),
    )


def comparison_for(state: TenderState, actor: Actor) -> Comparison | Rejection:
    """The comparison for ``actor``, or why not: an event that is no RFQ is unknown as one (the
    edge answers 404), anyone but the buyer's organisation is refused (403), before the
    opening there is nothing to compare (409, ``wrong_phase``), and a named officer or evaluator
    who has not declared "no conflict" is refused (403, ``conflicts``)."""
    config = state.config
    if config is None or not config.rfq:
        return Rejection(reason=Reason.UNKNOWN_AUCTION, detail="not a request for quotations")
    if actor.role not in (Role.BUYER, Role.OBSERVER) or actor.party != state.buyer:
        return Rejection(reason=Reason.FORBIDDEN, detail=(
            "the comparison is the buyer's; a supplier is shown its own quote and the award"))
    if state.opened_at is None:
        return Rejection(reason=Reason.WRONG_PHASE, detail=(
            f"the quotes are not opened yet (the RFQ is {state.phase}): the comparison exists "
            "once they are"))
    withheld = conflicts.refusal(state, actor)  # a named user who has not declared "no conflict"
    if withheld is not None:
        return withheld
    return compare(state)


# ------------------------------------------------------------------ the spreadsheet

def _names(comparison: Comparison, suppliers: tuple[str, ...]) -> str:
    by_id = {s.supplier: s.name or s.supplier for s in comparison.suppliers}
    return " / ".join(by_id[s] for s in suppliers)


def table(comparison: Comparison) -> Table:
    """The comparison as a spreadsheet, side by side: a row per line item with two columns per
    supplier (unit and line price, in major units as text), then a row each for the totals, the
    delivery time, the validity, the certificates, the requested ones held and the status; the
    last column names who is highlighted on that row (ties joined by " / ")."""
    suppliers = comparison.suppliers

    def money(amount: int) -> str:
        return money_text(amount, comparison.minor_units)

    header = ["lot_id", "item", "quantity", "unit"]
    for s in suppliers:
        label = f"{s.name} ({s.supplier})" if s.name else s.supplier
        header += [f"{label} unit price", f"{label} line price"]
    header.append("highlighted")
    rows: list[tuple[str | int, ...]] = []
    for line in comparison.lines:
        quoted = {q.supplier: q for q in line.quotes}
        cells: list[str | int] = [line.lot_id, line.title, str(line.quantity), line.unit]
        for s in suppliers:
            q = quoted.get(s.supplier)
            cells += [money(q.unit_price), money(q.line_price)] if q else ["", ""]
        rows.append((*cells, _names(comparison, line.cheapest)))

    def summary(label: str, value, highlight: Highlight | None = None) -> None:
        cells: list[str | int] = ["", label, "", ""]
        for s in suppliers:
            cells += ["", value(s)]
        rows.append((*cells, _names(comparison, highlight.suppliers if highlight else ())))

    summary(f"total ({comparison.currency})", lambda s: money(s.total) if s.complete else
            f"{money(s.total)} ({s.lines_quoted} of {len(comparison.lines)} lines)",
            comparison.cheapest)
    summary("delivery (days)", lambda s: s.delivery_days, comparison.fastest)
    summary("validity (days)", lambda s: s.validity_days)
    summary("certificates", lambda s: "; ".join(s.certificates))
    if comparison.requested_certificates:
        summary(f"requested held (of {len(comparison.requested_certificates)})",
                lambda s: len(s.requested_held), comparison.best_certified)
    summary("status", lambda s: s.status)
    return Table(tuple(header), rows)
