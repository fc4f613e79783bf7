"""``GET /api/auctions/{id}/ocds``: any event (an auction, a tender, an RFQ) as an OCDS 1.1 release
package, for its buyer's organisation (and, for a tender, its observers).

The format says which releases an actor may read (``Format.release_package``: the same releases
the awards stream carries, nothing before they exist); the edge gives the package its address,
its time (the server's clock) and its publisher (``BIDSERVER_OCDS_PUBLISHER``, the platform that
publishes: the operator, not bidserver). Anyone else is refused 403, as for the results sheet.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..engine import ocds_common
from ..engine.rejections import Reason
from .routes import _principal, _refused, _room, handler


async def ocds_package(request: Request) -> Response:
    """The event's OCDS releases as a release package (buyer's organisation)."""
    principal = _principal(request)
    room = await _room(request, principal)
    services = request.app.state.services
    package = room.format.release_package(
        room.state, principal.actor, uri=str(request.url), published_at_ms=services.now_ms(),
        publisher_name=services.settings.ocds_publisher)
    if package is None:
        raise _refused(Reason.FORBIDDEN, "the releases are the buyer's to publish")
    return Response(ocds_common.encode(package), media_type="application/json")  # amounts as numbers


ocds_package.answer = {200: dict[str, Any]}  # an OCDS release package (its own schema)
ocds_package.refusals = (403,)

OCDS_ROUTES = [Route("/api/auctions/{auction_id}/ocds", handler(ocds_package), methods=["GET"])]
