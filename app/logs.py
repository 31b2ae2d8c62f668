"""Logging for the service process: one line per record, JSON or text, carrying
the request id, and no credential in any line.

Libraries log what they see: the WebSocket handshake's headers at debug level
(Authorization, Cookie), uvicorn's access log the query string (?secret=,
?token=). Redaction therefore happens where every record is made, whichever
logger it comes from, before any handler sees it; the formatters redact the
structured fields and tracebacks they add as well.

Structured fields travel as `extra=fields(name=value, ...)`: JSON lines carry
them as keys beside `time`, `level`, `logger`, `message` and `request_id`;
text lines append them as `name=value`.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import unquote_plus

import orjson

_CREDENTIAL_HEADERS = re.compile(
    r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-hub-signature|x-grafana-alerting-signature"
    r"|x-automation-webhook-token|x-ops-bridge-token|x-api-key)(\s*[:=]\s*)([^\r\n]+)"
)
# A query parameter that may carry a credential: one of these names, or any name
# with a `%` or `+` in it, decided on as the server reads it, percent-decoded
# (`?%73ecret=` is `?secret=` to the webhook). Plain other names never reach
# the callback, which keeps redaction cheap on every access-log line.
_CREDENTIAL_PARAMS = frozenset({"token", "secret", "access_token", "api_key", "password"})
_QUERY_PARAM = re.compile(
    r"(?i)([?&])(" + "|".join(sorted(_CREDENTIAL_PARAMS)) + r"|[^=&\s\"'?%+]*[%+][^=&\s\"'?]*)=([^&\s\"']+)"
)
_JWT = re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*")
_REDACTED = "[redacted]"

# The request (or WebSocket connection) being served, for every line logged while it is.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_installed = False


def redact(text: str) -> str:
    text = _CREDENTIAL_HEADERS.sub(lambda m: m.group(1) + m.group(2) + _REDACTED, text)
    if "=" in text:
        text = _QUERY_PARAM.sub(_redact_parameter, text)
    return _JWT.sub(_REDACTED, text)


def _redact_parameter(match: re.Match[str]) -> str:
    separator, name, _value = match.groups()
    if _as_read(name) in _CREDENTIAL_PARAMS:
        return f"{separator}{name}={_REDACTED}"
    return match.group(0)


def _as_read(name: str) -> str:
    """A parameter name as a server reads it: percent-decoded (again, for whatever
    decodes twice), `+` as a space, case aside."""
    for _ in range(3):
        decoded = unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    return name.strip().lower()


def fields(**values: object) -> dict[str, Any]:
    """`extra=` for a record with structured fields: `_log.info("...", extra=fields(sender="jira"))`."""
    return {"fields": values}


def install_redaction() -> None:
    """Make every log record pass through `redact`, and carry the request id (idempotent)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        record.request_id = request_id.get()
        return record

    logging.setLogRecordFactory(redacting_factory)
    _installed = True


def _clean(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def _structured(record: logging.LogRecord) -> dict[str, object]:
    found = getattr(record, "fields", None)
    return {str(name): _clean(value) for name, value in found.items()} if isinstance(found, dict) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in _structured(record).items():
            line.setdefault(name, value)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [request id] name=value ...`, for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        head, sep, trace = line.partition("\n")
        rid = getattr(record, "request_id", None)
        extras = [f"[{rid}]"] if rid else []
        extras += [_pair(name, value) for name, value in _structured(record).items()]
        head = " ".join([head, *extras])
        return head + sep + redact(trace) if sep else head


def _pair(name: str, value: object) -> str:
    return f"{name}={value!r}" if isinstance(value, str) else f"{name}={value}"


class _Ours(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs (and replaces when called again)."""


def configure_logging(level: str = "INFO", *, json_format: bool = False, stream: TextIO | None = None) -> None:
    install_redaction()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Ours)]:
        root.removeHandler(handler)
    handler = _Ours(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_format else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
