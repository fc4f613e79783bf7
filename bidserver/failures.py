"""What the server could not do: the reasons that are not an engine's refusal of a command.

A leaf module, so that the runtime (journal down, writer gone, shutting down) and the edges
(tokens, origins, malformed messages) share one list of codes without importing each other.
``bidserver.wire`` maps each to its HTTP status and WebSocket close code. Rate limits have one
code, the engine's ``Reason.RATE_LIMITED``, whether the engine or an edge's bucket refused.
"""

from __future__ import annotations

import enum

import msgspec

# What decoding untrusted bytes (a client's message, a journal entry, a snapshot, an archive) may
# raise: msgspec before 0.20 lets invalid UTF-8 in a string out as UnicodeDecodeError, later
# releases as DecodeError (of which ValidationError is one), and nesting deeper than it recurses
# (a 3 KB message of 1,500 levels) is a RecursionError.
UNREADABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


class Failure(enum.StrEnum):
    MISSING_TOKEN = "missing_token"
    INVALID_TOKEN = "invalid_token"
    EXPIRED_TOKEN = "expired_token"
    BAD_ROLE = "bad_role"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    HOST_NOT_ALLOWED = "host_not_allowed"  # a Host this server is not configured to serve
    TOO_MANY_CONNECTIONS = "too_many_connections"  # the user holds max_sockets_per_user live rooms
    UNKNOWN_AUCTION = "unknown_auction"
    NOT_FOUND = "not_found"  # no such route
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BAD_REQUEST = "bad_request"  # malformed JSON or a message that is not in the protocol
    MESSAGE_TOO_BIG = "message_too_big"
    JOURNAL_UNAVAILABLE = "journal_unavailable"  # nothing was acknowledged; resend the same bid_id
    WRITER_UNAVAILABLE = "writer_unavailable"  # the auction's writing process did not answer; resend
    JOURNAL_BROKEN = "journal_broken"  # the auction's journal failed verification: an operator acts
    LAGGING = "lagging"  # the connection fell too far behind; reconnect with ?since=<seq>
    SHUTTING_DOWN = "shutting_down"  # the server is stopping (a socket's close reason)
    # A command this process took but did not decide: it stopped writing the auction (shutting
    # down, or its lease went to another process). Nothing was decided: resend the same bid_id.
    NOT_DECIDED = "not_decided"
    INTERNAL = "internal_error"
