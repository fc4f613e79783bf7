"""The HTTP API's success bodies, as msgspec Structs.

The handlers answer with these, and the OpenAPI document derives its response schemas from the
same types, so the document cannot say one shape while the API sends another. Views and history
rows are the format's own (``engine.format``): an answer carries them as they are, and the
document names the formats' view types.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec

from ..engine.tender.views import TenderView
from ..sealing.receipts import SignedReceipt

View = TypeVar("View")

_MS_EPOCH = "milliseconds since the Unix epoch (UTC), on the server's clock"


class AuctionAnswer(msgspec.Struct, Generic[View], frozen=True):
    """An auction as the caller may see it: what every read and every accepted buyer action
    answers."""

    seq: Annotated[int, msgspec.Meta(
        description="Your cursor at the view: the journal's sequence number for a reverse "
        "auction's buyer and observers; for a supplier, and for everyone in a sealed tender, the "
        "number of events listed to you (docs/protocol.md)"
    )]
    view: Annotated[View, msgspec.Meta(description="Everything the caller may see, per role")]


class ListedAuction(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    auction_id: str
    format: Annotated[str, msgspec.Meta(description="The auction's format: `reverse_auction`")]
    title: str
    phase: Annotated[str, msgspec.Meta(
        description="draft, open, paused, closed or cancelled"
    )]
    created_at: Annotated[int, msgspec.Meta(description=_MS_EPOCH)]
    updated_at: Annotated[int, msgspec.Meta(
        description=f"The last change the listing shows (title, phase, invitations), {_MS_EPOCH}"
    )]
    suppliers: Annotated[list[str] | msgspec.UnsetType, msgspec.Meta(
        description="The invited supplier ids: the buyer's listing only"
    )] = msgspec.UNSET


class AuctionPage(msgspec.Struct, frozen=True):
    """One page of the auctions the caller may list, newest first."""

    auctions: list[ListedAuction]
    next_cursor: Annotated[str | None, msgspec.Meta(
        description="Pass as `?cursor=` for the next page; null: this is the last page"
    )]


class BidHistory(msgspec.Struct, frozen=True):
    seq: Annotated[int, msgspec.Meta(
        description="Your cursor at the history (as `seq` of the view); each row's `seq` too"
    )]
    bids: Annotated[list[dict[str, Any]], msgspec.Meta(
        description="The bids the caller may see, in the order they were placed: the buyer all "
        "with identities, a supplier its own, an observer all under aliases. Amounts in minor "
        f"units, `at` in {_MS_EPOCH}"
    )]


class ServerTime(msgspec.Struct, frozen=True):
    server_time: Annotated[int, msgspec.Meta(description=_MS_EPOCH)]


class Session(msgspec.Struct, frozen=True):
    """How a browser signs in to this server."""

    dev_sign_in: Annotated[bool, msgspec.Meta(
        description="true: `POST /api/dev/tokens` mints a token for any role (the server runs "
        "with its generated key, for development); false: sign in with a token from the "
        "platform in front of the server"
    )]


class DevToken(msgspec.Struct, frozen=True):
    token: Annotated[str, msgspec.Meta(
        description="A JWT: send it as `Authorization: Bearer <token>`, or `?access_token=` on a "
        "live room's URL"
    )]
    expires_at: Annotated[int, msgspec.Meta(description=f"When the token expires, {_MS_EPOCH}")]


class Liveness(msgspec.Struct, frozen=True):
    status: Annotated[str, msgspec.Meta(description="`alive`: the process answers")]


class Readiness(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Whether the server can take traffic; nothing about the auctions (those are metrics)."""

    status: Annotated[str, msgspec.Meta(description="`ready` (200) or `unready` (503)")]
    reason: Annotated[str | msgspec.UnsetType, msgspec.Meta(
        description="Why not ready: `journal_unavailable` (Redis does not answer) or "
        "`recovering` (unfinished auctions still loading after a start)"
    )] = msgspec.UNSET
    timers: Annotated[str | msgspec.UnsetType, msgspec.Meta(
        description="`failing`: an auction's timer keeps failing (logged, retried with back-off); "
        "the process stays ready"
    )] = msgspec.UNSET


class ReceiptedAnswer(msgspec.Struct, frozen=True):
    """A supplier's accepted submission, revision or withdrawal (or a resend of one): the tender
    as it may see it, and the server's signed receipt, given once the event is durable."""

    seq: Annotated[int, msgspec.Meta(description="Your cursor at the view (docs/protocol.md)")]
    view: TenderView
    receipt: Annotated[SignedReceipt, msgspec.Meta(
        description="Keep it: `bidserver receipt verify` checks it against `GET /api/keys/signing`"
    )]


class Receipts(msgspec.Struct, frozen=True):
    receipts: Annotated[list[SignedReceipt], msgspec.Meta(
        description="The caller's receipts in the tender, in the order they were given: each "
        "submission, revision and withdrawal; the same bytes as in the answers"
    )]


class SigningKey(msgspec.Struct, frozen=True):
    """The server's Ed25519 public key: it signs the tenders' receipts and the audit log's tree
    heads."""

    algorithm: Literal["ed25519"]
    key_id: Annotated[str, msgspec.Meta(
        description="What receipts name it by: the first 16 hex digits of SHA-256 of the raw key"
    )]
    public_key: Annotated[str, msgspec.Meta(description="Base64 of the raw 32 bytes")]
    pem: Annotated[str, msgspec.Meta(description="SubjectPublicKeyInfo PEM, as openssl reads it")]
