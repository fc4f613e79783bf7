"""The command line (click): ``bidserver serve``, ``token``, ``tokens``, ``replay``, ``audit``, and
``bidserver tender ...`` and ``bidserver receipt verify|fetch`` (``cli_sealing.py``, and
``cli_client.py`` for what goes to a server), ``bidserver suppliers ...`` (``cli_suppliers.py``).

Flags win over ``BIDSERVER_*`` environment variables, which win over the defaults: the same
``Settings.from_env`` path for every command, so ``token`` signs with the key ``serve`` verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from .cli_client import receipt, revise, submit, upload, withdraw
from .cli_sealing import tender
from .cli_suppliers import suppliers
from .config import Settings, resolve_jwt_key

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration_s(text: str) -> int:
    """``900``, ``15m``, ``8h``, ``2d`` -> seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise click.BadParameter(f"{text!r}: use e.g. 900, 15m, 8h, 2d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _checked_redis_url(_ctx, _param, url: str | None) -> str | None:
    """A ``--redis-url`` the server could not use is a usage error, named, before anything
    starts (``store.connect.check_url``)."""
    if url is not None:
        from .store.connect import check_url

        try:
            check_url(url)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return url


def _settings(**overrides) -> Settings:
    try:
        settings = Settings.from_env(**overrides)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    _checked_redis_url(None, None, settings.redis_url)  # BIDSERVER_REDIS_URL too
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bidserver")
def main() -> None:
    """bidserver: real-time reverse auctions (live rooms, HTTP API, Redis streams journal)."""


main.add_command(tender)
main.add_command(receipt)
main.add_command(suppliers)
for command in (submit, revise, withdraw, upload):  # the tender's commands that talk to a server
    tender.add_command(command)


@main.command()
@click.option("--host", default=None, help="Address to listen on [BIDSERVER_HOST, 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port; 0 picks a free one [BIDSERVER_PORT, 8000].")
@click.option("--redis-url", default=None, callback=_checked_redis_url, help="Use this Redis (redis://, rediss://, unix://, redis+sentinel://host:port,.../<service>, or redis+cluster://host:port,...); without it an embedded one is started in the data dir [BIDSERVER_REDIS_URL].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Embedded Redis data and the generated JWT key [BIDSERVER_DATA_DIR, ./data].")
@click.option("--allowed-origin", "allowed_origins", multiple=True, metavar="ORIGIN", help="Browser Origin (scheme://host[:port]) allowed on live rooms; repeatable [BIDSERVER_ALLOWED_ORIGINS, comma-separated; default: same origin only].")
@click.option("--allow-unsafe-journal", is_flag=True, default=None, help="Run even if Redis does not fsync every write (a crash loses acknowledged bids) [BIDSERVER_ALLOW_UNSAFE_JOURNAL].")
@click.option("--journal-replicas", type=click.IntRange(0, 16), default=None, help="Replicas of the Redis master that must confirm every acknowledged write (WAIT/WAITAOF) [BIDSERVER_JOURNAL_REPLICAS; default: 1 if the master has one, else 0].")
@click.option("--allow-single-machine-journal", is_flag=True, default=None, help="Run on a Redis with no replica confirming writes (losing its machine loses acknowledged bids); implied without --redis-url [BIDSERVER_ALLOW_SINGLE_MACHINE_JOURNAL].")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False), default=None, help="[BIDSERVER_LOG_LEVEL, info].")
@click.option("--log-format", type=click.Choice(["text", "json"], case_sensitive=False), default=None, help="json: one JSON object per line on stderr, uvicorn's access log included [BIDSERVER_LOG_FORMAT, text].")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Server processes sharing the port; more than 1 coordinates them through Redis [BIDSERVER_WORKERS, 1].")
@click.option("--cluster", is_flag=True, default=None, help="Coordinate with other bidserver processes (other machines) on the same Redis [BIDSERVER_CLUSTER].")
def serve(host, port, redis_url, data_dir, allowed_origins, allow_unsafe_journal, journal_replicas, allow_single_machine_journal, log_level, log_format, workers, cluster) -> None:
    """Run the server (prints where to connect) until interrupted."""
    settings = _settings(
        workers=workers,
        cluster=cluster or None,
        host=host,
        port=port,
        redis_url=redis_url,
        data_dir=data_dir,
        allowed_origins=tuple(allowed_origins),
        allow_unsafe_journal=allow_unsafe_journal or None,
        journal_replicas=journal_replicas,
        allow_single_machine_journal=allow_single_machine_journal or None,
        log_level=log_level.lower() if log_level else None,
        log_format=log_format.lower() if log_format else None,
    )
    from . import logs
    from .app import ServeRefused, serve as run  # lazily: `token` and `--help` need no web stack

    logs.install()
    try:
        run(settings)
    except ServeRefused as refused:
        raise click.ClickException(str(refused)) from None


