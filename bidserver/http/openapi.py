"""The OpenAPI 3.1 document, generated from the route table and the msgspec types.

Generated rather than written by hand so it cannot drift from the code: every route in
``routes.ROUTES`` appears with its summary (the handler's docstring), the JSON Schema msgspec
derives from the very Struct its body decodes as (sizes, patterns and bounds included, so the
document states what decoding enforces), and its answers: the Struct each success is
(``answers``), and each error status the handler can give, with the reasons of that status from
the tables that choose it at run time (``wire``). Errors are ``Problem``s
(``application/problem+json``), except on ``POST /api/auctions/{id}/bids``, which answers
refusals with the live room's ``BidResult``.
"""

from __future__ import annotations

import functools
import re
import typing
from importlib.metadata import version
from typing import Any

import msgspec

from .. import wire
from ..engine.formats import API_FORMATS
from ..engine.rejections import Reason, Rejection
from ..engine.reverse.decide import BID_REASONS
from .answers import AuctionAnswer
from .operations import DOCUMENTED_PATHS, OPERATIONS_ROUTES
from .routes import ROUTES
from .receipts import RECEIPT_ROUTES
from .bid_files import BID_FILE_ROUTES
from .ocds_export import OCDS_ROUTES
from .rfq import RFQ_ROUTES
from .suppliers import SUPPLIER_ROUTES
from .tenders import TENDER_ROUTES
from .session import DEV_ROUTES, SESSION_ROUTES

F = wire.Failure
# Reasons only a live room's socket gives, never an HTTP route.
_SOCKET_ONLY = {F.ORIGIN_NOT_ALLOWED, F.LAGGING}
_HTTP_REASONS = sorted({str(f) for f in F if f not in _SOCKET_ONLY} | {str(r) for r in Reason})
# POST .../bids: what is answered as a BidResult (the engine's refusals, and what the server could
# not do with a well-formed bid), and what as a Problem (what is wrong with the request itself).
_BID_RESULT_FAILURES = (
    F.JOURNAL_UNAVAILABLE, F.WRITER_UNAVAILABLE, F.NOT_DECIDED, F.INTERNAL
)
_BID_PROBLEM_FAILURES = (
    F.MISSING_TOKEN, F.INVALID_TOKEN, F.EXPIRED_TOKEN, F.BAD_ROLE, F.BAD_REQUEST,
    F.MESSAGE_TOO_BIG, F.UNKNOWN_AUCTION, F.INTERNAL,  # INTERNAL: a bug, whatever the route
)
_BID_OK = {
    "201": "Accepted: durable in the journal before this answer.",
    "200": "A resend of an accepted bid id: the original result (`duplicate: true`).",
}
_AUTHENTICATED = (  # every route under them needs a token
    "/api/auctions", "/api/tenders", "/api/suppliers", "/api/categories")
_AUTH_FAILURES = (F.MISSING_TOKEN, F.INVALID_TOKEN, F.EXPIRED_TOKEN, F.BAD_ROLE)


def _reasons_by_status() -> dict[int, list[str]]:
    """Every reason an HTTP route may give, by its status (``wire``'s tables)."""
    out: dict[int, set[str]] = {}
    for failure in F:
        if failure not in _SOCKET_ONLY:
            out.setdefault(wire.failure_status(failure), set()).add(str(failure))
    for reason in Reason:
        out.setdefault(wire.rejection_status(Rejection(reason=reason)), set()).add(str(reason))
    return {status: sorted(reasons) for status, reasons in out.items()}


def _bid_outcomes() -> dict[int, dict[str, set[str]]]:
    """status -> {"BidResult" | "Problem": reasons}, from the tables the route answers with."""
    out: dict[int, dict[str, set[str]]] = {}

    def add(status: int, shape: str, reason: str) -> None:
        out.setdefault(status, {}).setdefault(shape, set()).add(reason)

    for reason in BID_REASONS:
        add(wire.rejection_status(Rejection(reason=reason)), "BidResult", str(reason))
    for failure in _BID_RESULT_FAILURES:
        add(wire.failure_status(failure), "BidResult", str(failure))
    for failure in _BID_PROBLEM_FAILURES:
        add(wire.failure_status(failure), "Problem", str(failure))
    return out


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _octets(media_type: str) -> dict[str, Any]:
    """Raw bytes (a sealed file), not JSON."""
    return {media_type: {"schema": {"type": "string", "contentMediaType": media_type}}}


