"""The HTTP API of sealed tenders: create one, and every command of its lifecycle.

A tender is an event like an auction (``GET /api/auctions/{id}`` reads its view, the listing lists
it), but its commands are not the reverse auction's, so they have their own routes under
``/api/tenders``. Creating one has its own route too: ``POST /api/auctions`` decodes the reverse
auction's configuration alone, so its ``format`` tag stays optional for the clients written before
formats; here the body is a ``TenderConfig`` (tag optional as well). Each command route checks
that the event is a tender (else 404, as for an event the caller may not see) and hands the
command to its room, the one writer; the engine refuses whoever may not give it (a supplier's
answer, a buyer's bid) with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import wire
from ..auth import Principal
from ..engine.tender.commands import (
    AnswerQuestion, AskQuestion, CancelTender, ChangeDocuments, Complaint, ConfirmBid,
    DecideAward, DeclareInterests, InviteSupplier, PresentShare, Publish, Qualification, Qualify,
    ResolveComplaint, ReviseBid, Score, SubmitBid, WithdrawBid,
)
from ..engine.tender.commands import AcceptTerms, ApproveAward
from ..engine.tender.values import BASE64, Digest
from ..engine.tender.views import TenderView
from ..engine.values import Id, Role, Text
from .answers import AuctionAnswer, ReceiptedAnswer
from .follow_on import FOLLOW_ON_ROUTES
from .receipts import receipted_outcome
from .routes import (
    _COMMAND_REFUSALS, Check, _body, _invitee_admitted, _outcome, _principal, _tender_room,
    admitted, create_event, handler,
)


class DocumentsBody(wire._Body):
    documents_hash: Digest
    submission_deadline_at: Annotated[int, msgspec.Meta(ge=0)] | None = None
    opening_at: Annotated[int, msgspec.Meta(ge=0)] | None = None


class QuestionBody(wire._Body):
    question_id: Annotated[Id, msgspec.Meta(description="The asker's own id for its question")]
    text: Text


class AnswerBody(wire._Body):
    supplier: Annotated[Id, msgspec.Meta(description="Who asked (never published)")]
    answer: Text


_SEALED = msgspec.Meta(
    description="The bid sealed to the tender's public key (base64)", extra_json_schema=BASE64
)
_COMMITMENT = msgspec.Meta(
    pattern=r"^sha256:[0-9a-f]{64}$", description="`sha256:<hex>` of the sealed bytes"
)


# A signature or a public key of a suite: Ed25519's are 64 and 32 bytes; a national suite's
# (SM2) are larger, and none near this bound.
_KEY_OR_SIGNATURE = 512


class SealedBidBody(wire._Body):
    bid_id: Annotated[Id, msgspec.Meta(description="Resending it never makes a second bid")]
    sealed: Annotated[bytes, _SEALED]
    commitment: Annotated[str, _COMMITMENT]
    signature: Annotated[bytes, msgspec.Meta(
        min_length=1, max_length=_KEY_OR_SIGNATURE, extra_json_schema=BASE64, description=(
            "Optional: the supplier's signature (base64; Ed25519: 64 bytes) with its registered "
            "signing key over `bidserver/bid-signature/v1`, a newline and the canonical JSON of "
            "`{bid_id, commitment, supplier, tender_id}` (keys sorted, no whitespace). Checked at "
            "submission and shown in the opening record"))] | None = None


class TenderInviteBody(wire.InviteBody):
    """A tender's invitation: the reverse auction's, with the supplier's signing key."""

    signing_key: Annotated[bytes, msgspec.Meta(
        min_length=1, max_length=_KEY_OR_SIGNATURE, extra_json_schema=BASE64, description=(
            "Optional: the public signing key registered for the supplier's organisation, raw, "
            "base64 (Ed25519: 32 bytes): its bids may be signed with it"))] | None = None


class ConfirmBody(wire._Body):
    documents_hash: Digest


class ShareBody(wire._Body):
    share: Annotated[str, msgspec.Meta(
        min_length=1, max_length=4096, description="The officer's key share, as its text"
    )]


class QualifyBody(wire._Body):
    supplier: Id
    status: Qualification
    reason: Text = ""


class ScoreBody(wire._Body):
    supplier: Id
    criterion: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    score: Annotated[int, msgspec.Meta(ge=0, le=100)]


class DeclarationBody(wire._Body):
    conflict: Annotated[bool, msgspec.Meta(description=(
        "Whether you have a conflict of interest in this tender (an interest in a bidder): "
        "`true` removes you from its work for good"))]
    statement: Annotated[Text, msgspec.Meta(description=(
        "Your declaration in your words; with a conflict, what it is"))]


class ComplaintBody(wire._Body):
    complaint_id: Id
    text: Text


class ResolveBody(wire._Body):
    supplier: Annotated[Id, msgspec.Meta(description="Who complained")]
    upheld: bool
    resolution: Text


async def create_tender(request: Request) -> Response:
    """Create a sealed tender in DRAFT (buyers only); it is read at /api/auctions/{id}."""
    return await create_event(request, wire.TenderConfigBody)


