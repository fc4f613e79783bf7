"""The HTTP API: create and run auctions, read state and history per role, award, export CSV.

Every handler is a plain function: authenticate, find an auction the principal may see, turn the
body into an engine command (the actor from the token), submit it to the auction's room (the one
writer), and map the outcome to a status in one place (``bidserver.wire``). Errors are JSON
``{"error": <reason>, "detail": ...}`` (``EXCEPTION_HANDLERS`` gives the framework's own 404, 405
and 500 that shape too), except a bid's refusals, which are the ``bid_result`` a live room sends.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import wire
from ..auth import AuthError, Principal, token_from_request
from ..engine.reverse.commands import (
    AwardLot,
    CancelAuction,
    ExtendAuction,
    InviteSupplier,
    PauseAuction,
    ResumeAuction,
    StartAuction,
    UpdateConfig,
    VoidBid,
)
from ..engine.values import Role
from ..runtime.auction import Auction
from ..runtime.outcome import Result
from ..runtime.registry import BROKEN, LOAD_ERRORS

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024


class ApiError(Exception):
    def __init__(
        self, status: int, problem: wire.Problem, failure: wire.Failure | None = None
    ) -> None:
        self.status = status
        self.problem = problem
        self.failure = failure


def _fail(failure: wire.Failure, detail: str = "") -> ApiError:
    return ApiError(
        wire.failure_status(failure), wire.Problem(error=failure.value, detail=detail), failure
    )


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def error_response(exc: ApiError) -> Response:
    return JSON(exc.problem, status_code=exc.status)


def _principal(request: Request) -> Principal:
    try:
        token = token_from_request(request.headers, request.query_params)
        return request.app.state.services.verifier.verify(token)
    except AuthError as exc:
        raise _fail(wire.Failure(exc.reason)) from None


async def _read_bounded(request: Request) -> bytes:
    """The body, refused as soon as it is past ``MAX_BODY`` (declared or sent): a client must not
    make the server buffer more than that."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _fail(wire.Failure.MESSAGE_TOO_BIG)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _fail(wire.Failure.MESSAGE_TOO_BIG)
        chunks.append(chunk)
    return b"".join(chunks)


async def _body(request: Request, kind: type) -> Any:
    raw = await _read_bounded(request)
    try:
        return msgspec.json.decode(raw or b"{}", type=kind)
    except wire.UNREADABLE as exc:
        raise _fail(wire.Failure.BAD_REQUEST, str(exc)) from None


async def _room(request: Request, principal: Principal) -> Auction:
    """The auction, read from the journal if this process has not loaded it yet: with Redis away
    that read fails, which is the journal being unavailable (503, retry), not a bug (500)."""
    auction_id = request.path_params["auction_id"]
    try:
        room = await request.app.state.services.rooms.get(auction_id)
    except LOAD_ERRORS as exc:
        log.warning("cannot load auction %.64s: %s", auction_id, exc)
        raise _fail(wire.Failure.JOURNAL_UNAVAILABLE, "the journal is unavailable; retry") from None
    except BROKEN:  # logged by the registry, with the entry
        raise _fail(wire.Failure.JOURNAL_BROKEN, "the auction's journal failed verification") from None
    if room is None or not room.format.may_see(room.state, principal.actor):
        raise _fail(wire.Failure.UNKNOWN_AUCTION)
    return room


def _view(room: Auction, principal: Principal) -> dict[str, Any]:
    return {"seq": room.state.seq, "view": room.format.view(room.state, principal.actor)}


async def _outcome(
    room: Auction, result: Result, principal: Principal, status: int = 200
) -> Response:
    if result.failure is not None:
        raise _fail(result.failure)
    if result.rejection is not None:
        raise ApiError(wire.rejection_status(result.rejection), wire.problem_for_rejection(result.rejection))
    await room.listed()  # the answer promises the listing shows the change
    return JSON(_view(room, principal), status_code=status)


