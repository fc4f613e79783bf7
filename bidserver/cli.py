"""The command line: ``bidserver serve`` and ``bidserver token`` (click)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from .config import Settings, resolve_jwt_key

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(text: str) -> int:
    match = _DURATION.match(text.strip())
    if not match:
        raise click.BadParameter(f"{text!r}: use e.g. 900, 15m, 8h, 2d")
    return int(match.group(1)) * _UNITS[match.group(2)]


@click.group()
def main() -> None:
    """bidserver: real-time reverse auctions (live rooms, HTTP API, Redis streams journal)."""


@main.command()
@click.option("--host", default=None, help="Address to listen on [BIDSERVER_HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port; 0 picks a free one [BIDSERVER_PORT, 8000].")
@click.option("--redis-url", default=None, help="Use this Redis; without it an embedded one is started [BIDSERVER_REDIS_URL].")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Embedded Redis data and the generated JWT key [BIDSERVER_DATA_DIR, ./data].")
@click.option("--allowed-origin", "allowed_origins", multiple=True, help="Browser Origin allowed on live rooms (repeatable) [BIDSERVER_ALLOWED_ORIGINS].")
@click.option("--allow-unsafe-journal", is_flag=True, default=None, help="Run even if Redis does not fsync every write (loses acknowledged bids on a crash).")
@click.option("--log-level", default=None, help="debug, info, warning, error [BIDSERVER_LOG_LEVEL, info].")
def serve(host, port, redis_url, data_dir, allowed_origins, allow_unsafe_journal, log_level) -> None:
    """Run the server (prints where to connect)."""
    from .app import serve as run

    settings = Settings.from_env(
        host=host,
        port=port,
        redis_url=redis_url,
        data_dir=data_dir,
        allowed_origins=tuple(allowed_origins),
        allow_unsafe_journal=allow_unsafe_journal,
        log_level=log_level,
    )
    run(settings)


@main.command()
@click.option("--role", type=click.Choice(["buyer", "supplier", "observer"]), required=True)
@click.option("--org", required=True, help="Buyer organisation, supplier id or observer id.")
@click.option("--user", default=None, help="User id (sub); defaults to --org.")
@click.option("--name", default="", help="Display name.")
@click.option("--ttl", default="8h", help="Lifetime, e.g. 900, 15m, 8h, 2d.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--jwt-key", default=None, help="Signing key [BIDSERVER_JWT_KEY, else <data-dir>/jwt.key].")
def token(role, org, user, name, ttl, data_dir, jwt_key) -> None:
    """Print a signed development token (same key as `bidserver serve`)."""
    from .auth import mint_token

    settings = Settings.from_env(data_dir=data_dir, jwt_key=jwt_key)
    click.echo(
        mint_token(
            resolve_jwt_key(settings),
            role=role,
            party=org,
            user=user,
            name=name,
            ttl_s=_seconds(ttl),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )


if __name__ == "__main__":
    main()
