"""``bidserver tender submit|revise|withdraw|upload`` and ``bidserver receipt verify|fetch``: a
supplier's side of a sealed tender over the HTTP API, from a terminal, before the UI, and anyone's
check of a receipt against the server's key (offline with its PEM, or fetched with ``--server``).

A bid is sealed here (or read sealed from ``tender seal``'s output), posted, and the server's
signed receipt is checked before it is saved: against the commitment sent (the server signed for
these bytes), and against the server's published key (``GET /api/keys/signing``), so a saved
receipt is one that ``bidserver receipt verify`` accepts. Every failure is one line and exit 1:
the server's refusal (its ``reason`` and ``detail``), a server that cannot be reached, a receipt
that does not check. httpx is imported in the commands, so ``serve`` does not load it.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
from datetime import UTC, datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import click

from .cli_sealing import CONTENT_OPTIONS, _FILE, _blob, _key, _sealed

_TIMEOUT_S = 30.0


@click.group()
def receipt() -> None:
    """The server's signed receipts for submissions, revisions and withdrawals."""


@receipt.command()
@click.argument("file", type=_FILE)
@click.option("--public-key", type=_FILE, default=None, help="The server's published Ed25519 public key (PEM, or base64 of its 32 bytes): offline.")
@click.option("--server", default=None, help="Or the server's URL: its key from GET /api/keys/signing.")
def verify(file: Path, public_key: Path | None, server: str | None) -> None:
    """Check a receipt against the server's key: exit 0 and "valid: ..." or exit 1 and why not."""
    import msgspec

    from .sealing.pem import read_public
    from .sealing.receipts import SignedReceipt, key_id, verify_receipt

    if (public_key is None) == (server is None):
        raise click.UsageError("give the server's key: --public-key FILE (offline) or --server URL")
    if public_key is not None:
        public = _key(read_public, "ed25519", public_key)
    else:
        public = server_key(server)
    try:
        signed = msgspec.json.decode(file.read_bytes(), type=SignedReceipt)
    except msgspec.DecodeError as exc:
        _invalid(f"{file} is not a receipt: {exc}")
    r = signed.receipt
    if r.key_id != key_id(public):
        _invalid(f"signed with key {r.key_id}, not with this one ({key_id(public)})")
    if not verify_receipt(public, signed):
        _invalid("the signature does not match: the receipt was altered")
    click.echo(
        f"valid: {r.kind} bid {r.bid_id!r} of supplier {r.supplier!r} in tender {r.tender_id!r}, "
        f"{r.commitment}, received {_when(r.received_at_ms)}, log entry {r.log_entry}, key {r.key_id}"
    )


def _when(ms: int) -> str:
    """``1767225600123`` -> ``2026-01-01T00:00:00.123Z``."""
    when = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _invalid(why: str) -> NoReturn:
    click.echo(f"invalid: {why}", err=True)
    sys.exit(1)


def _connection(fn: Callable) -> Callable:
    fn = click.option("--token", envvar="BIDSERVER_TOKEN", required=True, help="Your bearer token [BIDSERVER_TOKEN].")(fn)
    return click.option("--server", envvar="BIDSERVER_URL", required=True, help="The server's URL, e.g. https://bids.example.org [BIDSERVER_URL].")(fn)


