"""Settings, read once at start: command-line flags win over ``BIDSERVER_*`` environment variables,
which win over the defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None  # None: start and supervise an embedded Redis in data_dir
    data_dir: Path = Path("data")
    jwt_key: str | None = None  # HS256 secret; None: generated once into <data_dir>/jwt.key
    jwt_public_key_file: Path | None = None  # verify RS256/ES256/EdDSA tokens instead
    jwt_issuer: str = "bidserver"
    jwt_audience: str = "bidserver"
    allowed_origins: tuple[str, ...] = ()  # empty: same origin only
    max_message_bytes: int = 4096
    rate_limit_per_s: float = 20.0
    rate_limit_burst: float = 40.0
    heartbeat_s: float = 20.0
    outbox_limit: int = 256
    fanout_interval_ms: int = 50  # watchers get at most one update per interval (urgent: at once)
    allow_unsafe_journal: bool = False
    log_level: str = "info"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **overrides: Any
    ) -> "Settings":
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, field_type in _FIELDS.items():
            raw = env.get(f"BIDSERVER_{name.upper()}")
            if raw is not None and raw != "":
                values[name] = _parse(field_type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None and v != ()})
        return msgspec.convert(values, cls, strict=False, dec_hook=_dec_hook)

    def with_redis_url(self, url: str) -> "Settings":
        return msgspec.structs.replace(self, redis_url=url)


_FIELDS = {f.name: f.type for f in msgspec.structs.fields(Settings)}


def _parse(field_type: Any, raw: str) -> Any:
    if field_type == tuple[str, ...]:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if field_type is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Path:
        return Path(obj)
    raise NotImplementedError


def resolve_jwt_key(settings: Settings) -> str:
    """The configured key, else a secret generated once into ``<data_dir>/jwt.key`` (0600), so
    ``bidserver token`` and ``bidserver serve`` agree on a fresh machine."""
    if settings.jwt_key:
        return settings.jwt_key
    path = settings.data_dir / "jwt.key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
