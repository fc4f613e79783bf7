"""How the browser console signs in: ``GET /api/session`` says how, and, in development,
``POST /api/dev/tokens`` mints a token for whoever the caller says it is.

Development sign-in is on (``Settings.dev_sign_in_enabled``) only while the server runs with the
key it generated itself: no platform issues tokens then, and ``bidserver token`` would hand out
the same tokens to anyone at the machine's shell. It is open to anyone who reaches the server
(loopback by default), which ``serve`` says at start, in a warning. Otherwise the route does not
exist (404 ``not_found`` like any unknown route, and absent from the OpenAPI document) and the
console asks for the platform's token.

Tokens are short-lived (``DEV_TOKEN_TTL_S``), and a client address gets them no faster than a
live-room connection may bid (``rate_limit_per_s``, bursts of ``rate_limit_burst``): HS256 is
cheap, but the endpoint is unauthenticated.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import clock, wire
from ..auth import mint_token
from ..config import Settings
from ..engine.rejections import Reason, Rejection
from ..ratelimit import BucketsByKey
from .answers import DevToken, Session
from .routes import JSON, ProblemJSON, _body, _fail, handler

DEV_TOKEN_TTL_S = 12 * 3600


class DevTokens:
    """Mints development tokens with the server's own key, rate limited per client address."""

    def __init__(self, key: str, settings: Settings) -> None:
        self._key = key
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self.buckets = BucketsByKey(settings.rate_limit_per_s, settings.rate_limit_burst)

    def mint(self, body: wire.DevTokenBody) -> DevToken:
        """The token; ValueError for team roles of another side than ``role``."""
        issued = clock.now_ms() // 1000  # PyJWT checks exp against the wall clock
        token = mint_token(
            self._key, role=body.role, party=body.org, user=body.user, name=body.name,
            ttl_s=DEV_TOKEN_TTL_S, issuer=self._issuer, audience=self._audience, now=issued,
            roles=body.roles,
        )
        return DevToken(token=token, expires_at=(issued + DEV_TOKEN_TTL_S) * 1000)


async def session(request: Request) -> Response:
    """How to sign in here: with a development token (`dev_sign_in`), or the platform's."""
    return JSON(Session(dev_sign_in=request.app.state.services.dev_tokens is not None))


session.answer = {200: Session}


async def dev_token(request: Request) -> Response:
    """Mint a development token for any role, team roles and party (development sign-in only).

    Served only while the server verifies tokens with the key it generated (no
    `BIDSERVER_JWT_KEY`, no `BIDSERVER_JWT_PUBLIC_KEY_FILE`); anyone who reaches the server may
    call it. The token lasts 12 hours. Rate limited per client address, as a live room's bids.
    """
    tokens: DevTokens = request.app.state.services.dev_tokens
    client = request.client.host if request.client else ""
    if not tokens.buckets.take(client):
        wait_ms = tokens.buckets.retry_after_ms(client)
        refusal = Rejection(reason=Reason.RATE_LIMITED, detail="too many tokens; retry later")
        return ProblemJSON(
            wire.problem_for_rejection(refusal), status_code=wire.rejection_status(refusal),
            headers={"retry-after": str(max(1, -(-wait_ms // 1000)))},
        )
    body = await _body(request, wire.DevTokenBody)
    try:
        return JSON(tokens.mint(body))
    except ValueError as exc:  # the token would be refused so (``auth.team_roles``)
        raise _fail(wire.Failure.BAD_ROLE, str(exc)) from None


dev_token.body_type = wire.DevTokenBody
dev_token.answer = {200: DevToken}
dev_token.refusals = (403, 429)

SESSION_ROUTES = [Route("/api/session", handler(session), methods=["GET"])]
DEV_ROUTES = [Route("/api/dev/tokens", handler(dev_token), methods=["POST"])]
