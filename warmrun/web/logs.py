"""Logs one can follow a request through: every request gets an id, every record written while
it is handled carries that id, and records go out as one JSON object per line (or as text).

The id travels in a context variable, so a record from any module (the ORM's warnings, the
rate limiter's, uvicorn's access line) gets it without being handed it; :class:`RequestIdFilter`
copies it onto each record on the handlers that :func:`logging_config` sets up.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warmrun.config import LOG_FORMATS

HEADER = "X-Request-ID"
# An id from a proxy or a client is kept only if it is short and plain: it is written into
# every log line and echoed in a header, so nothing in it may break a line or a parser.
_VALID = re.compile(r"[A-Za-z0-9._-]{8,64}", re.ASCII)
NO_REQUEST = "-"
# Probes and scrapes that succeed are not worth an access line each (every few seconds from
# every load balancer and Prometheus); their failures still are.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

REQUEST_ID: ContextVar[str | None] = ContextVar("warmrun_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context, or None."""
    return REQUEST_ID.get()


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The incoming ``X-Request-ID`` if it is acceptable, else a new random id."""
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _VALID.fullmatch(text):
                return text
            break
    return secrets.token_hex(16)


class RequestIds:
    """Gives each HTTP request its id, for the log records written while handling it and for
    the ``X-Request-ID`` response header.

    When the app raises, the id is left in place: Starlette's server error handler runs next,
    outside this middleware but in the same task, and its log record and its 500 response
    (see ``create_app``) must carry the id too. A server runs each request in a task of its
    own, so the value ends with that task.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope.get("headers", []))
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
        REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on each record (``-`` outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or NO_REQUEST
        return True


class QuietProbes(logging.Filter):
    """Drops uvicorn's access lines of health probes and metric scrapes that succeeded."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn.access: (client address, method, path with query, HTTP version, status)
        if not isinstance(args, tuple) or len(args) != 5:
            return True
        path, status = str(args[2]).split("?", 1)[0], args[4]
        return not (path in QUIET_PATHS and isinstance(status, int) and status < 400)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id
    (null outside a request) and, when there is one, the exception with its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", NO_REQUEST)
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if request_id == NO_REQUEST else request_id,
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        # json.dumps escapes newlines inside strings: a traceback stays on its record's line.
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for a warmrun process (uvicorn's loggers included:
    ``uvicorn.run(log_config=...)`` applies it in every worker process)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}: {log_format!r}")
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": f"{__name__}.RequestIdFilter"},
            "quiet_probes": {"()": f"{__name__}.QuietProbes"},
        },
        "formatters": {"main": formatter},
        "handlers": {
            "main": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "main",
                "filters": ["request_id"],
            },
            "access": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "main",
                "filters": ["request_id", "quiet_probes"],
            },
        },
        "root": {"level": level, "handlers": ["main"]},
        "loggers": {
            "uvicorn": {"level": level, "handlers": ["main"], "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": level, "handlers": ["access"], "propagate": False},
        },
    }
