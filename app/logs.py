"""Logging set-up for the service process."""

from __future__ import annotations

import logging
import re

# Query parameters that may carry a credential (Jira Server's ?secret=, the
# socket's ?token=): uvicorn's access log writes the whole URL.
_CREDENTIAL_PARAMETER = re.compile(r"([?&](?:secret|token)=)[^&#\s]*", re.IGNORECASE)


class RedactCredentials(logging.Filter):
    """Blanks credential query parameters in uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def redact(text: str) -> str:
    return _CREDENTIAL_PARAMETER.sub(r"\1[redacted]", text)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactCredentials) for existing in access.filters):
        access.addFilter(RedactCredentials())