_KEY_OPTIONS = (
    click.option("--ttl", default="8h", show_default=True, help="Lifetime: 900, 15m, 8h, 2d."),
    click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Where serve keeps jwt.key [BIDSERVER_DATA_DIR, ./data]."),
    click.option("--jwt-key", default=None, help="HS256 signing key [BIDSERVER_JWT_KEY, else <data-dir>/jwt.key, created if missing]."),
)


def _key_options(command):
    for option in reversed(_KEY_OPTIONS):
        command = option(command)
    return command


def _minter(ttl: str, data_dir: Path | None, jwt_key: str | None):
    """``mint(role, org, user, name, roles)``: tokens signed with the key `bidserver serve`
    verifies, lasting ``ttl``; a usage error when the server takes only the platform's."""
    from .auth import mint_token

    ttl_s = parse_duration_s(ttl)
    if ttl_s <= 0:
        raise click.BadParameter("must be positive", param_hint="--ttl")
    settings = _settings(data_dir=data_dir, jwt_key=jwt_key)
    if settings.jwt_public_key_file is not None and not jwt_key:
        raise click.UsageError(
            "BIDSERVER_JWT_PUBLIC_KEY_FILE is set: the server accepts only tokens signed with the "
            "platform's private key, which bidserver does not hold"
        )
    key = resolve_jwt_key(settings)

    def mint(role: str, org: str, user: str | None, name: str, roles) -> str:
        return mint_token(key, role=role, party=org, user=user, name=name, ttl_s=ttl_s,
                          issuer=settings.jwt_issuer, audience=settings.jwt_audience, roles=roles)

    return mint


_SIDES = ["buyer", "supplier", "observer", "platform"]


@main.command()
@click.option("--role", type=click.Choice(_SIDES), required=True, help="The party's side.")
@click.option("--org", required=True, help="The party: the buyer organisation, the supplier id, (observer) the buyer organisation observed, or the platform operator.")
@click.option("--user", default=None, help="User id (sub); defaults to --org.")
@click.option("--name", default="", help="Display name (e.g. the supplier's legal name).")
@click.option("--roles", default=None, metavar="ROLE,...", help="The person's team roles, of --role's side (e.g. auditor, or evaluator,opening_officer); default: the side's defaults (docs/suppliers.md).")
@_key_options
def token(role, org, user, name, roles, ttl, data_dir, jwt_key) -> None:
    """Print a signed development token (the key `bidserver serve` verifies with)."""
    from .auth import team_roles
    from .engine.values import Role

    mint = _minter(ttl, data_dir, jwt_key)
    named = None if roles is None else [r.strip() for r in roles.split(",") if r.strip()]
    if named is not None:
        try:
            team_roles(Role(role), named)
        except ValueError as exc:  # a team role that is none, or of another side
            raise click.BadParameter(str(exc), param_hint="--roles") from None
    click.echo(mint(role, org, user, name, named))


@main.command()
@click.option("--buyer", default=None, metavar="ORG", help="The buyer organisation: a token for each of its team roles.")
@click.option("--supplier", default=None, metavar="ORG", help="The supplier: a token for each of its team roles.")
@click.option("--observer", default=None, metavar="ORG", help="The buyer organisation observed: an observer's token.")
@click.option("--platform", default=None, metavar="ORG", help="The platform operator: a supplier reviewer's token.")
@_key_options
def tokens(buyer, supplier, observer, platform, ttl, data_dir, jwt_key) -> None:
    """Print a development token for every team role of each side given, one line each: the
    role and its token. Each is a person of its own (user `<org>.<role>`), so the four eyes of
    an approval can be tried out."""
    from .engine.permissions import SIDE

    orgs = {"buyer": buyer, "supplier": supplier, "observer": observer, "platform": platform}
    if not any(orgs.values()):
        raise click.UsageError("name at least one side's organisation (--buyer, --supplier, ...)")
    mint = _minter(ttl, data_dir, jwt_key)
    for team_role, side in SIDE.items():
        org = orgs[side.value]
        if org:
            click.echo(f"{team_role} {mint(side.value, org, f'{org}.{team_role}', '', [team_role])}")


