"""The live room's WebSocket endpoint: ``/ws/auctions/{auction_id}[?since=<seq>]``.

The handshake is where trust is decided: the Origin is checked (a browser page from a foreign site
must not ride on a user's token), the token is verified, the principal must be allowed to see the
auction, and the user must hold fewer than ``max_sockets_per_user`` live rooms
(``SocketsPerUser``); any failure is an HTTP denial with a JSON reason, logged at INFO, before the
socket exists. After that every message is checked against size and rate limits, decoded once
into a typed client message, and turned into an engine command whose actor comes from the token,
never from the message.

A token is checked once, at the handshake, but a live room lasts: one loop timer per socket, set
at the handshake, closes it (4401 ``expired_token``) when the handshake would start refusing the
token; the client reconnects with a fresh one and ``?since=``. The timer goes when the socket does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from .. import clock, wire
from ..auth import AuthError, Principal, origin_allowed, token_from_request
from ..ratelimit import TokenBucket
from ..runtime.auction import Auction
from ..runtime.registry import BROKEN, LOAD_ERRORS
from ..engine.rejections import Rejection
from .fanout import Broadcaster, Connection, QueuedSink, live_refusal
from .session import Session
from .transport import EXTENSION

log = logging.getLogger(__name__)

class _Denied(Exception):
    """The handshake is refused: the HTTP denial to send instead of accepting, and the close code
    for a server that cannot send one."""

    def __init__(self, problem: wire.Problem, close_code: int) -> None:
        super().__init__(problem.reason)
        self.problem = problem
        self.close_code = close_code


def _failed(failure: wire.Failure, detail: str = "") -> _Denied:
    return _Denied(wire.problem_for_failure(failure, detail), wire.failure_close_code(failure))


def _refused(refusal: Rejection) -> _Denied:
    """The format's refusal (``Format.live_refusal``)."""
    return _Denied(wire.problem_for_rejection(refusal), wire.rejection_close_code(refusal))


async def _deny(websocket: WebSocket, denied: _Denied) -> None:
    """An HTTP denial with a JSON reason, logged at INFO: a refusal is the server working, and
    anyone can cause one (an ERROR line per refusal would let them fill the operator's alerts)."""
    client = websocket.client
    problem = denied.problem
    log.info(
        "%s - live room %s refused: %s%s",
        f"{client.host}:{client.port}" if client else "-",
        websocket.url.path,
        problem.reason,
        f" ({problem.detail})" if problem.detail else "",
    )
    body = msgspec.to_builtins(problem)
    try:
        await websocket.send_denial_response(
            JSONResponse(body, status_code=problem.status, media_type=wire.PROBLEM_JSON)
        )
    except RuntimeError:  # the server lacks the denial extension: close before accepting
        await websocket.close(denied.close_code, problem.reason)


async def _admit(websocket: WebSocket) -> tuple[Principal, int | None, Auction]:
    """Who, from where, resuming at which seq, into which auction; raises ``_Denied``."""
    services = websocket.app.state.services
    headers = websocket.headers
    if not origin_allowed(
        headers.get("origin"), headers.get("host"), services.settings.allowed_origins
    ):
        raise _failed(wire.Failure.ORIGIN_NOT_ALLOWED)
    try:
        principal = services.verifier.verify(token_from_request(headers, websocket.query_params))
    except AuthError as exc:
        raise _failed(wire.Failure(exc.reason)) from None
    since_raw = websocket.query_params.get("since")
    try:
        since = int(since_raw) if since_raw is not None else None
    except ValueError:
        raise _failed(wire.Failure.BAD_REQUEST, "since must be an integer") from None
    auction_id = websocket.path_params["auction_id"]
    try:
        room = await services.rooms.get(auction_id)
    except LOAD_ERRORS as exc:  # not loaded yet and Redis away: retry later, not a bug
        log.warning("cannot load auction %.64s: %s", auction_id, exc)
        detail = "the journal is unavailable; retry"
        raise _failed(wire.Failure.JOURNAL_UNAVAILABLE, detail) from None
    except BROKEN:  # logged by the registry, with the entry
        detail = "the auction's journal failed verification"
        raise _failed(wire.Failure.JOURNAL_BROKEN, detail) from None
    if room is None or not room.format.may_see(room.state, principal.actor):
        raise _failed(wire.Failure.UNKNOWN_AUCTION)
    refusal = live_refusal(room, principal.actor)
    if refusal is not None:
        raise _refused(refusal)
    held_from = room.cursors.needs_from(principal.actor, since)
    if held_from is not None:
        try:  # resuming from before a snapshot, or a cursor counted from the first event:
            await services.rooms.hold_from(room, held_from)  # read back from the journal
        except LOAD_ERRORS as exc:
            log.warning("cannot read auction %.64s back from seq %d: %s", auction_id, held_from, exc)
            raise _failed(wire.Failure.JOURNAL_UNAVAILABLE, "the journal is unavailable; retry") from None
        except BROKEN:
            raise _failed(wire.Failure.JOURNAL_BROKEN, "the auction's journal failed verification") from None
    return principal, since, room


