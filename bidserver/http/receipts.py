"""A tender's signed receipts over HTTP, and the public key that checks them.

Every submission, revision and withdrawal a supplier makes is answered, once durable, with the
server's signed receipt (EU 2014/24/EU Annex IV (a); China's Measures: every accepted file gets a
receipt). ``GET /api/tenders/{id}/receipts`` makes them again from the tender's state and the
journal, so an answer lost on the way loses no receipt: Ed25519 is deterministic, so a receipt
made again is the same bytes.

Only a supplier has receipts, and only its own: a buyer, an officer or an observer is refused
(403), whatever the phase, since before the deadline their number would be the number of bids
(after the opening the tender's history shows every submission). ``GET /api/keys/signing``
publishes the server's public key without a token: anyone, an auditor too, checks a receipt
with it (``bidserver receipt verify``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import wire
from ..auth import Principal
from ..engine.tender.records import TenderReceipt, logged_receipts
from ..engine.values import Role
from ..runtime.auction import Auction
from ..runtime.entry_hashes import entry_hashes
from ..runtime.outcome import Result
from ..sealing import ed25519
from ..sealing.pem import public_b64, public_pem
from ..sealing.receipts import Receipt, ReceiptKind, SignedReceipt, key_id, sign_receipt
from .answers import ReceiptedAnswer, Receipts, SigningKey
from .refused_reads import refused_read
from .routes import JSON, _fail, _principal, _settled, _tender_room, _view, handler, journal_read


async def _signed(
    request: Request, room: Auction, supplier: str, only: TenderReceipt | None = None
) -> list[SignedReceipt]:
    """``supplier``'s receipts in the tender (only the one ``only`` names, if given), each naming
    the chain hash of the journal entry that recorded it."""
    services = request.app.state.services
    logged = logged_receipts(room.state, supplier)
    if only is not None:
        logged = [(seq, r) for seq, r in logged if (r.kind, r.bid_id) == (only.kind, only.bid_id)]
    with journal_read(room.auction_id, "read the receipts' entries of"):
        hashes = await entry_hashes(services.journal, services.archives, room,
                                    [seq for seq, _ in logged])
    private = services.signing_key.private_bytes_raw()
    signer = key_id(ed25519.public_of(private))
    return [
        sign_receipt(private, Receipt(
            bid_id=r.bid_id, commitment=r.commitment, key_id=signer, kind=ReceiptKind(r.kind),
            log_entry=hashes[seq], received_at_ms=r.received_at, supplier=r.supplier,
            tender_id=r.tender_id,
        ))
        for seq, r in logged
    ]


async def receipted_outcome(
    request: Request, room: Auction, result: Result, principal: Principal
) -> Response:
    """The answer to an accepted submission, revision or withdrawal: the view and its receipt
    (``result.receipt`` is the engine's, read once the event was durable)."""
    await _settled(request, room, result, principal)
    engine_receipt: TenderReceipt = result.receipt
    (signed,) = await _signed(request, room, engine_receipt.supplier, only=engine_receipt)
    answer = _view(room, principal)
    return JSON(ReceiptedAnswer(seq=answer.seq, view=answer.view, receipt=signed))


async def tender_receipts(request: Request) -> Response:
    """The caller's own receipts in the tender, again (supplier)."""
    principal = _principal(request)
    room = await _tender_room(request, principal)
    if principal.role is not Role.SUPPLIER:
        raise await refused_read(room, principal, "receipts", _fail(
            wire.Failure.BAD_ROLE, "receipts are the suppliers', each its own"))
    return JSON(Receipts(receipts=await _signed(request, room, principal.party)))


tender_receipts.answer = {200: Receipts}
tender_receipts.refusals = (403,)


async def signing_key(request: Request) -> Response:
    """The server's public signing key, which checks receipts and tree heads (no token)."""
    public = request.app.state.services.signing_key.public_key().public_bytes_raw()
    return JSON(SigningKey(algorithm="ed25519", key_id=key_id(public), public_key=public_b64(public),
                           pem=public_pem("ed25519", public)))


signing_key.answer = {200: SigningKey}

RECEIPT_ROUTES = [
    Route("/api/tenders/{auction_id}/receipts", handler(tender_receipts), methods=["GET"]),
    Route("/api/keys/signing", handler(signing_key), methods=["GET"]),
]
