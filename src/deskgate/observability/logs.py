"""Log lines as text (the default) or as one JSON object per line (``log_format: json``).

Every record gets the current request's id (`RequestIdFilter`, on the handlers, so that the ASGI server's
records get it too). A JSON line holds time, level, logger, message, request_id, the access log's fields
(client, method, path, status) and the traceback, if any: never the record's raw arguments, so what the
filters of `deskgate.web.security` hide from the message (query strings with codes and tokens) is hidden
from the JSON line as well.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from deskgate.observability import context

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_LOGGER = "uvicorn.access"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (None outside a request) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = context.current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or context.current_request_id(),
        }
        if record.name == ACCESS_LOGGER:
            line.update(_access_fields(record.args))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def _access_fields(args: object) -> dict[str, Any]:
    # uvicorn's access record: (client address, method, path with query, HTTP version, status), the path
    # as `HideQueryStrings` left it.
    if not (isinstance(args, tuple) and len(args) == 5):
        return {}
    client, method, path, _, status = args
    return {"client": client, "method": method, "path": path, "status": status}


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Deskgate's own log lines (audit, errors with their ids) to stderr; the server logs its own, in the
    same format when `server_log_config` configured it."""
    logger = logging.getLogger("deskgate")
    logger.setLevel(level)
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler())
        logger.propagate = False
    for handler in logger.handlers:
        handler.setFormatter(formatter(log_format))
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())


def server_log_config(log_format: LogFormat) -> dict[str, Any] | None:
    """uvicorn's logging configuration with JSON lines (None: uvicorn's own, for text)."""
    if log_format != "json":
        return None
    handler = {
        "formatter": "json",
        "filters": ["request_id"],
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler, "access": {**handler, "stream": "ext://sys.stdout"}},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }
