"""``bidserver tender``: sealed tenders from a terminal, before the UI, offline.

An officer makes its keypair and opens its handed-out share; a supplier seals a bid to a tender's
public key. What talks to a server (posting a bid, receipts) is ``cli_client``. The sealing package
is imported in the commands, not here, so ``serve`` and ``--help`` do not load it. Every failure is
one line (``click.ClickException``), never a traceback.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)

# What a bid holds besides its prices: an RFQ's quote terms, and the documents it names (each
# sealed by `tender seal-file` and uploaded by `tender upload`). ``tender seal`` and ``tender
# submit|revise --public-key`` take them alike.
CONTENT_OPTIONS = (
    click.option("--delivery-days", type=click.IntRange(min=0), default=None, help="An RFQ's quote: days from the order to delivery."),
    click.option("--validity-days", type=click.IntRange(min=1), default=None, help="An RFQ's quote: days after the deadline it stays binding."),
    click.option("--certificate", "certificates", multiple=True, help="An RFQ's quote: a certificate you hold (e.g. 'ISO 9001'); repeat for each."),
    click.option("--document", "documents", multiple=True, help="A document of the bid, as NAME=sha256:<hex> of its sealed file (printed by `tender seal-file`); repeat for each."),
)


def content_options(fn: Callable) -> Callable:
    for option in reversed(CONTENT_OPTIONS):
        fn = option(fn)
    return fn


@click.group()
def tender() -> None:
    """Sealed tenders: keypairs, sealing a bid, opening an officer's share."""


@tender.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory for private.pem (mode 0600) and public.pem; never overwritten.")
def keygen(out: Path) -> None:
    """Make an X25519 keypair (an officer's, or a tender's) as PEM files."""
    from .sealing import FIRST
    from .sealing.keys import write_keypair
    from .sealing.pem import public_b64

    private, public = FIRST.keypair()
    try:
        private_path, public_path = write_keypair(out, "x25519", private, public)
    except OSError as exc:  # FileExistsError: a key is there already
        raise click.ClickException(str(exc)) from None
    click.echo(f"private key: {private_path} (keep it to yourself)")
    click.echo(f"public key:  {public_path} ({public_b64(public)})")


@tender.command("keygen-signing")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory for private.pem (mode 0600) and public.pem; never overwritten.")
def keygen_signing(out: Path) -> None:
    """Make an Ed25519 keypair for signing your organisation's bids (`submit --signing-key`).

    The buyer registers the public key with your invitation; the signature it checks is shown
    with your bid in the opening record, so anyone can tell your organisation handed it in."""
    from .sealing import FIRST
    from .sealing.keys import write_keypair
    from .sealing.pem import public_b64

    private, public = FIRST.signing_keypair()
    try:
        private_path, public_path = write_keypair(out, "ed25519", private, public)
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"private key: {private_path} (keep it to yourself)")
    click.echo(f"public key:  {public_path} ({public_b64(public)}: give it to the buyer to register)")


@tender.command()
@click.option("--public-key", type=_FILE, required=True, help="The tender's public key (PEM, or base64 of its 32 bytes).")
@click.option("--tender", "tender_id", required=True, help="The tender's id.")
@click.option("--supplier", required=True, help="Your supplier id, as the tender knows you.")
@click.option("--currency", required=True, help="ISO 4217 code of the tender's currency, e.g. EUR.")
@click.option("--lot", "lots", multiple=True, required=True, help="A lot's id; repeat with one --amount per --lot, in the same order.")
@click.option("--amount", "amounts", multiple=True, required=True, help="A lot's price, e.g. 123.45, in the currency's units.")
@click.option("--bid-security-ref", default=None, help="The bid security's reference, when the tender asks for one.")
@content_options
def seal(public_key: Path, tender_id: str, supplier: str, currency: str, lots: tuple[str, ...],
         amounts: tuple[str, ...], bid_security_ref: str | None, **content: Any) -> None:
    """Seal a bid to the tender's public key: prints it (base64) and its commitment, as JSON.

    The price never leaves this machine unsealed; the commitment is what the server's receipt
    names. Sealed with the first suite, hpke-x25519-sha256-aes256gcm+ed25519.
    """
    import msgspec

    from .sealing import FIRST

    sealed, commitment = _sealed(public_key, tender_id, supplier, currency, lots, amounts,
                                 bid_security_ref, **content)
    click.echo(msgspec.json.encode({
        "tender_id": tender_id, "suite": FIRST.name, "commitment": commitment,
        "sealed": base64.b64encode(sealed).decode(),
    }).decode())


def _documents(given: tuple[str, ...]) -> tuple:
    from .sealing.bid import BidDocument

    documents = []
    for text in given:
        name, sep, digest = text.rpartition("=")
        if not sep or not name or not digest.startswith("sha256:"):
            raise click.UsageError(f"--document {text!r}: give NAME=sha256:<hex>")
        documents.append(BidDocument(name=name, digest=digest))
    return tuple(documents)