def _problem(schema: dict[str, Any]) -> dict[str, Any]:
    return {wire.PROBLEM_JSON: {"schema": schema}}


def _bid_responses(refs: dict[Any, dict[str, str]]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        status: {"description": text, "content": _json(refs[wire.BidResult])}
        for status, text in _BID_OK.items()
    }
    for status, shapes in sorted(_bid_outcomes().items()):
        described = "; ".join(
            f"{shape} with `reason` one of " + ", ".join(sorted(reasons))
            for shape, reasons in sorted(shapes.items())
        )
        content: dict[str, Any] = {}
        if "BidResult" in shapes:
            content |= _json(refs[wire.BidResult])
        if "Problem" in shapes:
            content |= _problem(refs[wire.Problem])
        responses[str(status)] = {"description": f"Refused: {described}.", "content": content}
    return responses


def _error_statuses(path: str, endpoint: Any) -> set[int]:
    """What a route may answer besides its successes: a bug (500) and a Host it does not serve
    (421) anywhere; a token's refusal under the authenticated paths (``_AUTHENTICATED``); an
    unknown auction and the journal being away where one is loaded; a
    malformed or oversized body where one is read; and what the handler itself refuses."""
    statuses = {500, wire.failure_status(wire.Failure.HOST_NOT_ALLOWED), *(endpoint.refusals or ())}
    if path.startswith(_AUTHENTICATED):
        statuses |= {wire.failure_status(f) for f in _AUTH_FAILURES}
    if "{auction_id}" in path:
        statuses |= {404, 503}
    if endpoint.body_type is not None:
        statuses |= {400, 413}
    return statuses


def _reason_enums(components: dict[str, Any]) -> None:
    """Machine-readable reasons as enums, so a client generator knows every value."""
    for member in ("reason", "error"):
        components["Problem"]["properties"][member]["enum"] = _HTTP_REASONS
    result = components["BidResult"]["properties"]
    result["status"]["enum"] = ["accepted", "rejected"]
    reasons = sorted({str(r) for r in BID_REASONS} | {str(f) for f in _BID_RESULT_FAILURES})
    result["reason"]["anyOf"] = [{"type": "string", "enum": reasons}, {"type": "null"}]


def _optional_format_tags(components: dict[str, Any]) -> None:
    """Each format's configuration is decoded alone on its own route, so its ``format`` tag may
    be left out (msgspec decodes a lone tagged Struct without it): the document must not say it
    is required."""
    for fmt in API_FORMATS:
        config = components.get(fmt.config_type.__name__)
        if config is None:  # a document without that format's routes
            continue
        config["required"] = [name for name in config["required"] if name != "format"]


def refine(components: dict[str, Any]) -> None:
    """What the Structs' types cannot say, in every document made from them (this one and the
    browser UI's, ``ui_schema``): the reasons' values, and the format tag's being optional."""
    _reason_enums(components)
    _optional_format_tags(components)


def _body_required(components: dict[str, Any], body_type: type) -> bool:
    """An empty body reads as ``{}``: one is needed only where a member is."""
    return bool(components[body_type.__name__].get("required"))


def _answer_types(kind: Any) -> list[Any]:
    """An answer's types as the document states them: an auction answer holds the view of one
    of the formats the API creates (the views are not tagged Structs, so msgspec cannot make a
    union of them: one answer type per format, and ``_answer_schema`` says any of them)."""
    if kind is AuctionAnswer:
        return [AuctionAnswer[typing.get_type_hints(fmt.view)["return"]] for fmt in API_FORMATS]
    return [kind]


def _answer_schema(kind: Any, refs: dict[Any, dict[str, str]]) -> dict[str, Any]:
    schemas = [refs[each] for each in _answer_types(kind)]
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