create_tender.body_type = wire.TenderConfigBody
create_tender.answer = {201: AuctionAnswer[TenderView]}
create_tender.refusals = (403, 422, 503)


def _tender_route(
    name: str, body_type: type | None, build: Callable[[Request, Principal, Any], Any], doc: str,
    *, receipted: bool = False, check: Check | None = None,
) -> Callable:
    """A tender command: the engine decides who may give it. ``receipted``: a submission,
    revision or withdrawal, answered with its signed receipt too (``http.receipts``).
    ``check``: the edge's own word first (the supplier registry's)."""
    outcome = receipted_outcome if receipted else _outcome

    async def endpoint(request: Request) -> Response:
        principal = _principal(request)
        room = await _tender_room(request, principal)
        body = await _body(request, body_type) if body_type is not None else None
        if check is not None:
            await check(request, room, principal, body)
        result = await room.submit(build(request, principal, body))
        return await outcome(request, room, result, principal)

    endpoint.__name__ = name  # the operationId in the OpenAPI document
    endpoint.__doc__ = doc
    endpoint.body_type = body_type
    endpoint.answer = {200: ReceiptedAnswer if receipted else AuctionAnswer[TenderView]}
    endpoint.refusals = _COMMAND_REFUSALS
    return endpoint


async def _bidder_admitted(request: Request, room: Any, principal: Principal, body: Any) -> None:
    """An invited supplier's bid or revision: the registry's standing now, which may have changed
    since its invitation (a restriction, a certificate expired) before the event was told."""
    if principal.role is Role.SUPPLIER and principal.party in room.state.suppliers:
        await admitted(request, room, principal, principal.party)


def _path(request: Request, name: str) -> str:
    return request.path_params[name]


publish = _tender_route(
    "publish_tender", None, lambda r, p, b: Publish(actor=p.actor, at=0),
    "Publish a draft tender: its profile's time limits are checked from now (buyer).",
)
change_documents = _tender_route(
    "change_documents", DocumentsBody,
    lambda r, p, b: ChangeDocuments(
        actor=p.actor, at=0, documents_hash=b.documents_hash,
        submission_deadline_at=b.submission_deadline_at, opening_at=b.opening_at,
    ),
    "New tender documents: every bid already in must be confirmed against them (buyer).",
)
invite_supplier = _tender_route(
    "invite_tender_supplier", TenderInviteBody,
    lambda r, p, b: InviteSupplier(actor=p.actor, at=0, supplier=b.supplier, name=b.name,
                                   signing_key=b.signing_key),
    "Invite a supplier to the tender, with its organisation's registered signing key if it has "
    "one (buyer). Refused 409 `supplier_not_eligible` when the supplier registry says it may not "
    "take part in an event of this category now.",
    check=_invitee_admitted,
)
ask_question = _tender_route(
    "ask_question", QuestionBody,
    lambda r, p, b: AskQuestion(actor=p.actor, at=0, question_id=b.question_id, text=b.text),
    "Ask a clarification question before the enquiries end (invited supplier).",
)
answer_question = _tender_route(
    "answer_question", AnswerBody,
    lambda r, p, b: AnswerQuestion(
        actor=p.actor, at=0, supplier=b.supplier, question_id=_path(r, "question_id"),
        answer=b.answer,
    ),
    "Answer a question: published to every participant without the asker's name (buyer).",
)
submit_bid = _tender_route(
    "submit_sealed_bid", SealedBidBody,
    lambda r, p, b: SubmitBid(
        actor=p.actor, at=0, bid_id=b.bid_id, sealed=b.sealed, commitment=b.commitment,
        signature=b.signature,
    ),
    "Submit a sealed bid before the deadline (invited supplier); a late one is refused and "
    "recorded. The answer carries the server's signed receipt.", receipted=True,
    check=_bidder_admitted,
)
revise_bid = _tender_route(
    "revise_sealed_bid", SealedBidBody,
    lambda r, p, b: ReviseBid(
        actor=p.actor, at=0, bid_id=b.bid_id, replaces=_path(r, "bid_id"), sealed=b.sealed,
        commitment=b.commitment, signature=b.signature,
    ),
    "Replace the supplier's bid {bid_id} with the new sealed bid `bid_id` before the deadline "
    "(supplier). The answer carries the server's signed receipt.", receipted=True,
    check=_bidder_admitted,
)
withdraw_bid = _tender_route(
    "withdraw_sealed_bid", None,
    lambda r, p, b: WithdrawBid(actor=p.actor, at=0, bid_id=_path(r, "bid_id")),
    "Withdraw the supplier's bid before the deadline (supplier). The answer carries the "
    "server's signed receipt.", receipted=True,
)
confirm_bid = _tender_route(
    "confirm_sealed_bid", ConfirmBody,
    lambda r, p, b: ConfirmBid(
        actor=p.actor, at=0, bid_id=_path(r, "bid_id"), documents_hash=b.documents_hash
    ),
    "Confirm that the bid stands on the changed documents; an unconfirmed bid is not opened "
    "(supplier).",
)
present_share = _tender_route(
    "present_share", ShareBody,
    lambda r, p, b: PresentShare(actor=p.actor, at=0, share=b.share),
    "Present an opening officer's key share at or after the opening time; k of them open every "
    "bid (officer).",
)
qualify = _tender_route(
    "qualify_bid", QualifyBody,
    lambda r, p, b: Qualify(
        actor=p.actor, at=0, supplier=b.supplier, status=b.status, reason=b.reason
    ),
    "Declare an opened bid valid, or disqualified with a reason (buyer).",
)
score = _tender_route(
    "score_bid", ScoreBody,
    lambda r, p, b: Score(
        actor=p.actor, at=0, supplier=b.supplier, criterion=b.criterion, score=b.score
    ),
    "Score a bid (0-100) on a quality criterion (evaluator).",
)
decide_award = _tender_route(
    "decide_award", None, lambda r, p, b: DecideAward(actor=p.actor, at=0),
    "Rank by the published formula, name each lot's best valid bid, start the standstill "
    "(buyer).",
)
complain = _tender_route(
    "complain", ComplaintBody,
    lambda r, p, b: Complaint(actor=p.actor, at=0, complaint_id=b.complaint_id, text=b.text),
    "File a complaint during the standstill: it holds the standstill (bidder).",
)
resolve_complaint = _tender_route(
    "resolve_complaint", ResolveBody,
    lambda r, p, b: ResolveComplaint(
        actor=p.actor, at=0, supplier=b.supplier, complaint_id=_path(r, "complaint_id"),
        upheld=b.upheld, resolution=b.resolution,
    ),
    "Resolve a complaint: upheld withdraws the award decision, otherwise the standstill goes on "
    "(buyer).",
)
declare_interests = _tender_route(
    "declare_interests", DeclarationBody,
    lambda r, p, b: DeclareInterests(actor=p.actor, at=0, conflict=b.conflict,
                                     statement=b.statement),
    "Declare your interests in the tender, once (an opening officer or evaluator it names). "
    "Until you declare no conflict, your key share, qualifications and scores are refused "
    "(403 `declaration_required`) and the opened bids are withheld from you; a conflict removes "
    "you from its work (403 `conflicted`).",
)
cancel_tender = _tender_route(
    "cancel_tender", wire.ReasonBody,
    lambda r, p, b: CancelTender(actor=p.actor, at=0, reason=b.reason),
    "Cancel the tender with a reason, at any stage before it ends (buyer).",
)

