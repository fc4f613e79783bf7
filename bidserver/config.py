"""Settings, read once at start: command-line flags win over ``BIDSERVER_*`` environment variables,
which win over the defaults.

One frozen struct, passed down explicitly, so no module reads the environment on its own and a test
builds exactly the server it wants. Bad values fail at start with the variable's name, not later in
the middle of an auction.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

log = logging.getLogger("bidserver.config")

ENV_PREFIX = "BIDSERVER_"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
DEV_SIGN_IN = ("auto", "on", "off")
MIN_HS256_KEY_BYTES = 32  # RFC 7518 section 3.2: an HS256 key at least as long as the hash


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000  # 0: pick a free port (printed at start)
    redis_url: str | None = None  # None: start and supervise an embedded Redis in data_dir
    data_dir: Path = Path("data")
    jwt_key: str | None = None  # HS256 secret; None: generated once into <data_dir>/jwt.key
    jwt_public_key_file: Path | None = None  # verify RS256/ES256/EdDSA tokens instead
    jwt_issuer: str = "bidserver"
    jwt_audience: str = "bidserver"
    allowed_origins: tuple[str, ...] = ()  # browser Origins for live rooms; empty: same origin only
    max_message_bytes: int = 4096
    rate_limit_per_s: float = 20.0  # messages per second per connection (dev tokens: per client address) ...
    rate_limit_burst: float = 40.0  # ... with bursts up to this many
    heartbeat_s: float = 20.0
    outbox_limit: int = 256  # messages queued for one slow connection before it is cut off ...
    outbox_limit_bytes: int = 256 * 1024  # ... or bytes buffered for it (our uvicorn protocol)
    fanout_interval_ms: int = 50  # watchers get at most one update per interval (urgent: at once)
    allow_unsafe_journal: bool = False  # run on a Redis that does not fsync every write
    journal_replicas: int | None = None  # replicas that confirm every acknowledged write; None: 1 if the master has one at start, else 0
    allow_single_machine_journal: bool = False  # run on a Redis without replicas (losing its machine loses acknowledged bids); implied by the embedded Redis
    workers: int = 1  # server processes sharing the listening socket (> 1: cluster mode)
    cluster: bool = False  # coordinate with other processes on the same Redis (leases, pub/sub)
    lease_ttl_ms: int = 5000  # an auction's writer must renew its lease within this time
    archive_dir: Path | None = None  # finished auctions' journals; None: <data_dir>/archive
    archive_every_s: float = 300.0  # how often finished auctions are archived and trimmed; 0: never
    snapshot_every: int = 1000  # events between an auction's state snapshots (grows, see runtime/snapshots.py); 0: none
    tree_head_every_s: float = 10.0  # an auction's audit log gets a signed tree head at most this long after a write (at once on a phase change)
    log_level: str = "info"
    journal_write_timeout_ms: int = 2000  # a bid waits at most this for the journal, then: journal_unavailable
    metrics_token: str | None = None  # bearer token for /metrics; None: /metrics is not served
    log_format: str = "text"  # text, or json: one JSON object per line (bidserver.logjson)
    allowed_hosts: tuple[str, ...] = ()  # Host names served (hosts.py); empty: local names, origins' hosts, bind host
    header_timeout_s: float = 10.0  # a request's line and headers (a live-room handshake's too) must arrive within this
    max_sockets_per_user: int = 32  # live-room sockets one user (role, org, sub) may hold open in one process
    web_dir: Path | None = None  # the console's index.html and static/; None: found beside the code (http/web.py)
    max_bid_file_bytes: int = 50 * 1024 * 1024  # a sealed bid document's largest size (413 past it)
    files_dir: Path | None = None  # sealed bid documents (store/files.py); None: <data_dir>/files, per machine
    ocds_publisher: str = "bidserver"  # the publisher named in OCDS release packages: the platform's operator
    dev_sign_in: str = "auto"  # POST /api/dev/tokens: auto (on when the key is generated and the server listens on loopback only), on, off

    def __post_init__(self) -> None:
        # Raised inside msgspec.convert, these become ValidationErrors naming the field.
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be 0..65535")
        for name in (
            "max_message_bytes", "outbox_limit", "outbox_limit_bytes", "rate_limit_per_s",
            "heartbeat_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.workers < 1 or self.lease_ttl_ms < 300:
            raise ValueError("workers must be at least 1 and lease_ttl_ms at least 300")
        if self.archive_every_s < 0:
            raise ValueError("archive_every_s must not be negative (0: never archive)")
        if self.tree_head_every_s <= 0:
            raise ValueError("tree_head_every_s must be positive")
        if self.snapshot_every < 0:
            raise ValueError("snapshot_every must not be negative (0: no snapshots)")
        if self.rate_limit_burst < 1:
            raise ValueError("rate_limit_burst must be at least 1")
        if self.journal_replicas is not None and self.journal_replicas < 0:
            raise ValueError("journal_replicas must not be negative (unset: 1 if the master has one)")
        if self.journal_write_timeout_ms < 100:
            raise ValueError("journal_write_timeout_ms must be at least 100")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
        if self.log_format not in LOG_FORMATS:
            raise ValueError(f"log_format must be one of {', '.join(LOG_FORMATS)}")
        if self.jwt_key is not None and len(self.jwt_key.encode()) < MIN_HS256_KEY_BYTES:
            raise ValueError(f"jwt_key must be at least {MIN_HS256_KEY_BYTES} bytes (RFC 7518)")
        if self.max_bid_file_bytes <= 0:
            raise ValueError("max_bid_file_bytes must be positive")
        if self.header_timeout_s <= 0 or self.max_sockets_per_user <= 0:
            raise ValueError("header_timeout_s and max_sockets_per_user must be positive")
        if self.dev_sign_in not in DEV_SIGN_IN:
            raise ValueError(f"dev_sign_in must be one of {', '.join(DEV_SIGN_IN)}")
        for host in self.allowed_hosts:
            if not _is_host(host):
                raise ValueError(f"allowed_hosts: {host!r} is not a host name or address (no scheme, port or path)")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """``BIDSERVER_<FIELD>`` variables (``BIDSERVER_ALLOWED_ORIGINS`` comma-separated,
        booleans 1/0, true/false, yes/no, on/off), then ``overrides`` (CLI flags; ``None`` and
        ``()`` mean "flag not given")."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, field_type in _FIELDS.items():
            var = ENV_PREFIX + name.upper()
            raw = env.get(var)
            if raw is not None and raw.strip() != "":
                values[name] = _parse(var, field_type, raw.strip())
        unknown = set(overrides) - set(_FIELDS)
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items() if v is not None and v != ()})
        try:
            return msgspec.convert(values, cls, strict=False, dec_hook=_dec_hook)
        except msgspec.ValidationError as exc:
            raise ValueError(f"invalid setting: {exc}") from None

    @property
    def archives_at(self) -> Path | None:
        """Where finished auctions are archived, or None when they are not. Processes on several
        machines (``cluster``) archive only into a directory the operator named, which must be
        one they share: an archive one machine wrote must be readable by all."""
        if self.archive_every_s == 0 or (self.cluster and self.archive_dir is None):
            return None
        return self.archive_dir if self.archive_dir is not None else self.data_dir / "archive"

    @property
    def files_at(self) -> Path:
        """Where sealed bid documents are stored: a local directory unless the operator names a
        shared one, which processes on several machines need (each must read what another
        received)."""
        return self.files_dir if self.files_dir is not None else self.data_dir / "files"

    @property
    def key_is_generated(self) -> bool:
        """Whether tokens are verified with the key ``resolve_jwt_key`` generates (no HS256
        secret, no platform public key configured): then no one else issues tokens."""
        return self.jwt_key is None and self.jwt_public_key_file is None

    def dev_sign_in_enabled(self) -> bool:
        """Whether the server mints development tokens (``http/session.py``). ``auto``: when the
        key is generated and the server listens on a loopback address only, so that a server
        reachable from a network (a container binding 0.0.0.0) never lets anyone who reaches it
        sign in as anyone unless the operator says ``on``. ``on`` with a configured key is a
        ``ValueError``: the server would mint tokens with the platform's key, as any user of
        the platform."""
        if self.dev_sign_in == "on" and not self.key_is_generated:
            raise ValueError(
                "BIDSERVER_DEV_SIGN_IN=on with BIDSERVER_JWT_KEY or BIDSERVER_JWT_PUBLIC_KEY_FILE "
                "set: the server would sign in anyone with the platform's key; unset "
                "BIDSERVER_DEV_SIGN_IN (or set it to off)"
            )
        if self.dev_sign_in == "auto" and not _is_loopback(self.host):
            return False
        return self.dev_sign_in != "off" and self.key_is_generated

    def on_embedded_redis(self, url: str) -> Settings:
        """The embedded Redis runs beside the server, on its machine, without replicas: the
        operator who gave no Redis URL chose one machine, so it is allowed without a flag."""
        return msgspec.structs.replace(self, redis_url=url, allow_single_machine_journal=True)