def handler(fn: Callable) -> Callable:
    """Turns ApiError into its JSON response; everything else is a bug and a 500 (logged)."""

    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except ApiError as exc:
            return error_response(exc)

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    endpoint.body_type = getattr(fn, "body_type", None)  # for the OpenAPI document
    endpoint.query = getattr(fn, "query", {})
    return endpoint


# ------------------------------------------------------------------------------ auctions


async def create_auction(request: Request) -> Response:
    """Create a reverse auction in DRAFT (buyers only)."""
    principal = _principal(request)
    body = await _body(request, wire.CreateAuctionBody)
    room, result = await request.app.state.services.rooms.create(principal.actor, body.config)
    if room is None:
        return await _outcome(room, result, principal)  # raises
    response = await _outcome(room, result, principal, status=201)
    response.headers["location"] = f"/api/auctions/{room.auction_id}"
    return response


create_auction.body_type = wire.CreateAuctionBody


async def list_auctions(request: Request) -> Response:
    """The auctions the principal may list, newest first, a page at a time (``?state=open``,
    ``?limit=50``, ``?cursor=<next_cursor>``): from the listing index in Redis, so the same
    whichever process answers and whether or not it has the auctions loaded. Buyers and observers
    list their buyer organisation's auctions, suppliers those they are invited to; only the buyer
    sees who is invited. ``updated_at`` is the time of the last change the listing shows (title,
    phase, invitations), not of the last bid: ``GET /api/auctions/{id}`` has the live view."""
    principal = _principal(request)
    params = request.query_params
    try:
        limit = int(params.get("limit", "50"))
    except ValueError:
        raise _fail(wire.Failure.BAD_REQUEST, "limit must be an integer") from None
    party = {"supplier" if principal.role is Role.SUPPLIER else "buyer": principal.party}
    try:
        page = await request.app.state.services.rooms.listing.page(
            **party, state=params.get("state") or None, cursor=params.get("cursor") or None,
            limit=limit,
        )
    except ValueError as exc:  # a cursor this server did not make
        raise _fail(wire.Failure.BAD_REQUEST, str(exc)) from None
    except LOAD_ERRORS as exc:
        log.warning("cannot read the listing: %s", exc)
        raise _fail(wire.Failure.JOURNAL_UNAVAILABLE, "the listing is unavailable; retry") from None
    buyer = principal.role is Role.BUYER
    items = [
        {
            "auction_id": entry.auction_id,
            "format": entry.format,
            "title": entry.title,
            "phase": entry.state,
            "created_at": entry.created_at,
            "updated_at": entry.updated_at,
            **({"suppliers": list(entry.suppliers)} if buyer else {}),
        }
        for entry in page.items
    ]
    return JSON({"auctions": items, "next_cursor": page.next_cursor})


list_auctions.query = {
    "state": ({"type": "string"}, "only auctions in this phase (draft, open, paused, closed, ...)"),
    "limit": ({"type": "integer", "default": 50},
              "items per page (clamped to 1..200)"),
    "cursor": ({"type": "string"}, "the previous page's next_cursor"),
}


async def get_auction(request: Request) -> Response:
    """The auction as the principal may see it, with the sequence number it reflects."""
    principal = _principal(request)
    room = await _room(request, principal)
    return JSON(_view(room, principal))


async def bid_history(request: Request) -> Response:
    """Bids per role: the buyer sees all with identities, a supplier its own, observers an
    anonymised list."""
    principal = _principal(request)
    room = await _room(request, principal)
    rows = room.format.history(room.state, principal.actor)
    return JSON({"seq": room.state.seq, "bids": rows})


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | int) -> str | int:
    """A CSV cell a spreadsheet shows as text, never runs (OWASP CSV injection): text starting
    like a formula gets a leading apostrophe. Numbers (ranks, times) stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


async def results_csv(request: Request) -> Response:
    """The buyer's result sheet: every lot's ranking with identities, and the award."""
    principal = _principal(request)
    room = await _room(request, principal)
    table = room.format.results(room.state, principal.actor)
    if table is None:
        raise ApiError(403, wire.Problem(error="forbidden", detail="results are the buyer's"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows([_cell(value) for value in row] for row in table.rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{room.auction_id}.csv"'},
    )


# ------------------------------------------------------------------------------ commands


def _command_route(
    body_type: type | None, build: Callable[[Request, Principal, Any], Any], doc: str
) -> Callable:
    """A buyer action: the engine refuses it (403 forbidden) for anyone but the auction's buyer."""

    async def endpoint(request: Request) -> Response:
        principal = _principal(request)
        room = await _room(request, principal)
        body = await _body(request, body_type) if body_type is not None else None
        return await _outcome(room, await room.submit(build(request, principal, body)), principal)

    endpoint.__doc__ = doc
    endpoint.body_type = body_type
    return endpoint