accept_tender_terms = _tender_route(
    "accept_tender_terms", wire.TermsBody,
    lambda r, p, b: AcceptTerms(actor=p.actor, at=0, terms_hash=b.terms_hash),
    "Accept the tender's terms, named by their hash (the view's `terms.hash`), before bidding "
    "(invited supplier); accepting them again is answered as done.",
)
approve_tender_award = _tender_route(
    "approve_tender_award", wire.ApprovalBody,
    lambda r, p, b: ApproveAward(actor=p.actor, at=0, approve=b.approve, reason=b.reason),
    "Approve the award decision proposed above the approval threshold (the standstill starts "
    "then), or decline it with a reason (a buyer user other than the one who proposed it).",
)

_T = "/api/tenders/{auction_id}"
TENDER_ROUTES = [
    Route("/api/tenders", handler(create_tender), methods=["POST"]),
    Route(f"{_T}/publish", handler(publish), methods=["POST"]),
    Route(f"{_T}/documents", handler(change_documents), methods=["POST"]),
    Route(f"{_T}/invitations", handler(invite_supplier), methods=["POST"]),
    Route(f"{_T}/questions", handler(ask_question), methods=["POST"]),
    Route(f"{_T}/questions/{{question_id}}/answer", handler(answer_question), methods=["POST"]),
    Route(f"{_T}/bids", handler(submit_bid), methods=["POST"]),
    Route(f"{_T}/bids/{{bid_id}}/revision", handler(revise_bid), methods=["POST"]),
    Route(f"{_T}/bids/{{bid_id}}/withdrawal", handler(withdraw_bid), methods=["POST"]),
    Route(f"{_T}/bids/{{bid_id}}/confirmation", handler(confirm_bid), methods=["POST"]),
    Route(f"{_T}/shares", handler(present_share), methods=["POST"]),
    Route(f"{_T}/qualifications", handler(qualify), methods=["POST"]),
    Route(f"{_T}/scores", handler(score), methods=["POST"]),
    Route(f"{_T}/award", handler(decide_award), methods=["POST"]),
    *FOLLOW_ON_ROUTES,  # POST {_T}/auction: the follow-on auction (EU Art. 35)
    Route(f"{_T}/complaints", handler(complain), methods=["POST"]),
    Route(f"{_T}/complaints/{{complaint_id}}/resolution", handler(resolve_complaint),
          methods=["POST"]),
    Route(f"{_T}/cancel", handler(cancel_tender), methods=["POST"]),
    Route(f"{_T}/terms/acceptance", handler(accept_tender_terms), methods=["POST"]),
    Route(f"{_T}/award/approval", handler(approve_tender_award), methods=["POST"]),
    Route(f"{_T}/declarations", handler(declare_interests), methods=["POST"]),
]
