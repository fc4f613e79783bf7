"""JSON logs (``--log-format json``, ``BIDSERVER_LOG_FORMAT=json``): one JSON object per line.

For log pipelines (Loki, Elasticsearch, CloudWatch) that index fields instead of parsing text:
``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``message``, ``auction_id``
where the log site knows it (``extra={"auction_id": ...}``), ``exception`` (the traceback) when
there is one, and for uvicorn's access log ``client``, ``method``, ``path`` and ``status``.

Every record goes through one handler on standard error, the server's own loggers and uvicorn's
(whose logging set-up is replaced by ``logging_config``, given to uvicorn as its ``log_config``).
Tokens are redacted when a record is made (``logs.install``'s record factory), so every record
reaches this formatter redacted, whichever logger it came from.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

# uvicorn's access log: logger.info('%s - "%s %s HTTP/%s" %d', client, method, path, version, status)
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        auction_id = getattr(record, "auction_id", None)
        if auction_id is not None:
            entry["auction_id"] = auction_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            if len(record.args) == len(_ACCESS_FIELDS):
                entry.update(zip(_ACCESS_FIELDS, record.args, strict=True))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` configuration: every logger, uvicorn's included, through
    one JSON handler on standard error."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
            }
        },
        "root": {"handlers": ["json"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["json"], "level": level, "propagate": False},
        },
    }
