"""Credentials in URLs never reach the access log."""

from __future__ import annotations

import logging

from app.logs import RedactCredentials, configure_logging


def _access_record(path: str) -> logging.LogRecord:
    # The shape uvicorn's access logger uses.
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "POST", path, "1.1", 200), None,
    )  # fmt: skip


def test_secret_and_token_query_parameters_are_redacted_from_access_lines() -> None:
    record = _access_record("/api/webhooks/jira?user_id=admin&secret=fixture-secret&Token=abc#x")

    assert RedactCredentials().filter(record)
    message = record.getMessage()
    assert "fixture-secret" not in message
    assert "abc" not in message
    assert '"POST /api/webhooks/jira?user_id=admin&secret=[redacted]&Token=[redacted]#x HTTP/1.1" 200' in message


def test_lines_without_credentials_are_left_as_they_are() -> None:
    record = _access_record("/api/webhooks/jira?project=OPS")
    RedactCredentials().filter(record)
    assert record.getMessage() == '127.0.0.1:50000 - "POST /api/webhooks/jira?project=OPS HTTP/1.1" 200'


def test_configured_logging_redacts_the_access_log_once() -> None:
    access, root = logging.getLogger("uvicorn.access"), logging.getLogger()
    filters, handlers, level = list(access.filters), list(root.handlers), root.level
    try:
        configure_logging("WARNING")
        configure_logging("WARNING")
        assert sum(isinstance(f, RedactCredentials) for f in access.filters) == 1
    finally:
        access.filters, root.handlers = filters, handlers
        root.setLevel(level)
