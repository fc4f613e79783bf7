"""Builds the Starlette app and wires its parts: journal, rooms, timers, HTTP and WebSocket routes.

``serve`` is what ``bidserver serve`` runs: with no Redis URL it starts and supervises an embedded
Redis (AOF, fsync on every write) in the data dir, and stops it on exit; with a URL it uses that
server and never starts one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import logging.config
import os
import signal
import socket
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from . import clock, metrics
from .audit import AuditError, audit_signing_key
from .auth import TokenVerifier
from .config import Settings, resolve_jwt_key
from .engine.format import Format
from .engine.formats import FORMATS
from .hosts import HostCheck, served_hosts
from .http.bid_files import BID_FILE_ROUTES
from .http.openapi import openapi_document
from .http.operations import OPERATIONS_ROUTES
from .http.routes import EXCEPTION_HANDLERS, JSON, ROUTES
from .http.session import DEV_ROUTES, SESSION_ROUTES, DevTokens
from .http.receipts import RECEIPT_ROUTES
from .http.rfq import RFQ_ROUTES
from .http.ocds_export import OCDS_ROUTES
from .http.suppliers import SUPPLIER_ROUTES
from .http.tenders import TENDER_ROUTES
from .http.web import find_web_dir, web_routes
from .ratelimit import BucketsByKey
from .runtime.admission import Admission, telling_events
from .runtime.archiver import archive_forever
from .runtime.auction import Auction
from .runtime.cluster import Cluster, new_node_id
from .runtime.heads import HeadSigner
from .runtime.presence import Presence
from .runtime.registry import Rooms
from .store.archive import Archives
from .store.awards import safe_trim_all
from .store.head_store import RedisTreeHeads
from .store.journal import Journal
from .store.redis_journal import RedisJournal
from .store.listing import MemoryListing
from .store.presence import RedisPresence
from .store.redis_listing import RedisListing
from .store.snapshots import MemorySnapshots, RedisSnapshots
from .store.suppliers import RedisSuppliers
from .store.suppliers_memory import MemorySuppliers
from .ws.endpoint import SocketsPerUser, live_room
from .ws.fanout import Broadcaster
from .ws.presence import PresenceFeed

log = logging.getLogger("bidserver")


@dataclass
class Services:
    settings: Settings
    verifier: TokenVerifier
    journal: Journal
    rooms: Rooms
    now_ms: Callable[[], int]
    durability: str
    http_bids: BucketsByKey  # the live room's rate limit, per principal, for bids over HTTP
    live_sockets: SocketsPerUser  # live-room sockets open per user, capped
    dev_tokens: DevTokens | None  # development sign-in (http/session.py), when it is on
    presence: Presence  # which suppliers have a live room open (shown to the buyer)
    signing_key: Ed25519PrivateKey  # the server's one key: receipts and tree heads
    archives: Archives | None  # where finished auctions' journals went (a receipt reads them)
    admission: Admission  # the supplier registry (runtime/admission.py)


def build_app(
    settings: Settings,
    *,
    journal: Journal | None = None,
    now_ms: Callable[[], int] = clock.now_ms,
    formats: Mapping[str, Format] = FORMATS,
) -> Starlette:
    """The ASGI app. ``journal`` defaults to a RedisJournal on ``settings.redis_url``; the
    listing index lives beside it (in memory with a journal passed in). ``ValueError`` for
    settings that cannot be served: development sign-in ``on`` with a configured key, a
    ``web_dir`` without ``index.html``."""
    dev_sign_in = settings.dev_sign_in_enabled()
    web_dir = find_web_dir(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        the_journal = journal
        durability = "memory"
        if the_journal is None:
            if not settings.redis_url:
                raise RuntimeError("build_app needs settings.redis_url (serve() provides one)")
            redis_journal = await connect_journal(settings)
            assert redis_journal.mode is not None  # connected
            durability = redis_journal.mode
            metrics.JOURNAL_REPLICAS.set(redis_journal.replicas or 0)
            the_journal = redis_journal
        metrics.JOURNAL_DURABILITY.labels(durability).set(1)
        cluster = None
        if (settings.cluster or settings.workers > 1) and isinstance(the_journal, RedisJournal):
            cluster = Cluster(
                settings.redis_url, prefix=the_journal.prefix, ttl_ms=settings.lease_ttl_ms
            )
        interval_s = settings.fanout_interval_ms / 1000
        shared_presence = None
        if isinstance(the_journal, RedisJournal):  # every process sees every supplier
            shared_presence = RedisPresence(
                settings.redis_url, node=cluster.node if cluster is not None else new_node_id(),
                keys=the_journal.keys, heartbeat_ms=settings.lease_ttl_ms,
            )
        presence = Presence(now_ms, shared_presence)

        def live_room_audience(auction: Auction) -> Broadcaster:
            feed = PresenceFeed(auction, presence, now_ms, interval_s)
            return Broadcaster(auction, now_ms, interval_s=interval_s, membership=feed)

        signing_key = audit_signing_key(settings)
        listing, snapshots, heads = MemoryListing(), MemorySnapshots(), None
        suppliers = MemorySuppliers()
        if isinstance(the_journal, RedisJournal):
            listing = RedisListing(the_journal.redis, keys=the_journal.keys)
            suppliers = RedisSuppliers(the_journal)
            snapshots = RedisSnapshots(the_journal)
            heads = HeadSigner(
                RedisTreeHeads(the_journal), the_journal, signing_key, now_ms,
                every_s=settings.tree_head_every_s,
            )
        archive_dir = settings.archives_at
        archives = Archives(archive_dir) if archive_dir is not None else None
        rooms = Rooms(
            the_journal, now_ms, formats, audience=live_room_audience, listing=listing,
            snapshots=snapshots, snapshot_every=settings.snapshot_every, archives=archives,
            cluster=cluster, journal_timeout_s=settings.journal_write_timeout_ms / 1000,
            heads=heads,
        )
        if cluster is not None:
            await cluster.start(promote=rooms.promote, demote=rooms.demote)
        app.state.services = Services(
            settings=settings,
            verifier=TokenVerifier.from_settings(settings),
            journal=the_journal,
            rooms=rooms,
            now_ms=now_ms,
            durability=durability,
            http_bids=BucketsByKey(settings.rate_limit_per_s, settings.rate_limit_burst),
            live_sockets=SocketsPerUser(settings.max_sockets_per_user),
            dev_tokens=DevTokens(resolve_jwt_key(settings), settings) if dev_sign_in else None,
            presence=presence,
            signing_key=signing_key,
            archives=archives,
            admission=Admission(suppliers, now_ms, telling_events(rooms, suppliers)),
        )
        presence.start()
        # In the background: the server answers at once; an auction asked for before its turn is
        # loaded then (Rooms.recover); /readyz answers 503 "recovering" until it is done.
        recovery = asyncio.get_running_loop().create_task(rooms.recover(), name="recovery")
        flusher = asyncio.get_running_loop().create_task(metrics.flush_forever())
        archiver = None
        if archives is not None:
            archiver = asyncio.get_running_loop().create_task(
                archive_forever(the_journal, archives, now_ms, settings.archive_every_s)
            )
        sweeper = asyncio.get_running_loop().create_task(
            app.state.services.admission.sweep_forever(), name="supplier-sweeper")
        trimmer = None
        if isinstance(the_journal, RedisJournal):
            trimmer = asyncio.get_running_loop().create_task(_trim_awards_forever(the_journal))
        try:
            yield
        finally:
            recovery.cancel()
            flusher.cancel()
            # Stopped while its Redis is still there: a sweep cancelled later, in the middle of
            # a call on a closed connection, may never finish, and the loop's close waits for it.
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if archiver is not None:
                archiver.cancel()
            if trimmer is not None:
                trimmer.cancel()
            await rooms.close()
            await presence.close()
            if cluster is not None:
                await cluster.close()
            await the_journal.close()
            metrics.JOURNAL_DURABILITY.labels(durability).set(0)

    async def openapi(request):
        return JSON(openapi_document(dev_sign_in=dev_sign_in))

    routes = [
        *ROUTES,
        *TENDER_ROUTES,
        *SUPPLIER_ROUTES,
        *RFQ_ROUTES,
        *OCDS_ROUTES,
        *BID_FILE_ROUTES,
        *RECEIPT_ROUTES,
        *SESSION_ROUTES,
        *(DEV_ROUTES if dev_sign_in else ()),
        *OPERATIONS_ROUTES,
        Route("/openapi.json", openapi, methods=["GET"]),
        WebSocketRoute("/ws/auctions/{auction_id}", live_room),
        *(web_routes(web_dir) if web_dir is not None else ()),
    ]
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(HostCheck, hosts=served_hosts(settings))],
    )


AWARDS_TRIM_INTERVAL_S = 600.0


def _tune_gc() -> None:
    """Fewer, cheaper garbage collections: latency, not memory, is what a live room spends.

    Everything alive after start-up (modules, recovered auctions) is frozen out of the collector's
    sight, and the youngest generation is collected every 50,000 allocations instead of 700: a bid
    allocates a handful of short-lived containers (events and commands are msgspec Structs with
    ``gc=False`` and are not tracked at all), and each full collection walks every tracked object.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def _trim_awards_forever(journal: RedisJournal) -> None:
    """Keeps the awards streams bounded (one, or each shard's on a cluster): removes only what
    every consumer group acknowledged."""
    while True:
        await asyncio.sleep(AWARDS_TRIM_INTERVAL_S)
        try:
            for stream, removed in (await safe_trim_all(journal.redis, journal.keys)).items():
                log.info("trimmed %d acknowledged awards from %s", removed, stream)
        except Exception as exc:  # Redis away: try again next time
            log.warning("awards trim failed: %s", exc)