def _new_bid(fn: Callable) -> Callable:
    """The bid to post: sealed already (``--sealed``), or sealed here from the prices."""
    options = [
        click.option("--tender", "tender_id", required=True, help="The tender's id."),
        click.option("--bid-id", default=None, help="Your id for the new bid; resending the same id never makes a second bid [a new random one]."),
        click.option("--sealed", "sealed_file", type=_FILE, default=None, help="The bid sealed by `tender seal` (its JSON output, or the sealed bytes as base64)."),
        click.option("--public-key", type=_FILE, default=None, help="Seal here instead: the tender's public key (PEM or base64)."),
        click.option("--supplier", default=None, help="With --public-key or --signing-key: your supplier id."),
        click.option("--currency", default=None, help="With --public-key: the tender's currency."),
        click.option("--lot", "lots", multiple=True, help="With --public-key: a lot's id, one --amount per --lot."),
        click.option("--amount", "amounts", multiple=True, help="With --public-key: a lot's price, e.g. 123.45."),
        click.option("--bid-security-ref", default=None, help="With --public-key: the bid security's reference."),
        *CONTENT_OPTIONS,
        click.option("--signing-key", type=_FILE, default=None, help="Sign the bid with your organisation's registered key (private.pem from `tender keygen-signing`); needs --supplier."),
        click.option("--receipt", "receipt_out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to save the signed receipt (never overwritten)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command()
@_connection
@_new_bid
def submit(server: str, token: str, **bid: Any) -> None:
    """Submit a sealed bid and save the server's signed receipt."""
    _post_bid(server, token, None, **bid)


@click.command()
@_connection
@click.option("--replaces", required=True, help="The id of your bid this one replaces.")
@_new_bid
def revise(server: str, token: str, replaces: str, **bid: Any) -> None:
    """Replace your bid with a new sealed one and save the server's signed receipt."""
    _post_bid(server, token, replaces, **bid)


@click.command()
@_connection
@click.option("--tender", "tender_id", required=True, help="The tender's id.")
@click.option("--bid", "bid_id", required=True, help="The id of your bid to withdraw.")
@click.option("--receipt", "receipt_out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to save the signed receipt (never overwritten).")
def withdraw(server: str, token: str, tender_id: str, bid_id: str, receipt_out: Path) -> None:
    """Withdraw your bid and save the server's signed receipt."""
    _free(receipt_out)
    path = f"/api/tenders/{quote(tender_id, safe='')}/bids/{quote(bid_id, safe='')}/withdrawal"
    answer = _call(server, token, "POST", path)
    signed = _checked(server, answer, tender_id, bid_id, "withdrawn", None)
    _save(receipt_out, signed, f"withdrew bid {bid_id!r} of tender {tender_id!r}")


@click.command()
@_connection
@click.option("--tender", "tender_id", required=True, help="The tender's id.")
@click.argument("sealed", type=_FILE)
def upload(server: str, token: str, tender_id: str, sealed: Path) -> None:
    """Upload a document of your bid, sealed by `tender seal-file` (before the deadline).

    The server stores the sealed bytes by their SHA-256, which the bid then names with
    --document NAME=sha256:<hex>. Uploading the same file again changes nothing.
    """
    import hashlib

    data = sealed.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    path = f"/api/tenders/{quote(tender_id, safe='')}/files/{digest}"
    answer = _call(server, token, "PUT", path, content=data)
    stored = "stored" if answer.get("created") else "already stored"
    click.echo(f"{stored}: {sealed.name} as sha256:{digest} ({len(data)} bytes) in tender {tender_id!r}")


@receipt.command()
@click.argument("file", type=_FILE)
@click.option("--public-key", type=_FILE, default=None, help="The server's published Ed25519 public key (PEM, or base64 of its 32 bytes): offline.")
@click.option("--server", default=None, help="Or the server's URL: its key from GET /api/keys/signing.")
def verify(file: Path, public_key: Path | None, server: str | None) -> None:
    """Check a receipt against the server's key: exit 0 and "valid: ..." or exit 1 and why not."""
    import msgspec

    from .sealing.pem import read_public
    from .sealing.receipts import SignedReceipt, key_id, verify_receipt

    if (public_key is None) == (server is None):
        raise click.UsageError("give the server's key: --public-key FILE (offline) or --server URL")
    if public_key is not None:
        public = _key(read_public, "ed25519", public_key)
    else:
        public = server_key(server)
    try:
        signed = msgspec.json.decode(file.read_bytes(), type=SignedReceipt)
    except msgspec.DecodeError as exc:
        _invalid(f"{file} is not a receipt: {exc}")
    r = signed.receipt
    if r.key_id != key_id(public):
        _invalid(f"signed with key {r.key_id}, not with this one ({key_id(public)})")
    if not verify_receipt(public, signed):
        _invalid("the signature does not match: the receipt was altered")
    click.echo(
        f"valid: {r.kind} bid {r.bid_id!r} of supplier {r.supplier!r} in tender {r.tender_id!r}, "
        f"{r.commitment}, received {_when(r.received_at_ms)}, log entry {r.log_entry}, key {r.key_id}"
    )


def _when(ms: int) -> str:
    """``1767225600123`` -> ``2026-01-01T00:00:00.123Z``."""
    when = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _invalid(why: str) -> NoReturn:
    click.echo(f"invalid: {why}", err=True)
    sys.exit(1)


def _connection(fn: Callable) -> Callable:
    fn = click.option("--token", envvar="BIDSERVER_TOKEN", required=True, help="Your bearer token [BIDSERVER_TOKEN].")(fn)
    return click.option("--server", envvar="BIDSERVER_URL", required=True, help="The server's URL, e.g. https://bids.example.org [BIDSERVER_URL].")(fn)


def _new_bid(fn: Callable) -> Callable:
    """The bid to post: sealed already (``--sealed``), or sealed here from the prices."""
    options = [
        click.option("--tender", "tender_id", required=True, help="The tender's id."),
        click.option("--bid-id", default=None, help="Your id for the new bid; resending the same id never makes a second bid [a new random one]."),
        click.option("--sealed", "sealed_file", type=_FILE, default=None, help="The bid sealed by `tender seal` (its JSON output, or the sealed bytes as base64)."),
        click.option("--public-key", type=_FILE, default=None, help="Seal here instead: the tender's public key (PEM or base64)."),
        click.option("--supplier", default=None, help="With --public-key or --signing-key: your supplier id."),
        click.option("--currency", default=None, help="With --public-key: the tender's currency."),
        click.option("--lot", "lots", multiple=True, help="With --public-key: a lot's id, one --amount per --lot."),
        click.option("--amount", "amounts", multiple=True, help="With --public-key: a lot's price, e.g. 123.45."),
        click.option("--bid-security-ref", default=None, help="With --public-key: the bid security's reference."),
        *CONTENT_OPTIONS,
        click.option("--signing-key", type=_FILE, default=None, help="Sign the bid with your organisation's registered key (private.pem from `tender keygen-signing`); needs --supplier."),
        click.option("--receipt", "receipt_out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to save the signed receipt (never overwritten)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command()
@_connection
@_new_bid
def submit(server: str, token: str, **bid: Any) -> None:
    """Submit a sealed bid and save the server's signed receipt."""
    _post_bid(server, token, None, **bid)


@click.command()
@_connection
@click.option("--replaces", required=True, help="The id of your bid this one replaces.")
@_new_bid
def revise(server: str, token: str, replaces: str, **bid: Any) -> None:
    """Replace your bid with a new sealed one and save the server's signed receipt."""
    _post_bid(server, token, replaces, **bid)


@click.command()
@_connection
@click.option("--tender", "tender_id", required=True, help="The tender's id.")
@click.option("--bid", "bid_id", required=True, help="The id of your bid to withdraw.")
@click.option("--receipt", "receipt_out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to save the signed receipt (never overwritten).")
def withdraw(server: str, token: str, tender_id: str, bid_id: str, receipt_out: Path) -> None:
    """Withdraw your bid and save the server's signed receipt."""
    _free(receipt_out)
    path = f"/api/tenders/{quote(tender_id, safe='')}/bids/{quote(bid_id, safe='')}/withdrawal"
    answer = _call(server, token, "POST", path)
    signed = _checked(server, answer, tender_id, bid_id, "withdrawn", None)
    _save(receipt_out, signed, f"withdrew bid {bid_id!r} of tender {tender_id!r}")


@click.command()
@_connection
@click.option("--tender", "tender_id", required=True, help="The tender's id.")
@click.argument("sealed", type=_FILE)
def upload(server: str, token: str, tender_id: str, sealed: Path) -> None:
    """Upload a document of your bid, sealed by `tender seal-file` (before the deadline).

    The server stores the sealed bytes by their SHA-256, which the bid then names with
    --document NAME=sha256:<hex>. Uploading the same file again changes nothing.
    """
    import hashlib

    import httpx

    data = sealed.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    path = f"/api/tenders/{quote(tender_id, safe='')}/files/{digest}"
    try:
        reply = httpx.put(server.rstrip("/") + path, content=data, timeout=_TIMEOUT_S,
                          headers={"authorization": f"Bearer {token}",
                                   "content-type": "application/octet-stream"})
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach {server}: {exc}; upload it again") from None
    if reply.status_code >= 300:
        try:
            problem = reply.json()
        except ValueError:
            problem = {}
        detail = f": {problem['detail']}" if problem.get("detail") else ""
        raise click.ClickException(f"refused ({reply.status_code} {problem.get('reason', '')}){detail}")
    stored = "stored" if reply.json().get("created") else "already stored"
    click.echo(f"{stored}: {sealed.name} as sha256:{digest} ({len(data)} bytes) in tender {tender_id!r}")


@receipt.command()
@_connection
@click.option("--tender", "tender_id", required=True, help="The tender's id.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory for the receipts, one file each: <kind>-<bid id>.json.")
def fetch(server: str, token: str, tender_id: str, out: Path) -> None:
    """Fetch your receipts in a tender again (an answer lost on the way loses no receipt)."""
    from .sealing.receipts import SignedReceipt

    answer = _call(server, token, "GET", f"/api/tenders/{quote(tender_id, safe='')}/receipts")
    public = server_key(server)
    out.mkdir(parents=True, exist_ok=True)
    saved = 0
    for item in answer.get("receipts", []):
        signed = _verified(public, _decode(item, SignedReceipt))
        path = out / quote(f"{signed.receipt.kind}-{signed.receipt.bid_id}.json", safe="")
        if not path.exists():  # the same receipt again is the same bytes: kept as it is
            _write(path, signed)
            saved += 1
    click.echo(f"{len(answer.get('receipts', []))} receipts in tender {tender_id!r}, {saved} new, in {out}")


def server_key(server: str) -> bytes:
    """The server's published Ed25519 public key (raw), from ``GET /api/keys/signing``."""
    from .sealing.pem import read_public
    from .sealing.receipts import key_id

    answer = _call(server, None, "GET", "/api/keys/signing")
    try:
        public = read_public("ed25519", answer["public_key"])
    except (KeyError, TypeError, ValueError):
        raise click.ClickException(f"{server} published no Ed25519 key at /api/keys/signing") from None
    if answer.get("key_id") != key_id(public):
        raise click.ClickException(f"{server}: the published key_id is not the key's")
    return public


def _post_bid(server: str, token: str, replaces: str | None, *, tender_id: str, bid_id: str | None,
              sealed_file: Path | None, public_key: Path | None, supplier: str | None,
              currency: str | None, lots: tuple[str, ...], amounts: tuple[str, ...],
              bid_security_ref: str | None, signing_key: Path | None, receipt_out: Path,
              **content: Any) -> None:
    _free(receipt_out)
    if (sealed_file is None) == (public_key is None):
        raise click.UsageError("give either --sealed (a bid sealed by `tender seal`) or --public-key and the prices")
    if signing_key is not None and supplier is None:
        raise click.UsageError("--signing-key needs --supplier: the signature names you")
    if sealed_file is not None:
        if any(value not in (None, ()) for value in content.values()):
            raise click.UsageError("--sealed is sealed already: the quote's terms and documents go to `tender seal`")
        sealed = _sealed_from_file(sealed_file, tender_id)
        commitment = _commitment(sealed)
    else:
        if supplier is None or currency is None or not lots:
            raise click.UsageError("--public-key needs --supplier, --currency and --lot/--amount")
        sealed, commitment = _sealed(public_key, tender_id, supplier, currency, lots, amounts,
                                     bid_security_ref, **content)
    bid_id = bid_id or f"bid-{secrets.token_hex(6)}"
    body = {"bid_id": bid_id, "sealed": base64.b64encode(sealed).decode(), "commitment": commitment}
    if signing_key is not None:
        body["signature"] = _signature(signing_key, tender_id, supplier, bid_id, commitment)
    base = f"/api/tenders/{quote(tender_id, safe='')}/bids"
    path = base if replaces is None else f"{base}/{quote(replaces, safe='')}/revision"
    try:
        answer = _call(server, token, "POST", path, body)
    except _Unanswered as exc:  # the same bytes under the same bid id are never a second bid
        again = sealed_file
        if again is None:  # sealed here: kept, as sealing again makes other bytes, another bid
            again = receipt_out.with_name(receipt_out.name + ".sealed.json")
            _free(again)
            again.write_text(json.dumps({"tender_id": tender_id, "commitment": commitment,
                                         "sealed": body["sealed"]}))
        signing = f" --signing-key {signing_key}" if signing_key is not None else ""
        raise click.ClickException(f"{exc.message}; to send the same bid again: --sealed {again} "
                                   f"--bid-id {bid_id}{signing}") from None
    kind = "submitted" if replaces is None else "revised"
    signed = _checked(server, answer, tender_id, bid_id, kind, commitment)
    _save(receipt_out, signed, f"{kind} bid {bid_id!r} to tender {tender_id!r}")


def _signature(path: Path, tender_id: str, supplier: str, bid_id: str, commitment: str) -> str:
    """The bid's signature (base64) with the Ed25519 key in ``path`` (``sealing.bid_signature``);
    Ed25519 signs deterministically, so a resend of the same bid carries the same signature."""
    from .sealing import FIRST
    from .sealing.bid_signature import BidStatement, sign_bid
    from .sealing.pem import read_private

    private = _key(read_private, "ed25519", path)
    statement = BidStatement(bid_id=bid_id, commitment=commitment, supplier=supplier,
                             tender_id=tender_id)
    return base64.b64encode(sign_bid(FIRST, private, statement)).decode()


def _sealed_from_file(path: Path, tender_id: str) -> bytes:
    """The sealed bytes of ``tender seal``'s output (checked to be for this tender), or of a file
    of just the sealed bytes (base64 or raw)."""
    data = path.read_bytes()
    try:
        printed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return _blob(data)
    if not isinstance(printed, dict) or not isinstance(printed.get("sealed"), str):
        raise click.ClickException(f"{path}: not the output of `tender seal` (no \"sealed\")")
    if printed.get("tender_id") != tender_id:
        raise click.ClickException(f"{path}: sealed for tender {printed.get('tender_id')!r}, not {tender_id!r}")
    return _blob(printed["sealed"].encode())


def _commitment(sealed: bytes) -> str:
    from .sealing import FIRST

    return FIRST.commitment(sealed)


def _checked(server: str, answer: dict[str, Any], tender_id: str, bid_id: str, kind: str,
             commitment: str | None) -> Any:
    """The answer's receipt, once it is the receipt of what was sent, signed by the server's
    published key."""
    from .sealing.receipts import SignedReceipt

    signed = _verified(server_key(server), _decode(answer.get("receipt"), SignedReceipt))
    r = signed.receipt
    sent = (tender_id, bid_id, kind) + ((commitment,) if commitment is not None else ())
    got = (r.tender_id, r.bid_id, str(r.kind)) + ((r.commitment,) if commitment is not None else ())
    if got != sent:
        raise click.ClickException(f"the server's receipt is for {got}, not for what was sent {sent}")
    return signed


def _verified(public: bytes, signed: Any) -> Any:
    from .sealing.receipts import verify_receipt

    if not verify_receipt(public, signed):
        raise click.ClickException("the server's receipt does not verify with its published key")
    return signed


def _decode(data: Any, kind: type) -> Any:
    import msgspec

    try:  # as JSON again: the signature is base64 text, as in a receipt's file
        return msgspec.json.decode(msgspec.json.encode(data), type=kind)
    except msgspec.ValidationError as exc:
        raise click.ClickException(f"the server's answer holds no receipt: {exc}") from None


def _free(path: Path) -> None:
    """Refuse before posting, not after: a receipt already there is never overwritten."""
    if path.exists():
        raise click.ClickException(f"{path} exists: a receipt is never overwritten")


def _write(path: Path, signed: Any) -> None:
    import msgspec

    with path.open("xb") as handle:
        handle.write(msgspec.json.encode(signed) + b"\n")


def _save(path: Path, signed: Any, done: str) -> None:
    _write(path, signed)
    r = signed.receipt
    click.echo(f"{done}: received {_when(r.received_at_ms)}, receipt saved to {path}")


class _Unanswered(click.ClickException):
    """No answer, or the server could not do it now (5xx): the outcome may be unknown, and the
    same request sent again is the way to know it."""


def _call(server: str, token: str | None, method: str, path: str, body: Any = None, *,
          content: bytes | None = None) -> dict[str, Any]:
    """The JSON answer of one API call (a JSON ``body``, or raw bytes as ``content``); one line
    for any failure."""
    import httpx

    headers = {"authorization": f"Bearer {token}"} if token else {}
    if content is not None:
        headers["content-type"] = "application/octet-stream"
    try:
        reply = httpx.request(method, server.rstrip("/") + path, json=body, content=content,
                              headers=headers, timeout=_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise _Unanswered(f"cannot reach {server}: {exc}") from None
    try:
        answer = reply.json()
    except ValueError:
        answer = None
    if reply.status_code >= 300:
        error = _Unanswered if reply.status_code >= 500 else click.ClickException
        if isinstance(answer, dict) and "reason" in answer:
            detail = f": {answer['detail']}" if answer.get("detail") else ""
            raise error(f"refused ({reply.status_code} {answer['reason']}){detail}")
        raise error(f"refused ({reply.status_code}) by {server}")
    if not isinstance(answer, dict):
        raise click.ClickException(f"{server} answered {method} {path} with no JSON object")
    return answer
