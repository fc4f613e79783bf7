"""The HTTP API of the supplier registry: registration, documents, review, restrictions, appeals,
ratings, search, and the CPV categories.

Every change is a registry command (``engine.admission``) decided and stored by the service
(``runtime.admission``, which stamps it with the server's time), durable before it is answered;
the actor comes from the token, the supplier from the path (a supplier acts on its own record only: ``decide`` refuses another's).
A refusal is the engine's ``Rejection``, answered as any event's is (``wire``).

Who may read a record: its own supplier, the platform's reviewers, and a buyer's team (to invite
and to rate), the auditor included. A buyer reads what it needs to choose suppliers (the
registration, each category's status, restrictions, documents' titles and expiry, ratings) and
not the supplier's appeals, which are between the supplier and the platform.

The documents' files are kept by their SHA-256 in the file store (``store.files``, under
``<files_dir>/_registry``: no event id starts with ``_``), never in the journal or Redis; the
record names them. A file is uploaded first (``PUT .../files/{sha256}``), then described
(``POST .../documents``), so a described document's bytes are always there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .. import wire
from ..auth import Principal
from ..engine.admission import categories, standing as rules
from ..engine.admission.commands import (
    AddDocument, AnswerAppeal, ApplyForCategories, Command, Lift, LodgeAppeal, Qualify, Rate,
    Register, Reject, Restrict, UpdateRegistration,
)
from ..engine.admission.events import decode_event
from ..engine.admission.values import (
    CpvCode, Document, DocumentKind, DocumentNumber, DocumentTitle, Filename, Mark,
    Registration, RestrictionKind, Sha256, SupplierRecord,
)
from ..engine import permissions
from ..engine.permissions import Action, allows
from ..engine.rejections import Reason, Rejection
from ..engine.values import Id, Name, Role, Text
from ..runtime.admission import Admission
from ..store.files import FileStore, FileTooBig, is_hex_digest
from ..store.journal import JournalError
from .routes import JSON, ApiError, _body, _fail, _loaded, _principal, _refused, handler

WARN_WITHIN_MS = 30 * 24 * 3600 * 1000  # documents expiring within 30 days are warned of
OCTETS = "application/octet-stream"
_REGISTRY_FILES = "_registry"  # the file store's "event" for registry documents
_SUPPLIERS = "suppliers"


# ------------------------------------------------------------------ bodies


class RegisterBody(wire._Body):
    registration: Registration


class DocumentBody(wire._Body):
    sha256: Sha256
    kind: DocumentKind
    title: DocumentTitle
    valid_from: Annotated[int, msgspec.Meta(ge=0, description="ms since the epoch")]
    filename: Filename
    issuer: Name = ""
    number: DocumentNumber = ""
    expires_at: Annotated[int, msgspec.Meta(ge=0)] | None = None


class CategoriesBody(wire._Body):
    categories: Annotated[tuple[CpvCode, ...], msgspec.Meta(min_length=1, max_length=50)]


class QualificationBody(wire._Body):
    certificates: Annotated[tuple[Sha256, ...], msgspec.Meta(max_length=20, description=(
        "The certificates (documents of the record) the qualification rests on: it lapses when "
        "one of them expires"))] = ()
    reason: Text = ""


class DecisionReasonBody(wire._Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class RestrictionBody(wire._Body):
    kind: RestrictionKind
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    start_at: Annotated[int, msgspec.Meta(ge=0, description="Absent: now")] | None = None
    end_at: Annotated[int, msgspec.Meta(ge=0, description="Absent: indefinite")] | None = None


class AppealBody(wire._Body):
    appeal_id: Id
    about: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description=(
        "The rejected category's code or the restriction's id"))]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class AppealAnswerBody(wire._Body):
    upheld: bool
    answer: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class RatingBody(wire._Body):
    event_id: Id
    delivery: Mark
    quality: Mark
    service: Mark
    comment: Text = ""


# ------------------------------------------------------------------ answers


class CategoryStanding(msgspec.Struct, frozen=True, kw_only=True):
    category: str
    name: str  # the CPV code's English name
    status: rules.Status
    eligible: bool
    reason: rules.StandingReason | None = None
    until: int | None = None  # when eligibility may change by time alone (ms)
    detail: str = ""


class SupplierAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A supplier's record as the caller may read it, with what the server's clock says of it."""

    supplier: SupplierRecord
    status: rules.Status
    standings: tuple[CategoryStanding, ...]
    expiring: tuple[Document, ...]  # valid documents expiring within 30 days, soonest first
    rating: rules.RatingSummary
    now: int


class ListedSupplier(msgspec.Struct, frozen=True, kw_only=True):
    supplier_id: str
    legal_name: str
    country: str
    identifier: str
    status: rules.Status
    rating: rules.RatingSummary
    # For a search within a category: the supplier's standing in it (an invitation's check).
    standing: CategoryStanding | None = None


class SupplierPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ListedSupplier]
    next_cursor: str | None = None


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    event: dict  # the registry event as recorded: type, at, by, and its reasons


class HistoryAnswer(msgspec.Struct, frozen=True, kw_only=True):
    entries: list[HistoryEntry]


class Category(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str


class CategoryPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Category]


class StoredDocumentFile(msgspec.Struct, frozen=True, kw_only=True):
    sha256: str
    size: int
    created: bool  # false: the same bytes were stored already


# ------------------------------------------------------------------ who may read


def _admission(request: Request) -> Admission:
    return request.app.state.services.admission


def _path_id(request: Request) -> str:
    return request.path_params["supplier_id"]


def _reads_all(principal: Principal, supplier_id: str) -> bool:
    """The record's own supplier and the platform's reviewers read all of it."""
    own = principal.role is Role.SUPPLIER and principal.party == supplier_id
    return (own and allows(principal.actor, Action.READ_OWN_RECORD)) or (
        principal.role is Role.PLATFORM and allows(principal.actor, Action.READ_REGISTRY))


def _may_read(principal: Principal, supplier_id: str) -> None:
    """Its own supplier, and whoever the permission table lets read the registry (reviewers,
    buyers' managers, approvers, auditors) read a record; anyone else does not (404, as for a
    record that does not exist)."""
    if _reads_all(principal, supplier_id) or allows(principal.actor, Action.READ_REGISTRY):
        return
    raise _refused(Reason.NOT_REGISTERED, "no such supplier")


def _for(principal: Principal, record: SupplierRecord) -> SupplierRecord:
    return record if _reads_all(principal, record.supplier_id) else msgspec.structs.replace(
        record, appeals=())


def _standing_of(record: SupplierRecord, category: str, now: int) -> CategoryStanding:
    found = rules.standing(record, category, now)
    decision = record.decision(category)
    status = (rules.category_status(record, decision, now) if decision is not None
              else rules.Status.PENDING)
    return CategoryStanding(
        category=category, name=categories.name(category) or "", status=status,
        eligible=found.eligible, reason=found.reason, until=found.until, detail=found.detail)


def _answer(principal: Principal, record: SupplierRecord, now: int) -> SupplierAnswer:
    return SupplierAnswer(
        supplier=_for(principal, record), status=rules.overall_status(record, now),
        standings=tuple(_standing_of(record, d.category, now) for d in record.categories),
        expiring=rules.expiring(record, now, WARN_WITHIN_MS),
        rating=rules.rating_summary(record), now=now)


async def _unavailable(call):
    """A registry read or write with Redis away: 503, retry (never a 500)."""
    try:
        return await call
    except JournalError:
        raise _fail(wire.Failure.JOURNAL_UNAVAILABLE, "the registry is unavailable; retry") from None


async def _changed(request: Request, principal: Principal, supplier_id: str, command) -> Response:
    """Decide and store a registry command; the record after it, or the refusal."""
    result = await _unavailable(_admission(request).act(supplier_id, command))
    if isinstance(result, Rejection):
        raise ApiError(wire.problem_for_rejection(result))
    return JSON(_answer(principal, result, _admission(request).now()))


_CHANGE_REFUSALS = (403, 404, 409, 422, 503)


# ------------------------------------------------------------------ supplier's own


async def register_supplier(request: Request) -> Response:
    """Register the caller's organisation as a supplier (supplier admin; the record's id is the
    token's `org`): 201 with the record, its categories pending review. The identifier is
    checked by its country's rules (China's unified social credit code and its check character,
    EU and UK VAT numbers and their checksums) and is unique in the registry. Sending the same
    registration again answers it as it is."""
    principal = _principal(request)
    body = await _body(request, RegisterBody)
    command = Register(actor=principal.actor, at=0, registration=body.registration)
    response = await _changed(request, principal, principal.party, command)
    response.status_code = 201
    response.headers["location"] = f"/api/suppliers/{principal.party}"
    return response


register_supplier.body_type = RegisterBody
register_supplier.answer = {201: SupplierAnswer}
register_supplier.refusals = _CHANGE_REFUSALS


async def update_registration(request: Request) -> Response:
    """Replace the supplier's registration (its own admin): a category left out is withdrawn, a
    new one awaits review."""
    principal = _principal(request)
    body = await _body(request, RegisterBody)
    command = UpdateRegistration(actor=principal.actor, at=0,
                                 registration=body.registration)
    return await _changed(request, principal, _path_id(request), command)


update_registration.body_type = RegisterBody
update_registration.answer = {200: SupplierAnswer}
update_registration.refusals = _CHANGE_REFUSALS


def _files(request: Request) -> FileStore:
    settings = request.app.state.services.settings
    return FileStore(settings.files_at / _REGISTRY_FILES, settings.max_bid_file_bytes)


async def upload_document_file(request: Request) -> Response:
    """Upload a document's file by the SHA-256 of its bytes (the supplier's own admin), before
    describing it (`POST .../documents`). Stored durably before this answer, never in the
    journal; the same bytes again answer `created: false`. Refused past the size limit (413,
    `BIDSERVER_MAX_BID_FILE_BYTES`) or when the bytes are not the path's digest (422)."""
    principal = _principal(request)
    supplier_id, hexdigest = _path_id(request), request.path_params["sha256"]
    if not (principal.role is Role.SUPPLIER and principal.party == supplier_id):
        raise _refused(Reason.FORBIDDEN, "a supplier uploads its own documents")
    if not is_hex_digest(hexdigest):
        raise _refused(Reason.UNKNOWN_DOCUMENT, "the path must end in 64 lowercase hex digits")
    if await _unavailable(_admission(request).record(supplier_id)) is None:
        raise _refused(Reason.NOT_REGISTERED, "register before uploading documents")
    store = _files(request)
    declared = request.headers.get("content-length")
    too_big = _fail(wire.Failure.MESSAGE_TOO_BIG, f"a document is at most {store.max_bytes} bytes")
    if declared is not None and declared.isdigit() and int(declared) > store.max_bytes:
        raise too_big
    async with store.upload(_SUPPLIERS, supplier_id) as upload:
        async for chunk in request.stream():
            try:
                await upload.write(chunk)
            except FileTooBig:
                raise too_big from None
        if upload.hexdigest != hexdigest:
            raise _refused(Reason.UNKNOWN_DOCUMENT,
                           f"the bytes' SHA-256 is {upload.hexdigest}, not the path's")
        created = await upload.commit()
    return JSON(StoredDocumentFile(sha256=hexdigest, size=upload.size, created=created))


upload_document_file.answer = {200: StoredDocumentFile}
upload_document_file.refusals = (403, 404, 413, 503)
upload_document_file.media = {"body": OCTETS}


async def add_document(request: Request) -> Response:
    """Describe an uploaded file as a document of the record (licence or certificate: title,
    issuer, number, validity). Its size is the stored file's; a file not uploaded is refused
    (404 `unknown_document`)."""
    principal = _principal(request)
    supplier_id = _path_id(request)
    body = await _body(request, DocumentBody)
    path = _files(request).find(_SUPPLIERS, supplier_id, body.sha256)
    if path is None or not (principal.role is Role.SUPPLIER and principal.party == supplier_id):
        raise _refused(Reason.UNKNOWN_DOCUMENT, "upload the file first (PUT .../files/{sha256})")
    command = AddDocument(
        actor=principal.actor, at=0, sha256=body.sha256, kind=body.kind,
        title=body.title, valid_from=body.valid_from, filename=body.filename,
        size=path.stat().st_size, issuer=body.issuer, number=body.number,
        expires_at=body.expires_at)
    return await _changed(request, principal, supplier_id, command)


add_document.body_type = DocumentBody
add_document.answer = {200: SupplierAnswer}
add_document.refusals = _CHANGE_REFUSALS