class ServeRefused(Exception):
    """Why ``serve`` cannot start, in one line that says what to do (the CLI prints just that)."""


def serve(settings: Settings) -> None:
    """Run the server until interrupted (what ``bidserver serve`` does); ``ServeRefused`` if
    it cannot start."""
    import uvicorn

    from .http.transport import protocol_class as http_protocol_class
    from .ws.transport import protocol_class

    log_config = uvicorn.config.LOGGING_CONFIG
    if settings.log_format == "json":
        from .logjson import logging_config

        log_config = logging_config(settings.log_level)
        logging.config.dictConfig(log_config)
    else:
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    try:  # before anything starts: settings that cannot be served change nothing
        dev_sign_in = settings.dev_sign_in_enabled()
        web_dir = find_web_dir(settings)
        audit_signing_key(settings)  # created here, before any worker starts
    except (ValueError, AuditError, OSError) as exc:
        raise ServeRefused(str(exc)) from None
    embedded = None
    if not settings.redis_url:
        from .store.embedded import DataDirInUse, EmbeddedRedis, EmbeddedRedisError, Supervisor

        embedded = Supervisor(EmbeddedRedis.of_data_dir(settings.data_dir))
        try:  # first: a second server on this data dir must change nothing
            embedded.server.lock()
        except DataDirInUse as exc:
            owner = f"bidserver pid {exc.pid}" if exc.pid is not None else "another bidserver"
            raise ServeRefused(
                f"data directory {settings.data_dir} is in use by {owner}; "
                "stop that server first, or pass another --data-dir"
            ) from None
    try:
        inherited = os.environ.get(LISTEN_FD_ENV)
        if inherited:  # a worker of `serve --workers N`: the supervisor bound the socket
            sock = socket.socket(fileno=int(inherited))
        else:
            # Bound before anything starts: ``--port 0`` works, the printed address is the real
            # one, and a port in use is refused with nothing started.
            sock = _listen(settings.host, settings.port)
        if embedded is not None:  # started, and started again whenever it dies
            try:
                embedded.start()
            except EmbeddedRedisError as exc:
                raise ServeRefused(f"the embedded Redis did not start: {exc}") from None
            settings = settings.on_embedded_redis(embedded.server.url)
            log.info("embedded Redis (AOF, appendfsync always) at %s", settings.redis_url)
        if not inherited:
            asyncio.run(_check_journal(settings))
            host, port = sock.getsockname()[:2]
            workers = f"; {settings.workers} worker processes" if settings.workers > 1 else ""
            print(
                f"bidserver listening on http://{host}:{port} "
                f"(API /api, live rooms ws://{host}:{port}/ws/auctions/<id>, "
                f"OpenAPI /openapi.json, probes /livez /readyz); journal {settings.redis_url}{workers}",
                flush=True,
            )
            _announce_console(host, port, web_dir, dev_sign_in)
        if settings.workers > 1 and not inherited:
            from .workers import supervise

            supervise(settings, sock)
            return
        config = uvicorn.Config(
            build_app(settings),
            loop="uvloop",
            http=http_protocol_class(settings.header_timeout_s),  # h11, the request head bounded
            # uvicorn's websockets-sansio protocol plus a direct frame sink (ws/transport.py)
            ws=protocol_class(settings.outbox_limit_bytes),
            ws_max_size=settings.max_message_bytes,
            ws_per_message_deflate=False,  # compression costs fan-out throughput: off
            ws_ping_interval=settings.heartbeat_s,
            ws_ping_timeout=settings.heartbeat_s,
            log_level=settings.log_level.lower(),
            log_config=log_config,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        _tune_gc()
        _Server(config).run(sockets=[sock])
    finally:
        if embedded is not None:
            embedded.stop()


LISTEN_FD_ENV = "BIDSERVER_LISTEN_FD"


def _announce_console(host: str, port: int, web_dir: Path | None, dev_sign_in: bool) -> None:
    """Where to open the console (a browser on this machine: a wildcard address is reached as
    loopback), and the warning development sign-in deserves."""
    if web_dir is None:
        log.warning(
            "no console: no web/index.html beside the code or in the package; serving the API "
            "only (set BIDSERVER_WEB_DIR to the directory holding index.html and static/)"
        )
    else:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        shown = f"[{host}]" if ":" in host else host
        signing = "development sign-in" if dev_sign_in else "sign in with a token from your platform"
        print(f"buyer console: http://{shown}:{port}/ ({signing})", flush=True)
    if dev_sign_in:
        log.warning(
            "development sign-in is on: anyone who can reach this server can sign in as anyone "
            "(POST /api/dev/tokens); set BIDSERVER_JWT_KEY or BIDSERVER_JWT_PUBLIC_KEY_FILE, or "
            "BIDSERVER_DEV_SIGN_IN=off, to turn it off"
        )


async def _check_journal(settings: Settings) -> None:
    """Before anything listens: a Redis that cannot be reached, or that would acknowledge writes
    a crash can lose, is ``ServeRefused`` in one line (the server's own start-up would otherwise
    end in uvicorn's lifespan with a traceback). Each worker checks again when it connects."""
    from .store.journal import JournalError, JournalNotDurable

    try:
        journal = await connect_journal(settings)
    except ValueError as exc:  # a URL redis-py (or store.connect) cannot read
        raise ServeRefused(f"--redis-url {settings.redis_url!r}: {exc}") from None
    except JournalNotDurable as exc:
        raise ServeRefused(str(exc)) from None
    except JournalError as exc:
        raise ServeRefused(
            f"cannot reach the journal at {settings.redis_url} ({exc}): start that Redis, or "
            "leave --redis-url out to use the embedded one"
        ) from None
    log.info("journal %s: an acknowledged write is %s", settings.redis_url, journal.durability)
    await journal.close()


async def connect_journal(settings: Settings) -> RedisJournal:
    """The journal the settings name, connected, or ``JournalNotDurable`` for one that would
    acknowledge what a crash, or the loss of one machine, can lose. The one home of that rule:
    the check before listening and each worker's start both come here."""
    from .store.journal import JournalNotDurable

    journal = RedisJournal(
        settings.redis_url, allow_unsafe=settings.allow_unsafe_journal,
        ping_timeout_s=settings.journal_write_timeout_ms / 1000,
        replicas=settings.journal_replicas,
    )
    try:
        await journal.connect()
        if not journal.replicas and not settings.allow_single_machine_journal:
            raise JournalNotDurable(
                f"Redis at {settings.redis_url} has no replica confirming writes: losing its "
                "machine would lose acknowledged bids. Give it a replica (docs/operations.md), "
                "or pass --allow-single-machine-journal to accept that"
            )
    except BaseException:
        await journal.close()
        raise
    return journal


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, or ``ServeRefused`` saying what to change."""
    try:
        return socket.create_server((host, port), reuse_port=False, backlog=2048)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServeRefused(
                f"port {port} on {host} is in use; stop the other process, or pass another "
                "--port (0 picks a free one)"
            ) from None
        raise ServeRefused(
            f"cannot listen on {host} port {port}: {exc.strerror or exc}; pass another --host "
            "or --port"
        ) from None


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, except that a SIGTERM/SIGINT stop is not re-raised after the graceful
        shutdown: ``serve`` still has its clean-up to do (stopping the embedded Redis), and a
        requested stop is a success (exit status 0)."""

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _Server(config):  # noqa: N802 - a factory standing for the class (uvicorn imported lazily)
    return _server_class()(config)