@main.command()
@click.option("--redis-url", default=None, callback=_checked_redis_url, help="The Redis holding the journal [BIDSERVER_REDIS_URL; else the embedded one of the data dir].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="The data dir of `serve` whose embedded Redis holds the journal [BIDSERVER_DATA_DIR, ./data].")
@click.option("--archive", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Replay an archive file (<id>.jsonl.gz or its manifest) instead of Redis.")
@click.option("--events/--no-events", default=False, help="Also print every event (JSON lines) before the state.")
@click.option("--verify", is_flag=True, default=False, help="Check the auction byte for byte and print a JSON report instead of the view.")
@click.argument("auction_id", required=False)
def replay(redis_url, data_dir, archive, events, verify, auction_id) -> None:
    """Rebuild an auction from its journal (or its archive) alone and print the buyer's view.

    For audits and incident checks: the result is what the server would recover after a crash.
    The hash chain is checked on every replay (exit 3 naming the first bad entry). With
    ``--verify`` also: every event re-encodes to exactly the bytes its writer sealed, and two
    replays give the same state byte for byte; the report names the chain's head hash.

    The journal is where ``serve`` keeps it: ``--redis-url``, else the embedded Redis of the data
    dir, read through the server's socket while a server runs there, else started for the replay
    (which only reads) and stopped afterwards.
    """
    if archive is not None:
        sys.exit(asyncio.run(_replay(None, archive, auction_id, events, verify)))
    if auction_id is None:
        raise click.UsageError("give an AUCTION_ID (or --archive FILE)")
    settings = _settings(data_dir=data_dir)
    url = redis_url or (settings.redis_url if data_dir is None else None)  # a flag beats the env
    if url:
        sys.exit(asyncio.run(_replay(url, None, auction_id, events, verify)))
    with _embedded_journal(settings.data_dir) as url:
        code = asyncio.run(_replay(url, None, auction_id, events, verify))
    sys.exit(code)


@main.group()
def audit() -> None:
    """The tamper-evident audit log: an auction's journal and the tree heads the server signed.

    `export` writes one file that holds everything an auditor needs; `verify` checks it offline
    (bidserver's own code, no server, no Redis); `public-key` prints the key to pin."""


@audit.command("export")
@click.option("--redis-url", default=None, callback=_checked_redis_url, help="The Redis holding the journal [BIDSERVER_REDIS_URL; else the embedded one of the data dir].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="The data dir of `serve` whose embedded Redis holds the journal [BIDSERVER_DATA_DIR, ./data].")
@click.option("--archive", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Take the entries from this archive file (<id>.jsonl.gz or its manifest) of an auction that left Redis; the heads still come from Redis.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None, help="Write the file here [standard output].")
@click.argument("auction_id")
def audit_export(redis_url, data_dir, archive, out, auction_id) -> None:
    """Export an auction's audit log: every journal entry as stored, the signed tree heads and
    the public keys that signed them, as JSON lines (docs/operations.md, "Audit log")."""
    from . import clock
    from .audit import AuditError, export

    settings = _settings(data_dir=data_dir)
    url = redis_url or (settings.redis_url if data_dir is None else None)  # a flag beats the env
    try:
        if url:
            data, entries, heads = asyncio.run(export(url, auction_id, archive, clock.now_ms()))
        else:
            with _embedded_journal(settings.data_dir) as url:
                data, entries, heads = asyncio.run(
                    export(url, auction_id, archive, clock.now_ms())
                )
    except AuditError as exc:
        raise click.ClickException(str(exc)) from None
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    out.write_bytes(data)
    click.echo(f"auction {auction_id}: {entries} entries and {heads} signed tree heads "
               f"exported to {out}", err=True)


@audit.command("verify")
@click.option("--public-key", "public_keys", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Trust only this key (PEM, from `bidserver audit public-key`); repeatable. Without it the keys in the file are used, which proves only that the file agrees with itself.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def audit_verify(public_keys, file) -> None:
    """Prove offline that an exported log is complete and unchanged: its hash chain, the Merkle
    root at every signed tree head, each head's signature. Prints one line: ok with counts, or
    the first problem, naming the entry (exit 1)."""
    from .store.audit_log import AuditFailed, outcome, verify
    from .store.audit_log import public_keys as read_keys

    try:
        trusted = read_keys(public_keys) if public_keys else None
        data = file.read_bytes()
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        report = verify(data, trusted)
    except AuditFailed as failed:
        click.echo(f"FAILED: {failed}")
        sys.exit(1)
    click.echo(outcome(report))


@audit.command("public-key")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="The data dir of `serve`, which holds signing.key [BIDSERVER_DATA_DIR, ./data].")
def audit_public_key(data_dir) -> None:
    """Print the public key the server signs tree heads with (PEM), for auditors to pin."""
    from .audit import SIGNING_KEY_FILE, AuditError, audit_signing_key, public_pem

    settings = _settings(data_dir=data_dir)
    if not (settings.data_dir / SIGNING_KEY_FILE).is_file():
        raise click.ClickException(
            f"no {SIGNING_KEY_FILE} in {settings.data_dir}: `serve` creates it at its first start"
        )
    try:
        click.echo(public_pem(audit_signing_key(settings)), nl=False)
    except AuditError as exc:
        raise click.ClickException(str(exc)) from None


@contextlib.contextmanager
def _embedded_journal(data_dir: Path) -> Iterator[str]:
    """The URL of the data dir's embedded Redis: the running server's, or one started (and
    stopped) here when no server owns the data dir."""
    from .store.embedded import DataDirInUse, EmbeddedRedis, EmbeddedRedisError

    embedded = EmbeddedRedis.of_data_dir(data_dir)
    if not embedded.data_dir.is_dir():
        raise click.ClickException(
            f"no journal in {data_dir} (no {embedded.data_dir}): give the data dir `serve` uses "
            "(--data-dir) or --redis-url"
        )
    try:
        embedded.start()
    except DataDirInUse:  # a server runs there: read through its socket
        yield embedded.url
        return
    except EmbeddedRedisError as exc:
        raise click.ClickException(f"the embedded Redis of {data_dir} did not start: {exc}") from None
    click.echo(f"no server on {data_dir}: started its Redis to read the journal", err=True)
    try:
        yield embedded.url
    finally:
        embedded.stop()


async def _entries(redis_url: str, auction_id: str) -> list[tuple[int, bytes]] | int:
    from .store.redis_journal import RedisJournal

    from .store.journal import JournalError

    journal = RedisJournal(redis_url, allow_unsafe=True)  # read only: durability is not at stake
    try:
        entries = await journal.read(auction_id)
        archived = None if entries else await journal.archived(auction_id)
    except JournalError as exc:  # one line that says what is wrong, not a traceback
        raise click.ClickException(f"cannot read the journal at {redis_url}: {exc}") from None
    finally:
        await journal.close()
    if archived is not None:
        click.echo(f"auction {auction_id!r} is archived (up to entry {archived[0]}): replay its "
                   f"archive with --archive <archive dir>/{auction_id}.jsonl.gz", err=True)
        return 1
    if not entries:
        click.echo(f"no journal for auction {auction_id!r}", err=True)
        return 1
    return entries


async def _replay(
    redis_url: str | None, archive: Path | None, auction_id: str | None, print_events: bool,
    verify: bool,
) -> int:
    import hashlib

    import msgspec

    from .engine.formats import FORMATS
    from .engine.values import Actor, Role
    from .runtime.journaling import ChainBroken, from_journal
    from .store.archive import ArchiveError, Archives
    from .store.chain import verify as verify_chain

    if archive is not None:
        try:
            manifest, entries = Archives(archive.parent).read_file(archive)
        except (ArchiveError, ChainBroken) as exc:
            click.echo(f"archive refused: {exc}", err=True)
            return 3
        if auction_id is not None and auction_id != manifest.auction_id:
            click.echo(f"the archive is of auction {manifest.auction_id!r}", err=True)
            return 1
        auction_id = manifest.auction_id
    else:
        entries = await _entries(redis_url, auction_id)
        if isinstance(entries, int):
            return entries
    try:
        fmt, decoded, head = from_journal(FORMATS, auction_id, entries)
    except ChainBroken as broken:
        click.echo(f"journal refused: {broken}", err=True)
        return 3
    if print_events:
        for event in decoded:
            click.echo(fmt.encode_event(event).decode())
    state = fmt.replay(auction_id, decoded)
    if verify:
        sealed = [bytes(e.event) for e in verify_chain(auction_id, entries)]
        for seq, (event, original) in enumerate(zip(decoded, sealed, strict=True), start=1):
            if fmt.encode_event(event) != original:
                click.echo(f"auction {auction_id!r}: entry {seq} does not re-encode to the "
                           "bytes its writer sealed (a field this version does not read?)", err=True)
                return 3
        state_bytes = fmt.state_bytes(state)
        if fmt.state_bytes(fmt.replay(auction_id, decoded)) != state_bytes:
            click.echo(f"auction {auction_id!r}: two replays differ", err=True)
            return 3
        report = {
            "auction_id": auction_id, "format": fmt.name, "entries": len(entries),
            "head_seq": head.seq, "head_hash": head.hash,
            "state_sha256": hashlib.sha256(state_bytes).hexdigest(), "verified": True,
        }
        click.echo(msgspec.json.encode(report).decode())
        return 0
    view = fmt.view(state, Actor(Role.BUYER, state.buyer))
    click.echo(msgspec.json.encode(view).decode())
    return 0
