"""Logging for the service process: and no credential in any line.

Libraries log what they see: the WebSocket handshake's headers at debug level
(Authorization, Cookie), uvicorn's access log the query string (?secret=,
?token=). Redaction therefore happens where every record is made, whichever
logger it comes from, before any handler sees it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_CREDENTIAL_HEADERS = re.compile(
    r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-hub-signature|x-grafana-alerting-signature"
    r"|x-automation-webhook-token|x-ops-bridge-token|x-api-key)(\s*[:=]\s*)([^\r\n]+)"
)
_CREDENTIAL_PARAMS = re.compile(r"(?i)([?&](?:token|secret|access_token|api_key|password)=)[^&\s\"']+")
_JWT = re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*")
_REDACTED = "[redacted]"

_installed = False


def redact(text: str) -> str:
    text = _CREDENTIAL_HEADERS.sub(lambda m: m.group(1) + m.group(2) + _REDACTED, text)
    text = _CREDENTIAL_PARAMS.sub(lambda m: m.group(1) + _REDACTED, text)
    return _JWT.sub(_REDACTED, text)


def install_redaction() -> None:
    """Make every log record pass through `redact` (idempotent)."""
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
        return record

    logging.setLogRecordFactory(redacting_factory)
    _installed = True


def configure_logging(level: str = "INFO") -> None:
    install_redaction()
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
