"""What operators and orchestrators ask: is the process alive, may it take traffic, what are its
numbers. Separate from the API (``routes``): probes answer anyone and say nothing about the
auctions; the numbers are for the operator's monitoring only.

- ``/livez``: the process answers (its event loop turns). Nothing else: restarting a process
  because Redis is away would not bring Redis back.
- ``/readyz``: 200 when it can serve: the journal answers (within its ping's bound, the bids' own:
  ``BIDSERVER_JOURNAL_WRITE_TIMEOUT_MS``) and the
  unfinished auctions are loaded again after a start; else 503 with a machine-readable
  ``reason`` (``journal_unavailable``, ``recovering``). No counts, ids or versions: an anonymous
  caller learns only whether to send traffic. A room whose timer keeps failing (logged, retried)
  adds ``"timers": "failing"`` but leaves the process ready: the fault is the auction's, and
  taking the process out of service would only stop every other auction too.
- ``/healthz``: the old name of ``/readyz``, kept for the clients and scripts that use it.
- ``/metrics``: Prometheus text (``bidserver.metrics``), only with ``Authorization: Bearer
  <metrics_token>`` (``BIDSERVER_METRICS_TOKEN``); without a configured token it is not served.
  The counts that ``/healthz`` used to tell anyone (auctions loaded, recovery, refused journals,
  the journal's durability) are here.
"""

from __future__ import annotations

import hmac

import msgspec

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import metrics, wire
from .answers import Liveness, Readiness
from .routes import JSON, _fail, handler

async def _journal_up(request: Request) -> bool:
    up = await request.app.state.services.journal.ping()  # bounded by the journal itself
    metrics.REDIS_UP.set(1 if up else 0)
    return up


async def livez(request: Request) -> Response:
    """200 while the process answers."""
    return JSON(Liveness(status="alive"))


livez.answer = {200: Liveness}


async def readyz(request: Request) -> Response:
    """200 when the server can take traffic, 503 with a ``reason`` when it cannot."""
    rooms = request.app.state.services.rooms
    reason = None
    if not await _journal_up(request):
        reason = "journal_unavailable"
    elif rooms.recovering is not None:
        reason = "recovering"
    body = Readiness(
        status="ready" if reason is None else "unready",
        reason=msgspec.UNSET if reason is None else reason,
        timers="failing" if rooms.timers_failing() else msgspec.UNSET,
    )
    return JSON(body, status_code=200 if reason is None else 503)


readyz.answer = {200: Readiness, 503: Readiness}


async def metrics_text(request: Request) -> Response:
    """Prometheus exposition text, for the operator's bearer token only."""
    expected = request.app.state.services.settings.metrics_token
    if not expected:
        raise _fail(wire.Failure.NOT_FOUND, "set BIDSERVER_METRICS_TOKEN to serve /metrics")
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _fail(wire.Failure.MISSING_TOKEN, "Authorization: Bearer <metrics token>")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise _fail(wire.Failure.INVALID_TOKEN)
    await _journal_up(request)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)


# In the OpenAPI document: the probes. Not /healthz (the same operation under its old name) nor
# /metrics (Prometheus text for the operator's scraper, not part of the API).
DOCUMENTED_PATHS = ("/livez", "/readyz")

OPERATIONS_ROUTES = [
    Route("/livez", handler(livez), methods=["GET"]),
    Route("/readyz", handler(readyz), methods=["GET"]),
    Route("/healthz", handler(readyz), methods=["GET"]),
    Route("/metrics", handler(metrics_text), methods=["GET"]),
]