class SocketsPerUser:
    """How many live-room sockets each user holds open in this process, at most ``limit``.

    Per user (the token's role, ``org`` and ``sub``), not per token: a platform mints a user as
    many tokens as it likes (each refresh is a new one), so a cap per token would bound nothing;
    what must not grow without bound is what one user (or one stolen credential of theirs) can
    hold. Per process: with ``--workers N`` a user may hold up to N times the cap.
    """

    __slots__ = ("limit", "_held")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[tuple[str, str, str], int] = {}

    def take(self, principal: Principal) -> bool:
        user = _user(principal)
        held = self._held.get(user, 0)
        if held >= self.limit:
            return False
        self._held[user] = held + 1
        return True

    def give_back(self, principal: Principal) -> None:
        user = _user(principal)
        held = self._held.pop(user) - 1
        if held:  # users holding none are not kept
            self._held[user] = held


def _user(principal: Principal) -> tuple[str, str, str]:
    return (principal.role.value, principal.party, principal.user)


def audience(auction: Auction) -> Broadcaster:
    """The live room's fan-out is the audience the application gives every auction (``app``)."""
    return auction.audience  # type: ignore[return-value]


def _close_at_expiry(principal: Principal, conn: Connection) -> asyncio.TimerHandle | None:
    """One loop timer (no task) that closes the socket when its token stops being valid.

    The wall clock, not the room's: ``exp`` is wall-clock time, and the handshake's check too.
    """
    refused_after = principal.refused_after_ms
    if refused_after is None:
        return None
    delay = max(0.0, (refused_after - clock.now_ms()) / 1000)
    failure = wire.Failure.EXPIRED_TOKEN
    return asyncio.get_running_loop().call_later(
        delay, conn.close_soon, wire.failure_close_code(failure), failure.value
    )


def _on_gone(
    room: Auction, conn: Connection, timer: asyncio.TimerHandle | None,
    release: Callable[[], None],
) -> Callable[[], None]:
    """What must happen once the socket is gone, whichever way it went."""

    def gone() -> None:
        audience(room).leave(conn)
        conn.closed = True
        if timer is not None:
            timer.cancel()
        release()

    return gone


async def live_room(websocket: WebSocket) -> None:
    services = websocket.app.state.services
    settings = services.settings
    try:
        principal, since, room = await _admit(websocket)
    except _Denied as denied:
        await _deny(websocket, denied)
        return
    except Exception:  # a bug: a JSON 500 denial, the traceback in our log, nothing to the client
        log.exception("live-room handshake failed")
        await _deny(websocket, _failed(wire.Failure.INTERNAL))
        return

    sockets = services.live_sockets
    if not sockets.take(principal):
        detail = f"at most {sockets.limit} live-room sockets per user; close one and retry"
        await _deny(websocket, _failed(wire.Failure.TOO_MANY_CONNECTIONS, detail))
        return
    try:
        await websocket.accept()
    except BaseException:  # the client went away first
        sockets.give_back(principal)
        raise

    direct = websocket.scope.get("extensions", {}).get(EXTENSION)
    if direct is not None:  # our uvicorn protocol: frames in and out without ASGI
        sink = direct["sink"]
    else:  # another ASGI server: a bounded outbox drained by a writer task

        async def close(code: int, reason: str) -> None:
            await websocket.close(code, reason)

        sink = QueuedSink(websocket.send_text, close, limit=settings.outbox_limit)
    conn = Connection(principal.actor, sink)
    resumed = asyncio.Event()
    resumed.set()
    session = Session(
        conn,
        room,
        principal,
        TokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst),
        max_bytes=settings.max_message_bytes,
        now_ms=services.now_ms,
        pause=direct["pause"] if direct is not None else resumed.clear,
        resume=direct["resume"] if direct is not None else resumed.set,
    )
    audience(room).join(conn, since)
    gone = _on_gone(
        room, conn, _close_at_expiry(principal, conn), lambda: sockets.give_back(principal)
    )
    if direct is not None:  # frames go direct from now on; the socket outlives this coroutine
        direct["detach"](gone)
        direct["receive"](session.on_message)
        return
    try:
        while True:
            await resumed.wait()
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            session.on_message(data if data is not None else message.get("bytes") or b"")
    finally:
        gone()
        if isinstance(sink, QueuedSink):
            sink.cancel()
