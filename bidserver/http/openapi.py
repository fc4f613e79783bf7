"""The OpenAPI 3.1 document, generated from the route table and the msgspec body types.

Generated rather than written by hand so it cannot drift from the code: every route in
``routes.ROUTES`` appears with its summary (the handler's docstring) and, where it takes a body,
the JSON Schema msgspec derives from the very Struct the handler decodes.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

from .. import wire
from ..engine.rejections import Reason
from .routes import ROUTES

_ERROR_CODES = sorted({str(f) for f in wire.Failure} | {str(r) for r in Reason})


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
    components["Problem"]["properties"]["error"]["enum"] = _ERROR_CODES
    error = {
        "description": "Refused: a machine-readable reason in `error`.",
        "content": {"application/json": {"schema": body_refs[wire.Problem]}},
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
                ],
                "responses": {
                    "200": {"description": "OK"},
                    "4XX": error,
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
                op["responses"]["201"] = {
                    "description": "Accepted (200 for a resend of an accepted bid id).",
                    "content": {"application/json": {"schema": body_refs[wire.BidResult]}},
                }
            paths.setdefault(route.path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bidserver",
            "version": "0.1.0",
            "description": "Live reverse auctions. The WebSocket protocol of the live rooms "
            "(/ws/auctions/{auction_id}) is documented in docs/protocol.md.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