def _operations(dev_sign_in: bool) -> list[tuple[str, str, Any]]:
    """The documented routes: those this server serves (development sign-in's only when on)."""
    routes = [
        *ROUTES, *TENDER_ROUTES, *SUPPLIER_ROUTES, *RFQ_ROUTES, *OCDS_ROUTES, *BID_FILE_ROUTES,
        *RECEIPT_ROUTES, *SESSION_ROUTES,
        *(DEV_ROUTES if dev_sign_in else ()),
        *(r for r in OPERATIONS_ROUTES if r.path in DOCUMENTED_PATHS),
    ]
    return [
        (route.path, method, route.endpoint)
        for route in routes
        for method in sorted(route.methods - {"HEAD"})
    ]


def _summary(endpoint: Any) -> tuple[str, str]:
    lines = (endpoint.__doc__ or "").strip().splitlines()
    rest = " ".join(line.strip() for line in lines[1:] if line.strip())
    return (lines[0] if lines else ""), rest


@functools.cache
def openapi_document(*, dev_sign_in: bool = False) -> dict[str, Any]:
    """The document of a server with development sign-in on or off: the routes it serves, so a
    client generated from it never calls one that is not there."""
    operations = _operations(dev_sign_in)
    types: list[Any] = [wire.Problem, wire.BidResult]
    for _, _, endpoint in operations:
        if endpoint.body_type is not None:
            types.append(endpoint.body_type)
        types += [each for kind in (endpoint.answer or {}).values() if kind
                  for each in _answer_types(kind)]
    types = list(dict.fromkeys(types))
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    refs = dict(zip(types, schemas))
    refine(components)
    reasons = _reasons_by_status()

    def error(status: int) -> dict[str, Any]:
        return {
            "description": f"Refused: a Problem with `reason` one of {', '.join(reasons[status])}.",
            "content": _problem(refs[wire.Problem]),
        }

    paths: dict[str, dict[str, Any]] = {}
    for path, method, endpoint in operations:
        summary, description = _summary(endpoint)
        responses: dict[str, Any] = {}
        media = endpoint.media or {}
        for status, kind in sorted((endpoint.answer or {}).items()):
            content = (
                _json(_answer_schema(kind, refs)) if kind is not None
                else _octets(media["answer"]) if "answer" in media
                else {"text/csv": {"schema": {"type": "string"}}}
            )
            responses[str(status)] = {"description": "OK" if status < 300 else "Degraded",
                                      "content": content}
            if status == 201:
                responses["201"]["description"] = "Created"
                responses["201"]["headers"] = {"Location": {
                    "description": "The new auction's URL",
                    "schema": {"type": "string"},
                }}
        for status in sorted(_error_statuses(path, endpoint)):
            responses.setdefault(str(status), error(status))
        op: dict[str, Any] = {
            "operationId": endpoint.__name__,
            "summary": summary,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{(\w+)}", path)
            ] + [
                {"name": name, "in": "query", "required": False, "schema": schema,
                 "description": text}
                for name, (schema, text) in (endpoint.query or {}).items()
            ],
            "responses": responses,
        }
        if description:
            op["description"] = description
        if path.startswith(_AUTHENTICATED):
            op["security"] = [{"bearer": []}]
        if endpoint.body_type is not None:
            op["requestBody"] = {
                "required": _body_required(components, endpoint.body_type),
                "content": _json(refs[endpoint.body_type]),
            }
        if "body" in media:
            op["requestBody"] = {"required": True, "content": _octets(media["body"])}
        if endpoint.__name__ == "place_bid":
            op["responses"] = _bid_responses(refs)
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bidserver",
            "version": version("bidserver"),
            "description": "Live reverse auctions and sealed tenders. Amounts are integers in the minor units of "
            "the auction's currency; times are milliseconds since the Unix epoch (UTC). Errors "
            "are RFC 9457 problem details. The WebSocket protocol of the live rooms "
            "(/ws/auctions/{auction_id}) is documented in docs/protocol.md.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
