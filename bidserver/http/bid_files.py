"""The HTTP API of a sealed bid's documents: upload a sealed file, list and download them.

A supplier's client seals each document to the tender's public key (``sealing.documents``),
uploads the sealed bytes under their SHA-256 (``PUT /api/tenders/{id}/files/{sha256}``) and names
them, with their names, inside its sealed bid (``SealedBidContent.documents``). The server never
sees a document, only ciphertext, and the journal never holds it: the file store does
(``store.files``), the journal the bid that names the file's digest.

What is protected, and how. Before the opening nobody but the uploader can tell whether a
supplier has documents, how many or what they are called: the list is inside the sealed bid
(sending it in clear beside the bid would tell the buyer and the journal's readers), the store
answers the buyer "no such file" for any digest, and a supplier lists only its own uploads. The
server's operator sees the number of files each supplier uploaded and their sizes to within
64 KiB (``sealing.documents.BUCKET``): the price of keeping megabytes out of the journal. Because
the list is inside the bid, the server cannot check at submission that the files are there; the
supplier's client checks its own uploads (``GET .../files``) before it seals the bid, and after
the opening the buyer's listing says for each document of each opened bid whether its file is
stored (``stored``): a missing or unreadable document is then a matter of qualification, which
the buyer decides with a reason (the engine does no I/O). The files are ciphertext to the end:
after the opening the tender's private key is in its view, and whoever may download a file
opens it with ``bidserver tender open-file`` (or ``sealing.documents.open_document``).

Who may do what is the engine's pure rule (``engine.tender.bid_files``); this module does the
I/O. An upload is streamed to disk, never held in memory whole, refused past the size limit
(``BIDSERVER_MAX_BID_FILE_BYTES``, 413 ``message_too_big``: declared or sent), refused if its
bytes are not its digest (422 ``commitment_mismatch``) or do not look sealed (422
``not_sealed``), and durable before it is answered. It must be complete before the submission
deadline, as a bid must be received before it.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .. import sealing, wire
from ..auth import Principal
from ..engine.rejections import Reason, Rejection
from ..engine.tender import conflicts
from ..engine.tender.bid_files import readable_from, upload_refusal
from ..engine.values import Role
from ..runtime.auction import Auction
from ..sealing.documents import SAMPLE, plaintext_fault, size_fault
from ..store.files import FileStore, FileTooBig, is_hex_digest
from .refused_reads import refused_read
from .routes import JSON, ApiError, _fail, _principal, _refused, _tender_room, handler

_DIGEST = msgspec.Meta(pattern=r"^sha256:[0-9a-f]{64}$",
                       description="`sha256:<hex>` of the sealed file's bytes")
OCTETS = "application/octet-stream"


class StoredFile(msgspec.Struct, frozen=True, kw_only=True):
    digest: Annotated[str, _DIGEST]
    size: Annotated[int, msgspec.Meta(ge=0, description="bytes of the sealed file")]
    created: Annotated[bool, msgspec.Meta(
        description="false: the same bytes were stored already (an upload is idempotent)")]


class ListedDocument(msgspec.Struct, frozen=True, kw_only=True):
    supplier: str
    name: Annotated[str, msgspec.Meta(description="The document's name, as the bid gives it")]
    digest: Annotated[str, _DIGEST]
    stored: Annotated[bool, msgspec.Meta(
        description="whether the store holds the supplier's file of that digest")]
    size: int | None = None  # bytes of the stored file


class FileList(msgspec.Struct, frozen=True, kw_only=True):
    """A supplier's own uploads (``uploads``), or, for the buyer's organisation once the bids are
    opened, every document every opened bid names (``documents``)."""

    uploads: list[StoredFile] = []
    documents: list[ListedDocument] = []


def _store(request: Request) -> FileStore:
    settings = request.app.state.services.settings
    return FileStore(settings.files_at, settings.max_bid_file_bytes)


def _may_upload(request: Request, room: Auction, principal: Principal) -> None:
    refusal = upload_refusal(room.state, principal.actor, request.app.state.services.now_ms())
    if refusal is not None:
        raise ApiError(wire.problem_for_rejection(refusal))


def _too_big(limit: int) -> ApiError:
    return _fail(wire.Failure.MESSAGE_TOO_BIG,
                 f"a sealed bid document is at most {limit} bytes (BIDSERVER_MAX_BID_FILE_BYTES)")


async def upload_bid_file(request: Request) -> Response:
    """Upload a sealed bid document by the SHA-256 of its bytes (invited supplier, before the
    deadline).

    The body is the document sealed to the tender's public key (`application/octet-stream`).
    Stored durably, apart from the journal, before this answer; the same bytes again answer
    `created: false`. Refused: past the size limit (413 `message_too_big`), bytes that are not
    the path's digest (422 `commitment_mismatch`), bytes not sealed (422 `not_sealed`), after the
    deadline (409 `deadline_passed`), by anyone but an invited supplier (403)."""
    principal = _principal(request)
    room = await _tender_room(request, principal)
    hexdigest = request.path_params["sha256"]
    if not is_hex_digest(hexdigest):
        raise _refused(Reason.COMMITMENT_MISMATCH, "the path must end in 64 lowercase hex digits")
    _may_upload(request, room, principal)
    store = _store(request)
    suite = sealing.suite(room.state.config.suite)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        if int(declared) > store.max_bytes:
            raise _too_big(store.max_bytes)
        fault = size_fault(suite, int(declared))
        if fault is not None:
            raise _refused(Reason.NOT_SEALED, fault)
    try:
        receiving = store.upload(room.auction_id, principal.actor.party)
    except ValueError as exc:  # a supplier id no invitation gives: no directory is named by it
        raise _refused(Reason.FORBIDDEN, str(exc)) from None
    head = bytearray()
    async with receiving as upload:
        async for chunk in request.stream():
            try:
                await upload.write(chunk)
            except FileTooBig:
                raise _too_big(store.max_bytes) from None
            if len(head) < SAMPLE:
                head += chunk[:SAMPLE - len(head)]
                if len(head) == SAMPLE and (fault := plaintext_fault(bytes(head))) is not None:
                    raise _refused(Reason.NOT_SEALED, fault)
        fault = size_fault(suite, upload.size)
        if fault is not None:
            raise _refused(Reason.NOT_SEALED, fault)
        if upload.hexdigest != hexdigest:
            raise _refused(Reason.COMMITMENT_MISMATCH,
                           f"the bytes' SHA-256 is {upload.hexdigest}, not the path's")
        _may_upload(request, room, principal)  # received whole before the deadline, as a bid is
        created = await upload.commit()
    return JSON(StoredFile(digest=f"sha256:{hexdigest}", size=upload.size, created=created))


upload_bid_file.answer = {200: StoredFile}
upload_bid_file.refusals = (403, 409, 413, 422)
upload_bid_file.media = {"body": OCTETS}


async def download_bid_file(request: Request) -> Response:
    """Download a sealed bid document (its uploader always; the buyer's organisation once the
    bids are opened, a file an opened bid names).

    The bytes as uploaded: ciphertext, which the tender's private key (in its view once opened)
    opens, e.g. with `bidserver tender open-file`. Anyone else, and the buyer before the opening,
    is answered 404 `not_found`, as for a file that does not exist."""
    principal = _principal(request)
    room = await _tender_room(request, principal)
    hexdigest = request.path_params["sha256"]
    store = _store(request)
    for supplier in readable_from(room.state, principal.actor, f"sha256:{hexdigest}"):
        path = store.find(room.auction_id, supplier, hexdigest)
        if path is not None:
            return FileResponse(path, media_type=OCTETS, filename=f"{hexdigest}.sealed")
    raise await refused_read(room, principal, f"file sha256:{hexdigest}",
                             _fail(wire.Failure.NOT_FOUND, "no such file"))


download_bid_file.answer = {200: None}
download_bid_file.media = {"answer": OCTETS}


def _stored(store: FileStore, tender: str, supplier: str, hexdigest: str) -> int | None:
    path = store.find(tender, supplier, hexdigest)
    return None if path is None else path.stat().st_size


async def list_bid_files(request: Request) -> Response:
    """A supplier's own uploaded files; for the buyer's organisation once the bids are opened,
    every document of every opened bid and whether its file is stored.

    A supplier's client checks here that every file its bid will name is uploaded before it seals
    the bid. Before the opening the buyer is answered 409 `wrong_phase`: until then no one but
    the uploader learns whether a supplier uploaded anything."""
    principal = _principal(request)
    room = await _tender_room(request, principal)
    store, actor, state = _store(request), principal.actor, room.state
    if actor.role is Role.SUPPLIER:
        uploads = []
        for hexdigest in store.digests(room.auction_id, actor.party):
            size = _stored(store, room.auction_id, actor.party, hexdigest)
            if size is not None:
                uploads.append(StoredFile(digest=f"sha256:{hexdigest}", size=size, created=False))
        return JSON(FileList(uploads=uploads))
    if state.opened_at is None:
        raise await refused_read(room, principal, "files", _refused(
            Reason.WRONG_PHASE, "the bids are not opened yet: their documents are listed once "
            "they are"))
    withheld = conflicts.refusal(state, actor)  # a named officer or evaluator, not declared
    if withheld is not None:
        raise await refused_read(room, principal, "files",
                                 ApiError(wire.problem_for_rejection(withheld)))
    documents = []
    for line in state.record:
        if line.failed is not None:
            continue
        for document in line.documents:
            hexdigest = document.digest.removeprefix("sha256:")
            size = _stored(store, room.auction_id, line.supplier, hexdigest)
            documents.append(ListedDocument(supplier=line.supplier, name=document.name,
                                             digest=document.digest, stored=size is not None,
                                             size=size))
    return JSON(FileList(documents=documents))


list_bid_files.answer = {200: FileList}
list_bid_files.refusals = (403, 409)

_T = "/api/tenders/{auction_id}"
BID_FILE_ROUTES = [
    Route(f"{_T}/files", handler(list_bid_files), methods=["GET"]),
    Route(f"{_T}/files/{{sha256}}", handler(upload_bid_file), methods=["PUT"]),
    Route(f"{_T}/files/{{sha256}}", handler(download_bid_file), methods=["GET"]),
]