async def download_document_file(request: Request) -> Response:
    """A document's file (whoever may read the record)."""
    principal = _principal(request)
    supplier_id, hexdigest = _path_id(request), request.path_params["sha256"]
    _may_read(principal, supplier_id)
    record = await _unavailable(_admission(request).record(supplier_id))
    document = None if record is None else record.document(hexdigest)
    path = None if document is None else _files(request).find(_SUPPLIERS, supplier_id, hexdigest)
    if document is None or path is None:
        raise _fail(wire.Failure.NOT_FOUND, "no such document")
    return FileResponse(path, media_type=OCTETS, filename=document.filename)


download_document_file.answer = {200: None}
download_document_file.refusals = (404, 503)
download_document_file.media = {"answer": OCTETS}


def _command_route(name: str, body_type: type, build: Callable[[Request, Principal, Any], Command],
                   doc: str) -> Callable:
    """A registry command on the path's supplier: its body, the command built from it, decided
    and stored (``_changed``); the engine refuses whoever may not give it."""

    async def endpoint(request: Request) -> Response:
        principal = _principal(request)
        body = await _body(request, body_type)
        return await _changed(request, principal, _path_id(request),
                              build(request, principal, body))

    endpoint.__name__ = name  # the operationId in the OpenAPI document
    endpoint.__doc__ = doc
    endpoint.body_type = body_type
    endpoint.answer = {200: SupplierAnswer}
    endpoint.refusals = _CHANGE_REFUSALS
    return endpoint


def _param(request: Request, name: str) -> str:
    return request.path_params[name]


apply_for_categories = _command_route(
    "apply_for_categories", CategoriesBody,
    lambda r, p, b: ApplyForCategories(actor=p.actor, at=0, categories=b.categories),
    "Apply for more categories (the supplier's own admin): each awaits review.")
lodge_appeal = _command_route(
    "lodge_appeal", AppealBody,
    lambda r, p, b: LodgeAppeal(actor=p.actor, at=0, appeal_id=b.appeal_id, about=b.about,
                                text=b.text),
    "Appeal a rejection or a restriction (the supplier's own admin); a reviewer answers it.")

# ------------------------------------------------------------------ the platform's reviewers

qualify_category = _command_route(
    "qualify_category", QualificationBody,
    lambda r, p, b: Qualify(actor=p.actor, at=0, category=_param(r, "category"),
                            certificates=b.certificates, reason=b.reason),
    "Qualify the supplier in a category it applied for (reviewer), naming the certificates the "
    "qualification rests on: it lapses, by itself, when one of them expires.")
reject_category = _command_route(
    "reject_category", DecisionReasonBody,
    lambda r, p, b: Reject(actor=p.actor, at=0, category=_param(r, "category"), reason=b.reason),
    "Reject the supplier in a category (reviewer), with a reason it is told and may appeal.")
restrict_supplier = _command_route(
    "restrict_supplier", RestrictionBody,
    lambda r, p, b: Restrict(actor=p.actor, at=0, kind=b.kind, reason=b.reason,
                             start_at=b.start_at, end_at=b.end_at),
    "Suspend or blacklist the supplier (reviewer), with a reason and a period (no end: "
    "indefinite). The live events it is invited to are told at once (docs/suppliers.md).")
lift_restriction = _command_route(
    "lift_restriction", DecisionReasonBody,
    lambda r, p, b: Lift(actor=p.actor, at=0, restriction_id=_param(r, "restriction_id"),
                         reason=b.reason),
    "Lift a suspension or a blacklisting (reviewer), with a reason.")
answer_appeal = _command_route(
    "answer_appeal", AppealAnswerBody,
    lambda r, p, b: AnswerAppeal(actor=p.actor, at=0, appeal_id=_param(r, "appeal_id"),
                                 upheld=b.upheld, answer=b.answer),
    "Answer an appeal (reviewer): upheld or not, with words. Upholding changes nothing by "
    "itself: the reviewer then qualifies or lifts.")


# ------------------------------------------------------------------ buyers


async def rate_supplier(request: Request) -> Response:
    """Rate the supplier's delivery, quality and service, 1 to 5, for an event of the caller's
    organisation awarded to it (buyer). One rating per event and buyer."""
    principal = _principal(request)
    body = await _body(request, RatingBody)
    supplier_id = _path_id(request)
    refusal = await _award_refusal(request, principal, body.event_id, supplier_id)
    if refusal is not None:
        raise ApiError(wire.problem_for_rejection(refusal))
    command = Rate(actor=principal.actor, at=0, event_id=body.event_id,
                   delivery=body.delivery, quality=body.quality, service=body.service,
                   comment=body.comment)
    return await _changed(request, principal, supplier_id, command)


