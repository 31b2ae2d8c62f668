"""No credential survives into a log line."""

from __future__ import annotations

import logging

import pytest

from app.logs import install_redaction, redact

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
