"""No credential survives into a log line."""

from __future__ import annotations

import io
import json
import logging
import re
import sys

import pytest

from app.config import Settings
from app.logs import JsonFormatter, TextFormatter, configure_logging, fields, install_redaction, redact, request_id

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (f"< authorization: Bearer {JWT}", "< authorization: [redacted]"),
        ("< Cookie: ops_bridge_session=abc.def", "< Cookie: [redacted]"),
        ("X-Hub-Signature: sha256=0123abcd", "X-Hub-Signature: [redacted]"),
        ('127.0.0.1 - "POST /api/webhooks/jira?secret=hunter2&x=1 HTTP/1.1" 401', "?secret=[redacted]&x=1"),
        ('"GET /api/ws?token=abc HTTP/1.1"', "?token=[redacted]"),
        (f"token was {JWT} and more", "token was [redacted] and more"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_credentials_are_redacted_and_the_rest_kept(line: str, kept: str) -> None:
    cleaned = redact(line)

    assert kept in cleaned
    for secret in (JWT, "hunter2", "abc.def", "0123abcd", "token=abc "):
        assert secret not in cleaned


def test_every_logger_goes_through_redaction(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    caplog.set_level(logging.DEBUG)

    logging.getLogger("some.library").debug("< %s: %s", "authorization", f"Bearer {JWT}")

    assert caplog.records[-1].getMessage() == "< authorization: [redacted]"


def _record(message: str, *args: object, **values: object) -> logging.LogRecord:
    install_redaction()
    request_id.set("req-1")
    record = logging.getLogger("app.test").makeRecord(
        "app.test", logging.INFO, __file__, 1, message, args, None, extra=fields(**values)
    )
    request_id.set(None)
    return record


def test_a_json_line_carries_time_level_logger_message_request_id_and_fields() -> None:
    line = json.loads(JsonFormatter().format(_record("webhook %s", "jira", sender="jira", events=2, key=None)))

    assert line == {
        "time": line["time"],
        "level": "INFO",
        "logger": "app.test",
        "message": "webhook jira",
        "request_id": "req-1",
        "sender": "jira",
        "events": 2,
        "key": None,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])


def test_json_lines_redact_the_message_the_fields_and_the_traceback() -> None:
    record = _record("seen %s", f"Authorization: Bearer {JWT}", url="/api/webhooks/jira?secret=hunter2", token=JWT)
    try:
        raise ValueError(f"connecting with {JWT}")
    except ValueError:
        record.exc_info = sys.exc_info()

    text = JsonFormatter().format(record)

    assert JWT not in text
    assert "hunter2" not in text
    assert json.loads(text)["url"] == "/api/webhooks/jira?secret=[redacted]"


def test_a_text_line_shows_the_request_id_and_fields_after_the_message() -> None:
    text = TextFormatter().format(_record("connection closed", close_code=4008, sub="ana"))

    assert text.endswith("INFO app.test: connection closed [req-1] close_code=4008 sub='ana'")


def test_configure_logging_writes_one_json_object_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    configure_logging("INFO", json_format=True, stream=stream)

    logging.getLogger("app.any").info("first")
    logging.getLogger("uvicorn.error").warning("second\nwith a newline")

    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["first", "second\nwith a newline"]


@pytest.mark.parametrize(
    ("values", "json_logs"),
    [
        ({}, False),
        ({"environment": "production"}, True),
        ({"environment": "production", "log_format": "text"}, False),
        ({"log_format": "json"}, True),
    ],
)
def test_logs_are_json_in_production_unless_log_format_says_otherwise(values: dict[str, str], json_logs: bool) -> None:
    assert Settings(_env_file=None, **values).json_logs is json_logs  # type: ignore[arg-type]