def _sealed(public_key: Path, tender_id: str, supplier: str, currency: str, lots: tuple[str, ...],
            amounts: tuple[str, ...], bid_security_ref: str | None, *, delivery_days: int | None = None,
            validity_days: int | None = None, certificates: tuple[str, ...] = (),
            documents: tuple[str, ...] = ()) -> tuple[bytes, str]:
    """A bid sealed here, on the supplier's machine, and its commitment."""
    from .sealing import FIRST, SealError
    from .sealing.bid import LotPrice, bid_content, seal_bid
    from .sealing.pem import read_public

    if len(lots) != len(amounts):
        raise click.UsageError(f"{len(lots)} --lot and {len(amounts)} --amount: give one --amount per --lot")
    if len(set(lots)) != len(lots):
        raise click.UsageError("a --lot is given twice: one price per lot")
    currency = currency.upper()
    prices = tuple(
        LotPrice(lot_id=lot, amount=_minor_units(text, currency)) for lot, text in zip(lots, amounts, strict=True)
    )
    public = _key(read_public, "x25519", public_key)
    content = bid_content(tender_id, supplier, currency, prices, bid_security_ref,
                          delivery_days=delivery_days, validity_days=validity_days,
                          certificates=tuple(certificates), documents=_documents(documents))
    try:
        sealed = seal_bid(FIRST, public, content)
    except SealError as exc:
        raise click.ClickException(f"{public_key}: {exc}") from None
    except ValueError as exc:  # over the size limit
        raise click.ClickException(str(exc)) from None
    return sealed, FIRST.commitment(sealed)


@tender.command("open-share")
@click.option("--key", type=_FILE, required=True, help="Your private key (private.pem from `tender keygen`).")
@click.option("--share", type=_FILE, required=True, help="The share handed out to you, sealed (base64 or raw bytes).")
def open_share(key: Path, share: Path) -> None:
    """Open the key share handed out to you and print it, to keep and present at the opening."""
    from .sealing import SealError
    from .sealing.officers import open_share as open_sealed
    from .sealing.pem import read_private
    from .sealing.shamir import share_to_text

    private = _key(read_private, "x25519", key)
    try:
        opened = open_sealed(private, _blob(share.read_bytes()))
    except SealError as exc:
        raise click.ClickException(f"{share}: not a share sealed to this key ({exc})") from None
    click.echo(share_to_text(opened))


def _write_new(out: Path, data: bytes) -> None:
    """Write ``data`` to ``out``, which must not exist yet (a document is never overwritten)."""
    try:
        with out.open("xb") as handle:
            handle.write(data)
    except OSError as exc:
        raise click.ClickException(str(exc)) from None


def _key(read, algorithm: str, path: Path) -> bytes:
    try:
        return read(algorithm, path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None


def _blob(data: bytes) -> bytes:
    """Sealed bytes from a file: base64 text (as the API and `tender seal` give them), else raw."""
    try:
        return base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        return data


def _minor_units(text: str, currency: str) -> int:
    """``"123.45"`` in EUR -> 12345: exact, refused (not rounded) with more decimals than the
    currency has."""
    import iso4217

    try:
        digits = iso4217.Currency(currency).exponent
    except ValueError:
        raise click.BadParameter(f"{currency!r} is not an ISO 4217 currency code", param_hint="--currency") from None
    if digits is None:
        raise click.BadParameter(f"{currency} has no minor unit: not a currency to bid in", param_hint="--currency")
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not an amount (e.g. 123.45)", param_hint="--amount") from None
    if not amount.is_finite() or amount <= 0:
        raise click.BadParameter(f"{text!r}: the price must be a positive amount", param_hint="--amount")
    if amount.as_tuple().exponent < -digits:
        raise click.BadParameter(f"{text!r} has more decimals than {currency}'s {digits}", param_hint="--amount")
    minor = int(amount.scaleb(digits))
    if minor >= 2**63:
        raise click.BadParameter(f"{text!r} is too large", param_hint="--amount")
    return minor


@tender.command("seal-file")
@click.option("--public-key", type=_FILE, required=True, help="The tender's public key (PEM, or base64 of its 32 bytes).")
@click.option("--tender", "tender_id", required=True, help="The tender's id.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to write the sealed file (not overwritten).")
@click.argument("document", type=_FILE)
def seal_file(public_key: Path, tender_id: str, out: Path, document: Path) -> None:
    """Seal a bid document to the tender's public key: writes the sealed file and prints its
    digest, what the bid names it by and the upload's path ends in (PUT /api/tenders/{id}/files/
    {hex})."""
    from .sealing import FIRST, SealError
    from .sealing.documents import seal_document
    from .sealing.pem import read_public

    public = _key(read_public, "x25519", public_key)
    try:
        sealed = seal_document(FIRST, public, tender_id, document.read_bytes())
    except SealError as exc:
        raise click.ClickException(f"{public_key}: {exc}") from None
    _write_new(out, sealed)
    click.echo(FIRST.commitment(sealed))


@tender.command("open-file")
@click.option("--key", type=_FILE, required=True, help="The tender's private key: PEM, or the base64 of its 32 bytes as the opened tender's view gives it (opening.private_key).")
@click.option("--tender", "tender_id", required=True, help="The tender's id.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to write the document (not overwritten).")
@click.argument("sealed", type=_FILE)
def open_file(key: Path, tender_id: str, out: Path, sealed: Path) -> None:
    """Open a sealed bid document downloaded from GET /api/tenders/{id}/files/{hex} with the
    tender's private key, public once the bids are opened."""
    from .sealing import FIRST, SealError
    from .sealing.documents import open_document
    from .sealing.pem import read_private

    text = key.read_bytes()
    private = _blob(text)
    if len(private) != 32:
        private = _key(read_private, "x25519", key)
    try:
        document = open_document(FIRST, private, tender_id, sealed.read_bytes())
    except SealError as exc:
        raise click.ClickException(f"{sealed}: not a document of tender {tender_id} sealed to this key ({exc})") from None
    _write_new(out, document)
    click.echo(f"{out}: {len(document)} bytes")
