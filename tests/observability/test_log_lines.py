"""A request id per HTTP request, echoed and in every line logged while serving it;
one line per webhook and one per WebSocket connection opened and closed."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from typing import Any

import httpx
import pytest

from app.logs import JsonFormatter
from tests.conftest import token
from tests.support.clients import open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.server import RunningServer


class _Seen(logging.Handler):
    """Set once a record with this message is logged (in the server's thread)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self._message = message
        self._seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == self._message:
            self._seen.set()

    def wait(self, timeout: float) -> bool:
        return self._seen.wait(timeout)


def _lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records if record.name == logger]


async def test_a_sane_request_id_is_kept_echoed_and_carried_into_the_webhook_line(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    headers = {"X-Request-ID": "lb-7f3c2a91.0001", "X-Atlassian-Webhook-Identifier": "jira-delivery-42"}

    response = await http.post("/api/webhooks/jira", json=issue_event(1), headers=headers)

    assert response.headers["x-request-id"] == "lb-7f3c2a91.0001"
    [line] = _lines(caplog, "app.webhooks")
    assert line["request_id"] == "lb-7f3c2a91.0001"
    assert line["message"] == "webhook jira applied"
    assert (line["sender"], line["outcome"], line["status"], line["events"]) == ("jira", "applied", 200, 1)
    assert line["delivery_key"] == "jira-delivery-42"
    assert line["duration_ms"] > 0


@pytest.mark.parametrize("sent", [None, "has spaces in it", "x" * 200, 'quote"and;semicolon'])
async def test_a_missing_or_unfit_request_id_is_replaced_by_a_fresh_one(
    http: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}

    first = await http.get("/healthz", headers=headers)
    second = await http.get("/healthz", headers=headers)

    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_refused_webhook_is_one_line_with_its_outcome_and_why(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    response = await http.post("/api/webhooks/jira", json={"webhookEvent": "jira:issue_created"})

    [line] = _lines(caplog, "app.webhooks")
    assert response.status_code == 422
    assert (line["outcome"], line["status"], line["events"]) == ("rejected", 422, 0)
    assert "issue" in line["detail"]
    assert line["request_id"] == response.headers["x-request-id"]


async def test_a_connection_logs_one_line_when_it_opens_and_one_when_it_closes(
    server: RunningServer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    closed_logged = _Seen("connection closed")
    logging.getLogger("app.ws.connections").addHandler(closed_logged)
    try:
        async with await open_stream(server.ws, token(sub="ana")) as ws:
            hello = await receive(ws)
            await http.post("/api/webhooks/jira", json=issue_event(2))
            await receive_events(ws, 1)
            await ws.close(code=1000)
        assert await asyncio.to_thread(closed_logged.wait, 10)
    finally:
        logging.getLogger("app.ws.connections").removeHandler(closed_logged)

    opened, closed = _lines(caplog, "app.ws.connections")
    connection_id = hello["data"]["connection_id"]
    assert {k: opened[k] for k in ("message", "connection_id", "sub", "carrier")} == {
        "message": "connection opened",
        "connection_id": connection_id,
        "sub": "ana",
        "carrier": "header",
    }
    assert {k: closed[k] for k in ("message", "connection_id", "close_code", "delivered")} == {
        "message": "connection closed",
        "connection_id": connection_id,
        "close_code": 1000,
        "delivered": 1,
    }
    assert closed["duration_s"] > 0
    assert opened["request_id"] == closed["request_id"] is not None
