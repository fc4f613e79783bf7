"""``POST /api/tenders/{id}/auction``: the tender goes on as a live reverse auction (EU 2014/24/EU
Art. 35; ``engine.tender.follow_on`` says what is decided and why).

Two events, two rooms: the tender decides and records the auction (``FollowOnAuctionStarted``:
its id, configuration with the opening bids, and invitees), and then this edge carries that
record out on the existing auction format, through the same registry ``POST /api/auctions``
uses: create the auction under its derived id, invite every qualified bidder with its name, and
start it (unless its rules schedule the start). Each step is done only if not done yet, reading
the auction first, so a retried request (a lost answer, a crash between the steps) completes the
same auction and never creates a second one: the tender's record is the single source, and the
auction's id is the tender's with ``-auction``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import wire
from ..auth import Principal
from ..engine.rejections import Reason
from ..engine.reverse.commands import InviteSupplier, StartAuction
from ..engine.reverse.state import Phase as AuctionPhase
from ..engine.tender.actions import permission_refusal
from ..engine.tender.commands import StartFollowOnAuction
from ..engine.tender.events import FollowOnAuctionStarted
from ..engine.tender.values import FollowOnRules
from ..engine.values import Role
from ..runtime.auction import Auction
from .answers import AuctionAnswer
from .routes import (
    _COMMAND_REFUSALS, JSON, _body, _loaded, _principal, _refused, _settled, _tender_room, _view,
    handler,
)


class FollowOnBody(wire._Body):
    rules: FollowOnRules


async def _carry_out(request: Request, principal: Principal, started: FollowOnAuctionStarted) -> Auction:
    """Create, invite and start the auction the tender recorded, each step once."""
    rooms = request.app.state.services.rooms
    room = await _loaded(request, started.auction_id)
    if room is None:
        room, result = await rooms.create(principal.actor, started.config, started.auction_id)
        if room is None:
            if result.rejection is None or result.rejection.reason is not Reason.ALREADY_EXISTS:
                await _settled(request, room, result, principal)  # raises its refusal
            room = await _loaded(request, started.auction_id)  # made meanwhile: carry on
    for invitee in started.suppliers:
        if invitee.supplier not in room.state.suppliers:
            result = await room.submit(InviteSupplier(
                actor=principal.actor, at=0, supplier=invitee.supplier, name=invitee.name))
            if result.rejection is None or result.rejection.reason is not Reason.ALREADY_INVITED:
                await _settled(request, room, result, principal)
    if room.state.phase is AuctionPhase.DRAFT and started.config.start_at is None:
        result = await room.submit(StartAuction(actor=principal.actor, at=0))
        if result.rejection is None or result.rejection.reason is not Reason.ALREADY_STARTED:
            await _settled(request, room, result, principal)
    await room.listed()
    return room


async def start_follow_on_auction(request: Request) -> Response:
    """Go on as a live reverse auction instead of deciding the award (buyer).

    The qualified bidders are invited, their sealed prices standing as opening bids (EU Art. 35;
    lowest-price tenders, every opened bid qualified, two valid bids at least); each lot's
    ceiling is its highest valid sealed price. The tender ends in phase `auction`, naming it
    (`follow_on_auction`); the auction's award is the award. Answers the auction's view, its
    address in `location`; a retry completes the same auction, on the rules first given."""
    principal = _principal(request)
    tender = await _tender_room(request, principal)
    body = await _body(request, FollowOnBody)
    command = StartFollowOnAuction(actor=principal.actor, at=0, rules=body.rules)
    if tender.state.follow_on is None:
        await _settled(request, tender, await tender.submit(command), principal)
    elif (refused := permission_refusal(command)) is not None:  # a retry: as the tender would
        raise _refused(refused.reason, refused.detail)
    elif principal.actor.role is not Role.BUYER or principal.actor.party != tender.state.buyer:
        raise _refused(Reason.FORBIDDEN, "StartFollowOnAuction is for the tender's buyer")
    room = await _carry_out(request, principal, tender.state.follow_on)
    response = JSON(_view(room, principal), status_code=201)
    response.headers["location"] = f"/api/auctions/{room.auction_id}"
    return response


start_follow_on_auction.body_type = FollowOnBody
start_follow_on_auction.answer = {201: AuctionAnswer}
start_follow_on_auction.refusals = (*_COMMAND_REFUSALS, 503)

FOLLOW_ON_ROUTES = [
    Route("/api/tenders/{auction_id}/auction", handler(start_follow_on_auction), methods=["POST"]),
]
