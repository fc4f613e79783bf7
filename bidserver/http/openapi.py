"""The OpenAPI 3.1 document, generated from the route table and the msgspec body types.

Generated rather than written by hand so it cannot drift from the code: every route in
``routes.ROUTES`` appears with its summary (the handler's docstring) and, where it takes a body,
the JSON Schema msgspec derives from the very Struct the handler decodes (size limits included).
Errors are ``Problem``s, except on ``POST /api/auctions/{id}/bids``, which answers refusals with
the live room's ``BidResult``: its responses are derived here from the same tables that choose
the statuses at run time (``wire``), so the document says which shape each status carries.
"""

from __future__ import annotations

import functools
from importlib.metadata import version
import re
from typing import Any

import msgspec

from .. import wire
from ..engine.rejections import Reason, Rejection
from ..engine.reverse.decide import BID_REASONS
from .routes import ROUTES

_ERROR_CODES = sorted({str(f) for f in wire.Failure} | {str(r) for r in Reason})

F = wire.Failure
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


def _bid_responses(refs: dict[str, dict[str, str]]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        status: {"description": text, "content": _json(refs["BidResult"])}
        for status, text in _BID_OK.items()
    }
    for status, shapes in sorted(_bid_outcomes().items()):
        schemas = [refs[shape] for shape in sorted(shapes)]
        described = "; ".join(
            f"{shape} with `{'reason' if shape == 'BidResult' else 'error'}` one of "
            + ", ".join(sorted(reasons))
            for shape, reasons in sorted(shapes.items())
        )
        responses[str(status)] = {
            "description": f"Refused: {described}.",
            "content": _json(schemas[0] if len(schemas) == 1 else {"anyOf": schemas}),
        }
    return responses


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _reason_enums(components: dict[str, Any]) -> None:
    """Machine-readable reasons as enums, so a client generator knows every value."""
    components["Problem"]["properties"]["error"]["enum"] = _ERROR_CODES
    result = components["BidResult"]["properties"]
    result["status"]["enum"] = ["accepted", "rejected"]
    reasons = sorted({str(r) for r in BID_REASONS} | {str(f) for f in _BID_RESULT_FAILURES})
    result["reason"]["anyOf"] = [{"type": "string", "enum": reasons}, {"type": "null"}]


@functools.cache
def openapi_document() -> dict[str, Any]:
    bodies = sorted(
        {getattr(r.endpoint, "body_type", None) for r in ROUTES} - {None},
        key=lambda t: t.__name__,
    )
    (schemas_for_bodies, components) = msgspec.json.schema_components(
        [*bodies, wire.Problem, wire.BidResult],
        ref_template="#/components/schemas/{name}",
    )
    body_refs = dict(zip([*bodies, wire.Problem, wire.BidResult], schemas_for_bodies))
    _reason_enums(components)
    refs = {"Problem": body_refs[wire.Problem], "BidResult": body_refs[wire.BidResult]}
    error = {
        "description": "Refused: a machine-readable reason in `error`.",
        "content": _json(refs["Problem"]),
    }
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        for method in sorted(route.methods - {"HEAD"}):
            endpoint = route.endpoint
            summary = (endpoint.__doc__ or "").strip().splitlines()[0] if endpoint.__doc__ else ""
            op: dict[str, Any] = {
                "operationId": f"{method.lower()}_{endpoint.__name__}",
                "summary": summary,
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in re.findall(r"{(\w+)}", route.path)
                ] + [
                    {"name": name, "in": "query", "required": False, "schema": schema,
                     "description": text}
                    for name, (schema, text) in getattr(endpoint, "query", {}).items()
                ],
                "responses": {
                    "200": {"description": "OK"},
                    "4XX": error,
                    "500": {**error, "description": "A bug (`internal_error`), nothing more said."},
                    "503": {**error, "description": "The journal (Redis) is unavailable."},
                },
            }
            if route.path.startswith("/api/auctions"):
                op["security"] = [{"bearer": []}]
            body_type = getattr(endpoint, "body_type", None)
            if body_type is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": body_refs[body_type]}},
                }
            if endpoint.__name__ == "place_bid":
                op["responses"] = {**_bid_responses(refs), "4XX": error}
            paths.setdefault(route.path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bidserver",
            "version": version("bidserver"),
            "description": "Live reverse auctions. The WebSocket protocol of the live rooms "
            "(/ws/auctions/{auction_id}) is documented in docs/protocol.md.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