def _lot(request: Request) -> str:
    return request.path_params["lot_id"]


update_config = _command_route(
    wire.ConfigBody,
    lambda r, p, b: UpdateConfig(actor=p.actor, at=0, config=b.config),
    "Replace the configuration while the auction is a draft (buyer).",
)
invite = _command_route(
    wire.InviteBody,
    lambda r, p, b: InviteSupplier(actor=p.actor, at=0, supplier=b.supplier, name=b.name),
    "Invite a supplier; it gets the next alias ('Supplier N') (buyer).",
)
start = _command_route(
    None, lambda r, p, b: StartAuction(actor=p.actor, at=0), "Open the auction now (buyer)."
)
pause = _command_route(
    wire.ReasonBody,
    lambda r, p, b: PauseAuction(actor=p.actor, at=0, reason=b.reason),
    "Pause bidding; the paused time is added to every open lot's end on resume (buyer).",
)
resume = _command_route(
    None, lambda r, p, b: ResumeAuction(actor=p.actor, at=0), "Resume a paused auction (buyer)."
)
extend = _command_route(
    wire.ExtendBody,
    lambda r, p, b: ExtendAuction(
        actor=p.actor, at=0, by_ms=b.by_ms, lot_id=b.lot_id, reason=b.reason
    ),
    "Extend one lot or every open lot by by_ms (buyer).",
)
cancel = _command_route(
    wire.ReasonBody,
    lambda r, p, b: CancelAuction(actor=p.actor, at=0, reason=b.reason),
    "Cancel the auction with a reason (buyer).",
)
void_bid = _command_route(
    wire.ReasonBody,
    lambda r, p, b: VoidBid(actor=p.actor, at=0, bid_id=r.path_params["bid_id"], reason=b.reason),
    "Void a bid with a reason; ranks are recomputed and everyone is told (buyer).",
)
award = _command_route(
    wire.AwardBody,
    lambda r, p, b: AwardLot(
        actor=p.actor, at=0, lot_id=_lot(r), bid_id=b.bid_id, reason=b.reason
    ),
    "Award a closed lot: the lowest valid bid, or the buyer's choice with a reason (buyer).",
)


def _bid_failure(bid_id: str, failure: wire.Failure, detail: str) -> Response:
    """A bid the server could not take, answered as the live room answers it (``bid_result``)."""
    return JSON(wire.bid_failed(bid_id, failure, detail), status_code=wire.failure_status(failure))


async def place_bid(request: Request) -> Response:
    """A bid over HTTP (a supplier's own, or the buyer's on a supplier's behalf).

    Answered with a ``bid_result``, refusals and server failures included, like in a live room;
    only what is wrong with the request itself (token, body, an auction the caller may not see)
    is a Problem. The body is read first so that even a journal outage names the bid to resend.
    Bids are limited per principal, with the live room's per-connection limits: HTTP must not be
    a way around them.
    """
    principal = _principal(request)
    body = await _body(request, wire.BidBody)
    buckets, key = request.app.state.services.http_bids, (principal.role, principal.party)
    if not buckets.take(key):
        answer = wire.rate_limited(body.bid_id, buckets.retry_after_ms(key))
        status = wire.rejection_status(wire.RATE_LIMITED)
        return JSON(answer, status_code=status, headers=wire.retry_after_header(answer))
    try:
        room = await _room(request, principal)
    except ApiError as exc:
        if exc.failure is not wire.Failure.JOURNAL_UNAVAILABLE:
            raise
        return _bid_failure(body.bid_id, exc.failure, "not acknowledged; resend the same bid_id")
    command = wire.bid_command(principal.actor, body)
    result = await room.submit(command)
    answer = wire.bid_result(command.bid_id, result)
    if result.failure is not None:
        status = wire.failure_status(result.failure)
    elif result.rejection is not None:
        status = wire.rejection_status(result.rejection)
    else:
        status = 200 if answer.duplicate else 201
    return JSON(answer, status_code=status, headers=wire.retry_after_header(answer))


place_bid.body_type = wire.BidBody


# ------------------------------------------------------------------------------ service


async def server_time(request: Request) -> Response:
    """The server clock (ms epoch), for clients that sync their countdown over HTTP."""
    return JSON({"server_time": request.app.state.services.now_ms()})


async def healthz(request: Request) -> Response:
    """200 when the journal (Redis) answers, 503 when it does not: bids would be refused."""
    services = request.app.state.services
    up = await services.journal.ping()
    body = {
        "status": "ok" if up else "degraded",
        "journal": "up" if up else "down",
        "durability": services.durability,
        "auctions": len(services.rooms),
    }
    if services.rooms.recovering is not None:  # loading the unfinished auctions (each on demand)
        body["recovering"] = services.rooms.recovering
    if services.rooms.refused:  # journals that failed verification: an operator must look
        body["refused"] = services.rooms.refused
    if services.rooms.cluster is not None:
        body["cluster"] = services.rooms.cluster.stats()
    return JSON(body, status_code=200 if up else 503)


# ------------------------------------------------------------------------------ framework errors


async def _http_exception(request: Request, exc: HTTPException) -> Response:
    """Starlette's own errors (no such route: 404, wrong method: 405) in our JSON shape."""
    failure = wire.failure_for_status(exc.status_code)
    detail = exc.detail if exc.status_code < 500 else ""
    return JSON(
        wire.Problem(error=failure.value, detail=detail),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    """A bug: a JSON 500 that says nothing of it (the traceback goes to the server's log, as
    Starlette re-raises the exception to the server once this response is sent)."""
    return JSON(wire.Problem(error=wire.Failure.INTERNAL.value), status_code=500)


EXCEPTION_HANDLERS = {HTTPException: _http_exception, Exception: _unhandled}


ROUTES = [
    Route("/healthz", handler(healthz), methods=["GET"]),
    Route("/api/time", handler(server_time), methods=["GET"]),
    Route("/api/auctions", handler(create_auction), methods=["POST"]),
    Route("/api/auctions", handler(list_auctions), methods=["GET"]),
    Route("/api/auctions/{auction_id}", handler(get_auction), methods=["GET"]),
    Route("/api/auctions/{auction_id}/config", handler(update_config), methods=["PUT"]),
    Route("/api/auctions/{auction_id}/invitations", handler(invite), methods=["POST"]),
    Route("/api/auctions/{auction_id}/start", handler(start), methods=["POST"]),
    Route("/api/auctions/{auction_id}/pause", handler(pause), methods=["POST"]),
    Route("/api/auctions/{auction_id}/resume", handler(resume), methods=["POST"]),
    Route("/api/auctions/{auction_id}/extend", handler(extend), methods=["POST"]),
    Route("/api/auctions/{auction_id}/cancel", handler(cancel), methods=["POST"]),
    Route("/api/auctions/{auction_id}/bids", handler(place_bid), methods=["POST"]),
    Route("/api/auctions/{auction_id}/bids", handler(bid_history), methods=["GET"]),
    Route("/api/auctions/{auction_id}/bids/{bid_id}/void", handler(void_bid), methods=["POST"]),
    Route("/api/auctions/{auction_id}/lots/{lot_id}/award", handler(award), methods=["POST"]),
    Route("/api/auctions/{auction_id}/results.csv", handler(results_csv), methods=["GET"]),
]