_FIELDS = {f.name: f.type for f in msgspec.structs.fields(Settings)}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(var: str, field_type: Any, raw: str) -> Any:
    if field_type == tuple[str, ...]:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if field_type is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ValueError(f"{var}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")
    return raw  # msgspec.convert(strict=False) turns "8000" into 8000 and reports bad numbers


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_host(text: str) -> bool:
    """A name, ``*.name``, ``*``, or an IP address (IPv6 with or without brackets)."""
    if ":" in text:
        try:
            ipaddress.IPv6Address(text.removeprefix("[").removesuffix("]"))
        except ValueError:
            return False
        return True
    return bool(text) and not any(c in text for c in "/@?# \t")


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Path and isinstance(obj, str | os.PathLike):
        return Path(obj)
    raise NotImplementedError


def resolve_jwt_key(settings: Settings) -> str:
    """The configured key, else a secret generated once into ``<data_dir>/jwt.key`` (0600).

    Why a file: ``bidserver token`` and ``bidserver serve`` are separate processes that must agree
    on the key on a fresh machine with nothing configured, and tokens must survive a restart. The
    file is created complete and atomically (written aside, then hard-linked into place), so two
    processes starting together end up with the same key and never read a half-written one.
    """
    if settings.jwt_key:
        return settings.jwt_key
    path = settings.data_dir / "jwt.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _create_key_file(path)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("%s is readable by others (mode %o): anyone who reads it can mint tokens", path, mode)
    key = path.read_text().strip()
    if len(key.encode()) < MIN_HS256_KEY_BYTES:
        raise ValueError(f"{path}: key shorter than {MIN_HS256_KEY_BYTES} bytes; delete it to regenerate")
    return key


def _create_key_file(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if another process got there first: theirs wins
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