rate_supplier.body_type = RatingBody
rate_supplier.answer = {200: SupplierAnswer}
rate_supplier.refusals = _CHANGE_REFUSALS


async def _award_refusal(request: Request, principal: Principal, event_id: str,
                         supplier_id: str) -> Rejection | None:
    """A rating is of work done: the event must be the caller's organisation's and awarded (at
    least one lot) to the supplier, as its OCDS releases say."""
    room = await _loaded(request, event_id)
    if room is None or not room.format.may_see(room.state, principal.actor) or \
            principal.role is not Role.BUYER:
        return Rejection(reason=Reason.UNKNOWN_AUCTION, detail="no such event of yours")
    releases = room.format.releases(room.state, principal.actor) or []
    suppliers = {s.get("id") for r in releases for a in r.get("awards", ())
                 for s in a.get("suppliers", ())}
    if supplier_id not in suppliers:
        return Rejection(reason=Reason.FORBIDDEN, detail="the event was not awarded to them")
    return None


# ------------------------------------------------------------------ reads


async def get_supplier(request: Request) -> Response:
    """A supplier's record (its own, the platform's reviewers, buyers' teams), with its status,
    each category's standing now, documents expiring within 30 days and its rating."""
    principal = _principal(request)
    supplier_id = _path_id(request)
    _may_read(principal, supplier_id)
    record = await _unavailable(_admission(request).record(supplier_id))
    if record is None:
        raise _refused(Reason.NOT_REGISTERED, "no such supplier")
    return JSON(_answer(principal, record, _admission(request).now()))


get_supplier.answer = {200: SupplierAnswer}
get_supplier.refusals = (404, 503)


async def supplier_history(request: Request) -> Response:
    """Every change of the record, in order: what, when, who and why."""
    principal = _principal(request)
    supplier_id = _path_id(request)
    _may_read(principal, supplier_id)
    logged = await _unavailable(_admission(request).history(supplier_id))
    if not logged:
        raise _refused(Reason.NOT_REGISTERED, "no such supplier")
    entries = []
    for version, data in enumerate(logged, start=1):
        event = msgspec.to_builtins(decode_event(data))
        if _reads_all(principal, supplier_id) or event.get("type") not in _APPEALS:
            entries.append(HistoryEntry(version=version, event=event))
    return JSON(HistoryAnswer(entries=entries))


_APPEALS = frozenset({"appeal_lodged", "appeal_answered"})
supplier_history.answer = {200: HistoryAnswer}
supplier_history.refusals = (404, 503)


_STATUSES = {s.value for s in rules.Status}


async def list_suppliers(request: Request) -> Response:
    """Search the registry (platform reviewers, buyers' teams): by the start of the legal name
    (`q`), the start of the identifier (`code`), a category (`category`: those who applied for
    it, with their standing in it; with `status=qualified`, those qualified in it), a status,
    or the reviewers' queue (`review=pending`). Ordered by legal name, a page at a time."""
    principal = _principal(request)
    refusal = permissions.refusal(principal.actor, Action.READ_REGISTRY)
    if refusal is not None:
        raise ApiError(wire.problem_for_rejection(refusal))
    query = request.query_params
    category, status = query.get("category", ""), query.get("status", "")
    if category and not categories.is_code(category):
        raise _refused(Reason.UNKNOWN_CATEGORY, f"{category!r} is not a CPV 2008 code")
    if status and status not in _STATUSES:
        raise _fail(wire.Failure.BAD_REQUEST, f"status must be one of {sorted(_STATUSES)}")
    if query.get("review", "pending") != "pending":
        raise _fail(wire.Failure.BAD_REQUEST, "review must be `pending`")
    try:
        limit = max(1, min(int(query.get("limit", "50")), 200))
    except ValueError:
        raise _fail(wire.Failure.BAD_REQUEST, "limit must be an integer") from None
    tags = []
    if category:
        tags.append(f"cat:{category}:{status or 'qualified'}")
        if status == "qualified":
            tags.append("status:qualified")  # and not under a restriction now
    elif status:
        tags.append(f"status:{status}")
    if query.get("review") == "pending":
        tags.insert(0, rules.REVIEW_QUEUE)
    admission = _admission(request)
    try:
        page = await _unavailable(admission.search(
            prefix=query.get("q", ""), code=query.get("code", ""), tags=tags,
            cursor=query.get("cursor") or None, limit=limit))
    except ValueError as exc:  # a cursor that is not one of ours
        raise _fail(wire.Failure.BAD_REQUEST, str(exc)) from None
    now = admission.now()
    records = await _unavailable(admission.records(page.ids))
    items = [
        ListedSupplier(
            supplier_id=r.supplier_id, legal_name=r.registration.legal_name,
            country=r.registration.country, identifier=r.registration.identifier,
            status=rules.overall_status(r, now), rating=rules.rating_summary(r),
            standing=_standing_of(r, category, now) if category else None)
        for r in records if r is not None
    ]
    return JSON(SupplierPage(items=items, next_cursor=page.next))


