"""Structured JSON logs: one object per line, extra fields included, secrets scrubbed."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}

# Defence in depth: tokens are never passed to a logger, but if one slips into a
# message (an exception text quoting a header, say) it is masked here.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[^\s\"',]+"),
    re.compile(r"(?i)((?:access|refresh)_token[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,}]+"),
]


# The id of the RPC being served (from x-request-id metadata, or generated): every log line
# written while serving it, or while running the publish it started, carries it.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


# The current span's (trace id, span id) as hex, or None outside a recorded span: installed
# by the tracing adapter when tracing is on (see `trace_ids_from`), else nothing is looked up.
TraceIds = Callable[[], tuple[str, str] | None]
_trace_ids: TraceIds | None = None


def trace_ids_from(source: TraceIds | None) -> None:
    """Where log lines (and error details) find the current trace and span ids; None: nowhere."""
    global _trace_ids  # noqa: PLW0603 - one process-wide source, set once at start
    _trace_ids = source


def current_trace_id() -> str:
    """The current trace's id (32 hex digits), or "" when tracing is off or no span is current."""
    ids = _trace_ids() if _trace_ids is not None else None
    return ids[0] if ids else ""


def _stamp_request_id() -> None:
    """Every log record made while serving an RPC carries its request id, and one made inside
    a recorded span its trace and span ids, stamped when the record is made (not when
    formatted, which may happen elsewhere)."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "stamps_request_id", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if rid := request_id.get():
            record.request_id = rid
        if _trace_ids is not None and (ids := _trace_ids()) is not None:
            record.trace_id, record.span_id = ids
        return record

    factory.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_stamp_request_id()


def scrub(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1[REDACTED]", text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        text = json.dumps(entry, default=str, ensure_ascii=False)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate a caller sent (an undecodable header): escaped
                text = json.dumps(entry, default=str)
        return text


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log and asyncio's debug chatter are not ours to print at INFO.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
