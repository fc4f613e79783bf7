"""The HTTP API: create and run auctions, read state and history per role, award, export CSV.

Every handler is a plain function: authenticate, find an auction the principal may see, turn the
body into an engine command (the actor from the token), submit it to the auction's room (the one
writer), and map the outcome to a status in one place (``bidserver.wire``). Errors are RFC 9457
problem details (``wire.Problem``, ``application/problem+json``; ``EXCEPTION_HANDLERS`` gives the
framework's own 404, 405 and 500 that shape too), except a bid's refusals, which are the
``bid_result`` a live room sends.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from .. import metrics, wire
from .answers import AuctionAnswer, AuctionPage, BidHistory, ListedAuction, ServerTime
from ..auth import AuthError, Principal, token_from_request
from ..engine.reverse.commands import (
    AcceptTerms,
    ApproveAward,
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
from ..engine.formats import REVERSE_AUCTION, SEALED_TENDER
from ..engine.rejections import Reason, Rejection
from ..engine.tender.commands import UpdateTender
from ..engine.values import Role
from ..runtime.auction import Auction
from ..runtime.outcome import Result
from ..runtime.presence import invited, shown_to
from ..runtime.registry import BROKEN, LOAD_ERRORS
from ..store.journal import JournalError

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024


class ApiError(Exception):
    def __init__(self, problem: wire.Problem, failure: wire.Failure | None = None) -> None:
        self.status = problem.status
        self.problem = problem
        self.failure = failure


def _fail(failure: wire.Failure, detail: str = "") -> ApiError:
    return ApiError(wire.problem_for_failure(failure, detail), failure)


def _refused(reason: Reason, detail: str) -> ApiError:
    """A refusal the edge decides itself (the engine's come as ``Rejection``s), as the engine's
    would be answered."""
    return ApiError(wire.problem_for_rejection(Rejection(reason=reason, detail=detail)))


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


class ProblemJSON(JSON):
    media_type = wire.PROBLEM_JSON


def error_response(exc: ApiError) -> Response:
    return ProblemJSON(exc.problem, status_code=exc.status)


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


def _number(text: str) -> int | Decimal:
    """A JSON number written with a fraction or an exponent, by its value, as JSON Schema reads
    it (and the OpenAPI document is JSON Schema): ``49000.0`` is the integer 49000, ``0.5`` the
    exact decimal. msgspec alone refuses ``49000.0`` for an ``int``. Integers past 64 digits
    stay decimals (refused where an integer is expected): ``1e100000000`` must not become a
    hundred-million-digit int."""
    value = Decimal(text)
    if value == value.to_integral_value() and value.adjusted() < 64:
        return int(value)
    return value


_json_by_value = msgspec.json.Decoder(float_hook=_number)


def _unreadable(exc: Exception) -> ApiError:
    return ApiError(
        wire.problem_for_failure(wire.Failure.BAD_REQUEST, str(exc), wire.unreadable_field(exc)),
        wire.Failure.BAD_REQUEST,
    )


async def _json(request: Request) -> Any:
    """The body as JSON values (numbers by value), not yet converted to a type."""
    try:
        return _json_by_value.decode(await _read_bounded(request) or b"{}")
    except wire.UNREADABLE as exc:
        raise _unreadable(exc) from None


def _convert(data: Any, kind: type) -> Any:
    try:
        return msgspec.convert(data, kind)
    except wire.UNREADABLE as exc:
        raise _unreadable(exc) from None


async def _body(request: Request, kind: type) -> Any:
    return _convert(await _json(request), kind)


@contextlib.contextmanager
def journal_read(auction_id: str, what: str = "load") -> Iterator[None]:
    """A read of an auction's journal: with Redis away it fails, which is the journal being
    unavailable (503, retry), not a bug (500); a chain that does not verify is 503
    ``journal_broken`` (the registry logs the entry)."""
    try:
        yield
    except LOAD_ERRORS as exc:
        log.warning("cannot %s auction %.64s: %s", what, auction_id, exc)
        raise _fail(wire.Failure.JOURNAL_UNAVAILABLE, "the journal is unavailable; retry") from None
    except BROKEN:
        raise _fail(wire.Failure.JOURNAL_BROKEN, "the auction's journal failed verification") from None


async def _loaded(request: Request, auction_id: str) -> Auction | None:
    """The auction, read from the journal if this process has not loaded it yet; None if none."""
    with journal_read(auction_id):
        return await request.app.state.services.rooms.get(auction_id)


async def _room(request: Request, principal: Principal) -> Auction:
    """The auction of the path, if the principal may see it (else 404, as for none)."""
    room = await _loaded(request, request.path_params["auction_id"])
    if room is None or not room.format.may_see(room.state, principal.actor):
        raise _fail(wire.Failure.UNKNOWN_AUCTION)
    return room


async def _tender_room(request: Request, principal: Principal) -> Auction:
    """The tender of the path: an event of another format is not one (404, as unknown)."""
    room = await _room(request, principal)
    if room.format is not SEALED_TENDER:
        raise _fail(wire.Failure.UNKNOWN_AUCTION, "not a sealed tender")
    return room


async def _counted_from_the_start(request: Request, room: Auction, principal: Principal) -> None:
    """A bid's answer carries its sender's cursor (``runtime.cursors``), which may count from the
    first event: an auction loaded from a snapshot reads its older events back first."""
    start = room.cursors.needs_from(principal.actor, None)
    if start is None:
        return
    with journal_read(room.auction_id, "read back"):
        await request.app.state.services.rooms.hold_from(room, start)


def _view(room: Auction, principal: Principal) -> AuctionAnswer:
    """The view with the caller's cursor (call ``_counted_from_the_start`` first): a supplier is
    never told the journal's seq, which counts the others' bids and invitations."""
    actor = principal.actor
    return AuctionAnswer(
        seq=room.cursors.at(actor, room.state.seq), view=room.format.view(room.state, actor)
    )


async def _settled(request: Request, room: Auction, result: Result, principal: Principal) -> None:
    """Raise a command's refusal; once it was accepted, wait until the answer's promises hold."""
    if result.failure is not None:
        raise _fail(result.failure)
    if result.rejection is not None:
        raise ApiError(wire.problem_for_rejection(result.rejection))
    await room.listed()  # the answer promises the listing shows the change
    await _counted_from_the_start(request, room, principal)


async def _outcome(
    request: Request, room: Auction, result: Result, principal: Principal, status: int = 200
) -> Response:
    await _settled(request, room, result, principal)
    return JSON(_view(room, principal), status_code=status)


# What the OpenAPI document reads off a handler: ``body_type`` (the Struct its body decodes as),
# ``query`` (name -> (JSON Schema, description)), ``answer`` (success status -> the Struct it
# answers with, None for another media type) and ``refusals`` (the statuses its engine commands
# or checks may answer besides those of authentication, the body and the auction's loading) and
# ``media`` (``{"body" | "answer": media type}``: a raw body, or an answer that is not JSON).
_DOCUMENTED = ("body_type", "query", "answer", "refusals", "media")

# The statuses of the engine's refusals of a buyer's command (``wire.rejection_status``).
_COMMAND_REFUSALS = (403, 404, 409, 422)


def handler(fn: Callable) -> Callable:
    """Turns ApiError into its problem response; everything else is a bug and a 500 (logged)."""

    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except ApiError as exc:
            return error_response(exc)

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    for name in _DOCUMENTED:
        setattr(endpoint, name, getattr(fn, name, None))
    return endpoint


# ------------------------------------------------------------------------------ auctions


async def create_event(request: Request, body_type: type) -> Response:
    """Create an event of the format ``body_type``'s configuration names, in DRAFT (buyers
    only): 201 with the view, its address in ``location`` (read at /api/auctions/{id})."""
    principal = _principal(request)
    body = await _body(request, body_type)
    room, result = await request.app.state.services.rooms.create(principal.actor, body.config)
    if room is None:
        return await _outcome(request, room, result, principal)  # raises
    response = await _outcome(request, room, result, principal, status=201)
    response.headers["location"] = f"/api/auctions/{room.auction_id}"
    return response


async def create_auction(request: Request) -> Response:
    """Create a reverse auction in DRAFT (buyers only)."""
    return await create_event(request, wire.CreateAuctionBody)


create_auction.body_type = wire.CreateAuctionBody
create_auction.answer = {201: AuctionAnswer}
create_auction.refusals = (403, 422, 503)


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
        ListedAuction(
            auction_id=entry.auction_id,
            format=entry.format,
            title=entry.title,
            phase=entry.state,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
            suppliers=list(entry.suppliers) if buyer else msgspec.UNSET,
        )
        for entry in page.items
    ]
    return JSON(AuctionPage(auctions=items, next_cursor=page.next_cursor))


list_auctions.query = {
    "state": ({"type": "string"}, "only auctions in this phase (draft, open, paused, closed, ...)"),
    "limit": ({"type": "integer", "default": 50},
              "items per page (clamped to 1..200)"),
    "cursor": ({"type": "string"}, "the previous page's next_cursor"),
}
list_auctions.answer = {200: AuctionPage}
list_auctions.refusals = (400, 503)


async def get_auction(request: Request) -> Response:
    """The auction as the principal may see it, with the sequence number it reflects."""
    principal = _principal(request)
    room = await _room(request, principal)
    await _counted_from_the_start(request, room, principal)
    return JSON(_view(room, principal))


get_auction.answer = {200: AuctionAnswer}


async def bid_history(request: Request) -> Response:
    """Bids per role: the buyer sees all with identities, a supplier its own, observers an
    anonymised list."""
    principal = _principal(request)
    room = await _room(request, principal)
    await _counted_from_the_start(request, room, principal)
    actor, cursors = principal.actor, room.cursors
    rows = room.format.history(room.state, actor)
    if not cursors.by_seq(actor):  # each row's place as the caller's cursor counts it
        rows = [{**row, "seq": cursors.at(actor, row["seq"])} if "seq" in row else row
                for row in rows]
    return JSON(BidHistory(seq=cursors.at(actor, room.state.seq), bids=rows))


bid_history.answer = {200: BidHistory}


async def supplier_presence(request: Request) -> Response:
    """Which invited suppliers have a live room open, and when each was last seen (buyer).

    Every invited supplier, in the order they were invited, whichever server process its live
    room is on. The buyer's live room is sent the same (a `presence` message) after its welcome
    and on every change. Anyone but the auction's buyer, its suppliers and observers included,
    is answered 404 as for an auction it may not see: a supplier must not learn who else takes
    part."""
    principal = _principal(request)
    room = await _room(request, principal)
    if not shown_to(principal.actor):
        raise _fail(wire.Failure.UNKNOWN_AUCTION)
    services = request.app.state.services
    try:
        seen = await services.presence.read(room.auction_id)
    except LOAD_ERRORS as exc:
        log.warning("cannot read the presence of %.64s: %s", room.auction_id, exc)
        raise _fail(wire.Failure.JOURNAL_UNAVAILABLE, "presence is unavailable; retry") from None
    return JSON(wire.presence(services.now_ms(), invited(room), seen))


supplier_presence.answer = {200: wire.Presence}


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
        raise _refused(Reason.FORBIDDEN, "results are the buyer's")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows([_cell(value) for value in row] for row in table.rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{room.auction_id}.csv"'},
    )


results_csv.answer = {200: None}
results_csv.refusals = (403,)


# ------------------------------------------------------------------------------ commands


Check = Callable[[Request, Auction, Principal, Any], Awaitable[None]]


async def admitted(request: Request, room: Auction, principal: Principal, supplier: str) -> None:
    """The supplier registry's word before a supplier joins an event (an invitation) or bids in
    a sealed one: refused 409 ``supplier_not_eligible`` when its standing for the event's
    category says no (``runtime.admission.invitation_fault``). Asked only of the event's own
    buyer's command (anyone else is refused by the engine, and learns nothing of the registry)
    or of the supplier's own bid. The event is noted among the supplier's first, so that a later
    change of its standing reaches it."""
    if principal.role is Role.BUYER and principal.party != room.state.buyer:
        return
    admission = request.app.state.services.admission
    config = room.state.config
    category = getattr(config, "category", None)
    try:
        fault = await admission.invitation_fault(
            supplier, category if isinstance(category, str) else None)
        if fault is None:
            await admission.store.note_invitation(supplier, room.auction_id)
    except JournalError:
        raise _fail(wire.Failure.JOURNAL_UNAVAILABLE, "the registry is unavailable; retry") from None
    if fault is not None:
        raise ApiError(wire.problem_for_rejection(fault))


async def _invitee_admitted(request: Request, room: Auction, principal: Principal, body: Any) -> None:
    await admitted(request, room, principal, body.supplier)


def _command_route(
    name: str, body_type: type | None, build: Callable[[Request, Principal, Any], Any], doc: str,
    check: Check | None = None,
) -> Callable:
    """A buyer action: the engine refuses it (403 forbidden) for anyone but the auction's buyer.
    ``check``: the edge's own word first (the registry's, for an invitation)."""

    async def endpoint(request: Request) -> Response:
        principal = _principal(request)
        room = await _room(request, principal)
        body = await _body(request, body_type) if body_type is not None else None
        if check is not None:
            await check(request, room, principal, body)
        return await _outcome(request, room, await room.submit(build(request, principal, body)), principal)

    endpoint.__name__ = name  # the operationId in the OpenAPI document
    endpoint.__doc__ = doc
    endpoint.body_type = body_type
    endpoint.answer = {200: AuctionAnswer}
    endpoint.refusals = _COMMAND_REFUSALS
    return endpoint


def _lot(request: Request) -> str:
    return request.path_params["lot_id"]


# Each format's configuration body and the command replacing a draft's configuration with it.
_UPDATES: dict[str, tuple[type, Callable[[Principal, Any], Any]]] = {
    REVERSE_AUCTION.name: (
        wire.ConfigBody, lambda p, config: UpdateConfig(actor=p.actor, at=0, config=config)
    ),
    SEALED_TENDER.name: (
        wire.TenderConfigBody, lambda p, config: UpdateTender(actor=p.actor, at=0, config=config)
    ),
}


async def update_config(request: Request) -> Response:
    """Replace the configuration while the event is a draft (buyer).

    The body's ``config`` is read as the event's own format's (a sealed tender's is a
    ``TenderConfig``); its ``format`` tag may be left out, and one naming another format is
    refused (422 invalid_config): an event never changes format."""
    principal = _principal(request)
    room = await _room(request, principal)
    data = await _json(request)
    config = data.get("config") if isinstance(data, dict) else None
    tag = config.get("format") if isinstance(config, dict) else None
    if tag is not None and tag != room.format.name:
        refusal = Rejection(
            reason=Reason.INVALID_CONFIG, field="config.format",
            detail=f"this event is a {room.format.name}: its configuration must be one too",
        )
        raise ApiError(wire.problem_for_rejection(refusal))
    body_type, build = _UPDATES[room.format.name]
    body = _convert(data, body_type)
    return await _outcome(request, room, await room.submit(build(principal, body.config)), principal)


update_config.body_type = wire.ConfigBody
update_config.answer = {200: AuctionAnswer}
update_config.refusals = _COMMAND_REFUSALS


invite = _command_route(
    "invite",
    wire.InviteBody,
    lambda r, p, b: InviteSupplier(actor=p.actor, at=0, supplier=b.supplier, name=b.name),
    "Invite a supplier; it gets the next alias ('Supplier N') (buyer). Refused 409 "
    "`supplier_not_eligible` when the supplier registry says it may not take part in an event "
    "of this category now (not qualified in it, suspended, blacklisted: the detail says which).",
    check=_invitee_admitted,
)
start = _command_route(
    "start",
    None, lambda r, p, b: StartAuction(actor=p.actor, at=0), "Open the auction now (buyer)."
)
pause = _command_route(
    "pause",
    wire.ReasonBody,
    lambda r, p, b: PauseAuction(actor=p.actor, at=0, reason=b.reason),
    "Pause bidding; the paused time is added to every open lot's end on resume (buyer).",
)
resume = _command_route(
    "resume",
    None, lambda r, p, b: ResumeAuction(actor=p.actor, at=0), "Resume a paused auction (buyer)."
)
extend = _command_route(
    "extend",
    wire.ExtendBody,
    lambda r, p, b: ExtendAuction(
        actor=p.actor, at=0, by_ms=b.by_ms, lot_id=b.lot_id, reason=b.reason
    ),
    "Extend one lot or every open lot by by_ms (buyer).",
)
cancel = _command_route(
    "cancel",
    wire.ReasonBody,
    lambda r, p, b: CancelAuction(actor=p.actor, at=0, reason=b.reason),
    "Cancel the auction with a reason (buyer).",
)
void_bid = _command_route(
    "void_bid",
    wire.ReasonBody,
    lambda r, p, b: VoidBid(actor=p.actor, at=0, bid_id=r.path_params["bid_id"], reason=b.reason),
    "Void a bid with a reason; ranks are recomputed and everyone is told (buyer).",
)
award = _command_route(
    "award",
    wire.AwardBody,
    lambda r, p, b: AwardLot(
        actor=p.actor, at=0, lot_id=_lot(r), bid_id=b.bid_id, reason=b.reason
    ),
    "Award a closed lot: the lowest valid bid, or the buyer's choice with a reason (buyer).",
)


accept_terms = _command_route(
    "accept_terms",
    wire.TermsBody,
    lambda r, p, b: AcceptTerms(actor=p.actor, at=0, terms_hash=b.terms_hash),
    "Accept the auction's terms, named by their hash (the view's `terms.hash`), before bidding "
    "(invited supplier); accepting them again is answered as done.",
)
approve_award = _command_route(
    "approve_award",
    wire.ApprovalBody,
    lambda r, p, b: ApproveAward(
        actor=p.actor, at=0, lot_id=_lot(r), approve=b.approve, reason=b.reason
    ),
    "Approve a lot's award proposed above the approval threshold, or decline it with a reason "
    "(a buyer user other than the one who proposed it).",
)


def _bid_failure(bid_id: str, failure: wire.Failure, detail: str) -> Response:
    """A bid the server could not take, answered as the live room answers it (``bid_result``)."""
    answer = wire.bid_failed(bid_id, failure, detail)
    metrics.bid_answered(answer.status, answer.reason)
    return JSON(answer, status_code=wire.failure_status(failure))


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
        metrics.bid_answered(answer.status, answer.reason)
        status = wire.rejection_status(wire.RATE_LIMITED)
        return JSON(answer, status_code=status, headers=wire.retry_after_header(answer))
    try:
        room = await _room(request, principal)
        await _counted_from_the_start(request, room, principal)
    except ApiError as exc:
        if exc.failure is not wire.Failure.JOURNAL_UNAVAILABLE:
            raise
        return _bid_failure(body.bid_id, exc.failure, "not acknowledged; resend the same bid_id")
    command = wire.bid_command(principal.actor, body)
    result = await room.submit(command)
    answer = wire.bid_result(
        command.bid_id, result, lambda seq: room.cursors.at(principal.actor, seq)
    )
    metrics.bid_answered(answer.status, answer.reason)
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
    return JSON(ServerTime(server_time=request.app.state.services.now_ms()))


server_time.answer = {200: ServerTime}


# ------------------------------------------------------------------------------ framework errors


def _allowed_methods(request: Request) -> str:
    """Every method of the request's path: a route is registered per method, and Starlette's 405
    names only the first route whose path matched."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _http_exception(request: Request, exc: HTTPException) -> Response:
    """Starlette's own errors (no such route: 404, wrong method: 405) as our Problems."""
    failure = wire.failure_for_status(exc.status_code)
    detail = exc.detail if exc.status_code < 500 else ""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return ProblemJSON(
        wire.problem(failure.value, exc.status_code, detail),
        status_code=exc.status_code,
        headers=headers,
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    """A bug: a 500 Problem that says nothing of it (the traceback goes to the server's log, as
    Starlette re-raises the exception to the server once this response is sent)."""
    return ProblemJSON(wire.problem_for_failure(wire.Failure.INTERNAL), status_code=500)


EXCEPTION_HANDLERS = {HTTPException: _http_exception, Exception: _unhandled}


ROUTES = [
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
    Route("/api/auctions/{auction_id}/presence", handler(supplier_presence), methods=["GET"]),
    Route("/api/auctions/{auction_id}/terms/acceptance", handler(accept_terms), methods=["POST"]),
    Route("/api/auctions/{auction_id}/lots/{lot_id}/award/approval", handler(approve_award),
          methods=["POST"]),
]
