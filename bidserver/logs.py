"""Log hygiene: a bearer token never reaches the logs.

Browsers cannot set headers on a WebSocket handshake, so live-room clients may pass their JWT as
``?access_token=``; uvicorn's access log and its WebSocket lines print the path with its query
string. A token in a log file is a credential anyone with the logs can replay until it expires.

Two rules, applied to every record of every logger in the process (a log record factory, so no
logger or handler can be missed, whatever logging set-up uvicorn or ``--log-format`` installs):

- a query parameter whose *decoded* name is ``access_token`` has its value replaced: the server
  decodes names (``?access%5Ftoken=`` is the same parameter), so redaction must too;
- anything shaped like a JWT (three base64url segments, the header starting ``eyJ``, i.e. ``{"``)
  is replaced wherever it appears: in a path, another parameter, a message or an exception.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import unquote_plus

REDACTED = "<redacted>"
TOKEN_PARAMETER = "access_token"

_PARAMETER = re.compile(r"([^\s?&;=\"'#<>]+)=([^\s&;\"'#<>]*)")
_SEGMENT = r"(?:[A-Za-z0-9_-]|%[0-9A-Fa-f]{2})"  # base64url, or a client's percent-escape of it
_DOT = r"(?:\.|%2[Ee])"
_JWT = re.compile(rf"eyJ{_SEGMENT}*{_DOT}{_SEGMENT}+{_DOT}{_SEGMENT}*")
_EXCEPTIONS = logging.Formatter()


def _parameter(match: re.Match[str]) -> str:
    name = match.group(1)
    if unquote_plus(name).lower() == TOKEN_PARAMETER:
        return f"{name}={REDACTED}"
    return match.group(0)


def redact(text: str) -> str:
    if "=" in text:
        text = _PARAMETER.sub(_parameter, text)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    return text


def _redact_argument(arg: object) -> object:
    if isinstance(arg, str):
        return redact(arg)
    if arg is None or isinstance(arg, int | float):
        return arg
    text = str(arg)  # what %s would print; the object stays unless that holds a token
    redacted = redact(text)
    return arg if redacted == text else redacted


def redact_record(record: logging.LogRecord) -> None:
    """Rewrites the message, its arguments (each keeps its type unless it held a token: uvicorn's
    access formatter unpacks them) and an exception's text; never drops a record."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    args = record.args
    if isinstance(args, tuple):
        record.args = tuple(_redact_argument(a) for a in args)
    elif isinstance(args, Mapping):
        record.args = {k: _redact_argument(v) for k, v in args.items()}
    if record.exc_info and not record.exc_text:  # formatters reuse exc_text when it is set
        record.exc_text = redact(_EXCEPTIONS.formatException(record.exc_info))


def install() -> None:
    """Redact every record from now on (idempotent; a record factory survives uvicorn's
    ``dictConfig``, which replaces handlers and would drop filters put on them)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_tokens", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    factory.redacts_tokens = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
