"""Every message that crosses the wire, and the one place where outcomes become wire codes.

Client messages are a tagged union decoded by one decoder; server messages are built here and
encoded once (per audience, not per socket). Rejections from the engine and failures of the shell
map to HTTP statuses and WebSocket close codes in the tables at the bottom, so no handler invents
its own codes and no internal detail leaks to a client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

import msgspec

from .engine.formats import EventConfig
from .engine.tender.values import TenderConfig
from .engine.rejections import Reason, Rejection
from .engine.terms import TermsHash
from .engine.reverse.commands import PlaceBid
from .engine.values import Actor, Id, Name, Text
from .failures import UNREADABLE, Failure
from .runtime.outcome import Result
from .runtime.presence import NEVER_SEEN, Seen

__all__ = ["UNREADABLE", "Failure"]  # and every message, body and mapping below

# --------------------------------------------------------------------------------------------
# Client -> server (WebSocket)


class _ClientMessage(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type"
):
    pass


class BidMessage(_ClientMessage, tag="bid"):
    bid_id: Id  # client-generated (a UUID); resending it never makes a second bid
    lot_id: Id
    amount: int  # minor units of the auction's currency
    confirm: bool = False  # confirms a drop beyond the fat-finger guard
    on_behalf_of: Id | None = None  # buyers only: a phone-in bid for this supplier


class PingMessage(_ClientMessage, tag="ping"):
    """Clock sync: the server answers with its time; offset = server_time - (sent + received) / 2."""

    client_time: float  # the client's clock when sent (ms); echoed back untouched


ClientMessage = BidMessage | PingMessage

_client_decoder = msgspec.json.Decoder(ClientMessage)


def decode_client_message(data: bytes | str) -> ClientMessage:
    """Raises one of ``failures.UNREADABLE`` for anything malformed or unknown."""
    return _client_decoder.decode(data)


# --------------------------------------------------------------------------------------------
# Server -> client (WebSocket). Views and redacted events are plain data built by the engine.


class _ServerMessage(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class Welcome(_ServerMessage, tag="welcome"):
    """First message after the handshake: who you are, the server clock, and your snapshot."""

    auction_id: str
    role: str
    party: str
    server_time: int  # ms epoch
    seq: int  # the snapshot reflects every event up to this sequence number
    view: Any  # what every participant of your role sees
    you: Any = None  # suppliers: your alias, best bid, exact rank and award per lot


class Update(_ServerMessage, tag="update"):
    """What changed in first_seq..seq, then the resulting view (and, for a supplier, ``you``).

    ``events`` omits events the audience must not see and, for suppliers and observers, other
    suppliers' accepted bids (the view shows their effect), so sequence numbers in it have gaps;
    the client keeps ``seq`` and resumes from it after a reconnect.
    """

    first_seq: int
    seq: int
    server_time: int
    events: list[Any]
    view: Any
    you: Any = None


class BidResult(_ServerMessage, tag="bid_result"):
    bid_id: str
    status: str  # "accepted" | "rejected"
    seq: int | None = None  # the sequence number of the accepted bid's event
    rank: int | None = None  # the supplier's rank on the lot after the bid
    duplicate: bool = False  # a resend of an already decided bid id
    reason: str | None = None
    detail: str = ""
    max_amount: int | None = None
    retry_after_ms: int | None = None  # rate_limited: resend the same bid_id after this long


class SupplierPresence(msgspec.Struct, frozen=True):
    supplier: Annotated[str, msgspec.Meta(description="The invited supplier's id")]
    online: Annotated[bool, msgspec.Meta(
        description="Whether the supplier has a live room of this auction open now (on any "
        "server process)"
    )]
    last_seen: Annotated[int | None, msgspec.Meta(
        description="Online: `server_time`. Offline: when its last live room closed, "
        "milliseconds since the Unix epoch on the server's clock; null: not seen (or not for a "
        "week)"
    )]


class Presence(_ServerMessage, tag="presence"):
    """Every invited supplier's live-room status, in the order they were invited: sent to the
    buyer's live room (after its welcome, then on every change) and answered by `GET
    /api/auctions/{auction_id}/presence`. Never to suppliers (who must not learn who else takes
    part) nor observers."""

    server_time: Annotated[int, msgspec.Meta(
        description="The server's clock when this was made, milliseconds since the Unix epoch"
    )]
    suppliers: list[SupplierPresence]


def presence(server_time: int, invited: Iterable[str], seen: Mapping[str, Seen]) -> Presence:
    """The presence message for the ``invited`` suppliers, from what the tracker knows."""
    suppliers = []
    for supplier in invited:
        online, left_at = seen.get(supplier, NEVER_SEEN)
        suppliers.append(SupplierPresence(supplier, online, server_time if online else left_at))
    return Presence(server_time=server_time, suppliers=suppliers)


class Pong(_ServerMessage, tag="pong"):
    client_time: float
    server_time: int


class ErrorMessage(_ServerMessage, tag="error"):
    reason: str
    detail: str = ""


_server_encoder = msgspec.json.Encoder()


def encode(message: Any) -> bytes:
    return _server_encoder.encode(message)


# --------------------------------------------------------------------------------------------
# HTTP request bodies


class _Body(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class CreateAuctionBody(_Body):
    config: EventConfig


class ConfigBody(_Body):
    config: EventConfig


class TenderConfigBody(_Body):
    """A sealed tender's configuration, decoded alone so that its ``format`` tag is optional."""

    config: TenderConfig


class InviteBody(_Body):
    supplier: Id
    name: Name = ""


class ReasonBody(_Body):
    reason: Text = ""


class ExtendBody(_Body):
    by_ms: int
    lot_id: Id | None = None
    reason: Text = ""


class BidBody(_Body):
    bid_id: Id
    lot_id: Id
    amount: int
    confirm: bool = False
    on_behalf_of: Id | None = None


def bid_command(actor: Actor, bid: BidMessage | BidBody) -> PlaceBid:
    """The engine command for a bid from a socket or the HTTP API. The actor comes from the
    verified token, never from the message; ``at`` is stamped by the room."""
    return PlaceBid(
        actor=actor,
        at=0,
        lot_id=bid.lot_id,
        amount=bid.amount,
        bid_id=bid.bid_id,
        confirm=bid.confirm,
        on_behalf_of=bid.on_behalf_of,
    )


class AwardBody(_Body):
    bid_id: Id | None = None
    reason: Text = ""


class TermsBody(_Body):
    """A supplier's acceptance of the event's terms (``engine.terms``)."""

    terms_hash: TermsHash


class ApprovalBody(_Body):
    """Another buyer user's verdict on a proposed award (``engine.approval``)."""

    approve: Annotated[bool, msgspec.Meta(description=(
        "true: the proposed award is made; false: it is declined (a `reason` is needed) and the "
        "award is decided again"))]
    reason: Text = ""


class DevTokenBody(_Body):
    """Development sign-in (``http/session.py``): who the token says the caller is."""

    role: Annotated[Literal["buyer", "supplier", "observer", "platform"], msgspec.Meta(
        description="The token's role"
    )]
    org: Annotated[Id, msgspec.Meta(
        description="The party: the buyer organisation, the supplier id, or for an observer the "
        "buyer organisation it watches"
    )]
    name: Annotated[Name, msgspec.Meta(description="Display name (e.g. a supplier's legal name)")] = ""
    user: Annotated[Id | None, msgspec.Meta(description="The user (`sub`); absent: `org`")] = None


# --------------------------------------------------------------------------------------------
# Failures (``bidserver.failures``) and rejections as wire codes


PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:bidserver:problem:"  # + the reason: one problem type per reason


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The body of every HTTP error, RFC 9457 problem details (``application/problem+json``),
    from the API and the live room's handshake alike.

    ``reason`` (an extension member) is the machine-readable code, the same a live room's
    ``bid_result`` and ``error`` carry; ``type`` is it as a URI (not meant to be fetched), so a
    client can switch on either. ``error`` repeats ``reason`` for clients written against 0.2,
    whose documented error body was ``{"error", "detail"}``. Members that do not apply are left
    out (omit_defaults), never sent as ``null``.
    """

    type: Annotated[str, msgspec.Meta(
        description="The problem type: `urn:bidserver:problem:<reason>` (a name, not a link)."
    )]
    title: Annotated[str, msgspec.Meta(
        description="A short summary of the problem type (the reason in words)."
    )]
    status: Annotated[int, msgspec.Meta(description="The HTTP status code of the response.")]
    reason: Annotated[str, msgspec.Meta(
        description="The machine-readable reason, as in the live room's messages."
    )]
    error: Annotated[str, msgspec.Meta(
        description="The same as `reason`: kept for clients of bidserver 0.2."
    )]
    detail: Annotated[str, msgspec.Meta(
        description="What went wrong with this request, safe to show; absent when nothing "
        "more than the reason is said."
    )] = ""
    max_amount: Annotated[int | None, msgspec.Meta(
        description="Price refusals only: the highest amount that would be accepted, in minor "
        "units of the auction's currency."
    )] = None
    field: Annotated[str | None, msgspec.Meta(
        description="Where in the request body the refused value is, as a path "
        "(`config.lots[0].reserve`): a form shows the refusal next to that field. Absent when "
        "the refusal is not about one value."
    )] = None


def problem(
    reason: str, status: int, detail: str = "", max_amount: int | None = None,
    field: str | None = None,
) -> Problem:
    """The Problem for a reason (a ``Failure`` or a ``Reason``) answered with ``status``."""
    return Problem(
        type=PROBLEM_TYPE + reason,
        title=reason.replace("_", " ").capitalize(),
        status=status,
        reason=reason,
        error=reason,
        detail=detail,
        max_amount=max_amount,
        field=field,
    )


_REJECTION_STATUS: dict[Reason, int] = {
    Reason.FORBIDDEN: 403,
    Reason.NOT_INVITED: 403,
    Reason.UNKNOWN_AUCTION: 404,
    Reason.UNKNOWN_LOT: 404,
    Reason.UNKNOWN_BID: 404,
    Reason.UNKNOWN_SUPPLIER: 404,
    Reason.INVALID_CONFIG: 422,
    Reason.INVALID_AMOUNT: 422,
    Reason.INVALID_EXTENSION: 422,
    Reason.REASON_REQUIRED: 422,
    Reason.RATE_LIMITED: 429,
    Reason.UNKNOWN_QUESTION: 404,
    Reason.UNKNOWN_COMPLAINT: 404,
    Reason.NOT_SEALED: 422,
    Reason.COMMITMENT_MISMATCH: 422,
    Reason.BAD_SIGNATURE: 422,
    Reason.NO_SIGNING_KEY: 422,
    Reason.SIGNATURE_REQUIRED: 422,
    Reason.INVALID_SHARE: 422,
    Reason.INVALID_SCORE: 422,
    Reason.SAME_USER: 403,  # four eyes: another user must approve
    # the supplier registry (engine/admission; the rest, like supplier_not_eligible, are 409)
    Reason.NOT_REGISTERED: 404,
    Reason.UNKNOWN_DOCUMENT: 404,
    Reason.UNKNOWN_RESTRICTION: 404,
    Reason.UNKNOWN_APPEAL: 404,
    Reason.INVALID_REGISTRATION: 422,
    Reason.INVALID_IDENTIFIER: 422,
    Reason.UNKNOWN_CATEGORY: 422,
    Reason.INVALID_PERIOD: 422,
    Reason.INVALID_RATING: 422,
    Reason.SUPPLIER_RESTRICTED: 403,
    Reason.DECLARATION_REQUIRED: 403,
    Reason.CONFLICTED: 403,
}

_FAILURE_STATUS: dict[Failure, int] = {
    Failure.MISSING_TOKEN: 401,
    Failure.INVALID_TOKEN: 401,
    Failure.EXPIRED_TOKEN: 401,
    Failure.BAD_ROLE: 403,
    Failure.ORIGIN_NOT_ALLOWED: 403,
    Failure.HOST_NOT_ALLOWED: 421,
    Failure.TOO_MANY_CONNECTIONS: 429,
    Failure.UNKNOWN_AUCTION: 404,
    Failure.NOT_FOUND: 404,
    Failure.METHOD_NOT_ALLOWED: 405,
    Failure.BAD_REQUEST: 400,
    Failure.MESSAGE_TOO_BIG: 413,
    Failure.JOURNAL_UNAVAILABLE: 503,
    Failure.WRITER_UNAVAILABLE: 503,
    Failure.JOURNAL_BROKEN: 503,
    Failure.LAGGING: 503,
    Failure.SHUTTING_DOWN: 503,
    Failure.NOT_DECIDED: 503,
    Failure.INTERNAL: 500,
}

# WebSocket close codes (4000-4999 are the application's own; the HTTP-like last digits help).
_FAILURE_CLOSE: dict[Failure, int] = {
    Failure.MISSING_TOKEN: 4401,
    Failure.INVALID_TOKEN: 4401,
    Failure.EXPIRED_TOKEN: 4401,
    Failure.BAD_ROLE: 4403,
    Failure.ORIGIN_NOT_ALLOWED: 4403,
    Failure.HOST_NOT_ALLOWED: 4421,
    Failure.TOO_MANY_CONNECTIONS: 4429,
    Failure.UNKNOWN_AUCTION: 4404,
    Failure.NOT_FOUND: 4404,
    Failure.METHOD_NOT_ALLOWED: 4405,
    Failure.BAD_REQUEST: 1003,
    Failure.MESSAGE_TOO_BIG: 1009,
    Failure.JOURNAL_UNAVAILABLE: 1013,
    Failure.WRITER_UNAVAILABLE: 1013,
    Failure.JOURNAL_BROKEN: 1011,
    Failure.LAGGING: 4408,
    Failure.SHUTTING_DOWN: 1012,
    Failure.NOT_DECIDED: 1013,
    Failure.INTERNAL: 1011,
}


def rejection_status(rejection: Rejection) -> int:
    """Refusals the client could not have known about are conflicts with the auction's state."""
    return _REJECTION_STATUS.get(rejection.reason, 409)


def failure_status(failure: Failure) -> int:
    return _FAILURE_STATUS[failure]


def failure_close_code(failure: Failure) -> int:
    return _FAILURE_CLOSE[failure]


def rejection_close_code(rejection: Rejection) -> int:
    """A live room closed on the format's refusal (``Format.live_refusal``): 4000 + its status,
    as the failures' codes are (4403 for a refused participant)."""
    return 4000 + rejection_status(rejection)


# Errors the HTTP framework raises by status (an unknown route, a wrong method), as our reasons.
_STATUS_FAILURE: dict[int, Failure] = {
    400: Failure.BAD_REQUEST,
    404: Failure.NOT_FOUND,
    405: Failure.METHOD_NOT_ALLOWED,
    413: Failure.MESSAGE_TOO_BIG,
}


def failure_for_status(status: int) -> Failure:
    """The reason for an HTTP status the framework chose, so its errors carry ours too."""
    if status in _STATUS_FAILURE:
        return _STATUS_FAILURE[status]
    return Failure.INTERNAL if status >= 500 else Failure.BAD_REQUEST


def problem_for_failure(failure: Failure, detail: str = "", field: str | None = None) -> Problem:
    return problem(failure.value, failure_status(failure), detail, field=field)


def problem_for_rejection(rejection: Rejection) -> Problem:
    return problem(
        rejection.reason.value, rejection_status(rejection), rejection.detail,
        rejection.max_amount, rejection.field,
    )


_AT_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def unreadable_field(error: Exception) -> str | None:
    """The path of the value msgspec could not read (``... - at `$.config.lots[0].ceiling```),
    as ``Problem.field`` names it (``config.lots[0].ceiling``); None for the body as a whole."""
    match = _AT_PATH.search(str(error))
    return match["path"] or None if match else None


def bid_rejected(bid_id: str, rejection: Rejection, *, duplicate: bool = False) -> BidResult:
    return BidResult(
        bid_id=bid_id,
        status="rejected",
        reason=str(rejection.reason),
        detail=rejection.detail,
        max_amount=rejection.max_amount,
        retry_after_ms=rejection.retry_after_ms,
        duplicate=duplicate,
    )


def bid_failed(bid_id: str, failure: Failure, detail: str = "") -> BidResult:
    return BidResult(bid_id=bid_id, status="rejected", reason=str(failure), detail=detail)


# What the server could not do with a well-formed bid; for each, the bid was either not decided
# or its outcome is unknown here, and a resend of the same bid_id is decided at most once
# (docs/protocol.md, "Resending").
_RESEND = (Failure.JOURNAL_UNAVAILABLE, Failure.WRITER_UNAVAILABLE, Failure.NOT_DECIDED)


def bid_result(
    bid_id: str, result: Result, cursor: Callable[[int], int] | None = None
) -> BidResult:
    """The answer to a bid, for whoever placed it (a supplier, or a buyer on its behalf), from a
    socket or over HTTP: the runtime's ``Result`` carries everything it says. ``cursor`` numbers
    the bid's seq as its sender counts events (``runtime.cursors``: a supplier must not learn
    from it how many others bid)."""
    if result.failure is not None:
        detail = "not acknowledged; resend the same bid_id" if result.failure in _RESEND else ""
        return bid_failed(bid_id, result.failure, detail)
    if result.rejection is not None:
        return bid_rejected(bid_id, result.rejection)
    standing = result.receipt
    return BidResult(
        bid_id=bid_id,
        status="accepted",
        seq=standing.seq if cursor is None else cursor(standing.seq),
        rank=standing.rank,
        duplicate=not result.events,
    )


RATE_LIMITED = Rejection(reason=Reason.RATE_LIMITED)


def rate_limited(bid_id: str, retry_after_ms: int) -> BidResult:
    """An edge's rate limit refused a bid before the engine saw it: the same code as the
    engine's own limit (``Reason.RATE_LIMITED``) and the same answer, a ``bid_result`` naming the
    bid and when to resend it, so a client with several bids in flight handles both alike."""
    rejection = Rejection(
        reason=Reason.RATE_LIMITED,
        detail="too many messages; resend the same bid_id later",
        retry_after_ms=retry_after_ms,
    )
    return bid_rejected(bid_id, rejection)


def retry_after_header(answer: BidResult) -> dict[str, str]:
    """HTTP's ``Retry-After`` (whole seconds, at least 1) for an answer that says when to resend."""
    if answer.retry_after_ms is None:
        return {}
    return {"retry-after": str(max(1, -(-answer.retry_after_ms // 1000)))}
