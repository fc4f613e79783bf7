"""The HTTP API of a request for quotations (a sealed tender with ``procedure: "rfq"``): the
buyer's side-by-side comparison of the opened quotes (比价), as JSON and as a spreadsheet.

An RFQ is created, published and run on the sealed tender's routes (``tenders``); what is its own
is the comparison (``engine.tender.comparison``), which the engine decides who may read: the
buyer's organisation (its people and observers) once the quotes are opened. Before that it is 409
``wrong_phase``; a supplier is refused with 403 ``forbidden``, as serious quotation tools do: the
comparison is the buyer's working paper, and a supplier is told its own opened quote (its view's
``you.quote``) and the award, never another's quote. A sealed tender that is no RFQ is 404, as an
event of another format is on the tender's routes.

The spreadsheet is CSV in UTF-8 with a byte order mark, so that Excel, which reads a CSV without
one in the system's code page, shows the suppliers' Chinese names as they are; every cell is
text a spreadsheet shows, never runs (``routes._cell``).
"""

from __future__ import annotations

import csv
import io

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import wire
from ..engine.rejections import Rejection
from ..engine.tender.comparison import Comparison, comparison_for, table
from .refused_reads import refused_read
from .routes import JSON, ApiError, _cell, _principal, _tender_room, handler

_REFUSALS = (403, 409)
BOM = "\ufeff"


async def _comparison(request: Request) -> Comparison:
    principal = _principal(request)
    room = await _tender_room(request, principal)
    result = comparison_for(room.state, principal.actor)
    if isinstance(result, Rejection):
        raise await refused_read(room, principal, "comparison",
                                 ApiError(wire.problem_for_rejection(result)))
    return result


async def rfq_comparison(request: Request) -> Response:
    """The side-by-side comparison of an RFQ's opened quotes (buyer's organisation).

    Per line item each supplier's unit and line price; per supplier its total, delivery time,
    validity and certificates; the cheapest (total and per line), fastest and best certified
    quotes highlighted, every tie kept in the award formula's order. 409 `wrong_phase` before
    the opening; 403 `forbidden` for a supplier, who sees its own quote in its view."""
    return JSON(await _comparison(request))


rfq_comparison.answer = {200: Comparison}
rfq_comparison.refusals = _REFUSALS


async def rfq_comparison_csv(request: Request) -> Response:
    """The comparison as a spreadsheet: CSV, UTF-8 with a byte order mark (buyer's organisation).

    A row per line item, two columns (unit and line price) per supplier, then rows for the
    totals, delivery time, validity, certificates, requested certificates held and status; the
    last column names who is highlighted on each row."""
    comparison = await _comparison(request)
    sheet = table(comparison)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(value) for value in sheet.header])
    writer.writerows([_cell(value) for value in row] for row in sheet.rows)
    return Response(
        BOM + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition":
                 f'attachment; filename="{comparison.tender_id}-comparison.csv"'},
    )


rfq_comparison_csv.answer = {200: None}
rfq_comparison_csv.refusals = _REFUSALS

_T = "/api/tenders/{auction_id}"
RFQ_ROUTES = [
    Route(f"{_T}/comparison", handler(rfq_comparison), methods=["GET"]),
    Route(f"{_T}/comparison.csv", handler(rfq_comparison_csv), methods=["GET"]),
]