list_suppliers.query = {
    "q": ({"type": "string"}, "the start of the legal name (case-insensitive)"),
    "code": ({"type": "string"}, "the start of the identifier (credit code, VAT number)"),
    "category": ({"type": "string"}, "a CPV code: suppliers who applied for it"),
    "status": ({"type": "string", "enum": sorted(_STATUSES)},
               "the supplier's status (in `category` when given)"),
    "review": ({"type": "string", "enum": ["pending"]}, "`pending`: the reviewers' queue"),
    "limit": ({"type": "integer", "default": 50}, "items per page (clamped to 1..200)"),
    "cursor": ({"type": "string"}, "the previous page's next_cursor"),
}
list_suppliers.answer = {200: SupplierPage}
list_suppliers.refusals = (400, 403, 422, 503)


async def list_categories(request: Request) -> Response:
    """CPV 2008 categories whose code starts with, or whose name contains, `q` (for pickers)."""
    _principal(request)
    query = request.query_params
    try:
        limit = max(1, min(int(query.get("limit", "50")), 200))
    except ValueError:
        raise _fail(wire.Failure.BAD_REQUEST, "limit must be an integer") from None
    found = categories.search(query.get("q", ""), limit=limit)
    return JSON(CategoryPage(items=[Category(code=c, name=n) for c, n in found]))


list_categories.query = {
    "q": ({"type": "string"}, "a code's start or words of its name"),
    "limit": ({"type": "integer", "default": 50}, "items (clamped to 1..200)"),
}
list_categories.answer = {200: CategoryPage}
list_categories.refusals = (400,)


_S = "/api/suppliers/{supplier_id}"
SUPPLIER_ROUTES = [
    Route("/api/suppliers", handler(register_supplier), methods=["POST"]),
    Route("/api/suppliers", handler(list_suppliers), methods=["GET"]),
    Route("/api/categories", handler(list_categories), methods=["GET"]),
    Route(_S, handler(get_supplier), methods=["GET"]),
    Route(f"{_S}/history", handler(supplier_history), methods=["GET"]),
    Route(f"{_S}/registration", handler(update_registration), methods=["PUT"]),
    Route(f"{_S}/files/{{sha256}}", handler(upload_document_file), methods=["PUT"]),
    Route(f"{_S}/files/{{sha256}}", handler(download_document_file), methods=["GET"]),
    Route(f"{_S}/documents", handler(add_document), methods=["POST"]),
    Route(f"{_S}/categories", handler(apply_for_categories), methods=["POST"]),
    Route(f"{_S}/categories/{{category}}/qualification", handler(qualify_category),
          methods=["POST"]),
    Route(f"{_S}/categories/{{category}}/rejection", handler(reject_category), methods=["POST"]),
    Route(f"{_S}/restrictions", handler(restrict_supplier), methods=["POST"]),
    Route(f"{_S}/restrictions/{{restriction_id}}/lifting", handler(lift_restriction),
          methods=["POST"]),
    Route(f"{_S}/appeals", handler(lodge_appeal), methods=["POST"]),
    Route(f"{_S}/appeals/{{appeal_id}}/answer", handler(answer_appeal), methods=["POST"]),
    Route(f"{_S}/ratings", handler(rate_supplier), methods=["POST"]),
]
