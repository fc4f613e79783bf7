"""Log hygiene: a bearer token in a URL never reaches the logs.

Browsers cannot set headers on a WebSocket handshake, so live-room clients may pass their JWT as
``?access_token=``; uvicorn's access log and its WebSocket lines print the path with its query
string. A token in a log file is a credential anyone with the logs can replay until it expires,
so every record of the server's loggers has it replaced before it is formatted.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"(access_token=)[^&\s\"']+", re.IGNORECASE)
REDACTED = r"\1<redacted>"
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "bidserver")


def redact(text: str) -> str:
    return _TOKEN.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites a record's message and string arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "access_token" in record.msg.lower():
            record.msg = redact(record.msg)
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and "access_token" in a.lower()
                                           for a in args):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        return True


def install() -> None:
    """Attach the filter to the server's loggers (uvicorn's logging set-up keeps it: dictConfig
    replaces handlers, not a logger's filters)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
