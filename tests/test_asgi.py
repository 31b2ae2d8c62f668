"""The webhook lane: every webhook POST the API documents is served outside FastAPI's
routing, and answered as FastAPI answered it, errors included; the rest of those
paths is still FastAPI's."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from app.asgi import WEBHOOK_PREFIX, webhook_endpoints
from app.factory import create_app
from tests.conftest import make_settings
from tests.support.clients import fixture_bytes
from tests.support.jira import issue_event
from tests.support.server import RunningServer


def test_the_lane_serves_exactly_the_webhook_posts_the_api_document_declares(tmp_path: Path) -> None:
    app = create_app(make_settings("postgresql://unused@127.0.0.1/unused", tmp_path))

    declared = {path for path, operations in app.openapi()["paths"].items() if "post" in operations}

    assert set(app.webhook_endpoints) == {path for path in declared if path.startswith(WEBHOOK_PREFIX)}
    assert set(app.webhook_endpoints) >= {
        "/api/webhooks/jira",
        "/api/webhooks/alertmanager",
        "/api/webhooks/cloudwatch",
    }


def test_a_webhook_route_that_needs_fastapi_to_resolve_its_parameters_is_left_to_fastapi() -> None:
    router = APIRouter()

    async def bare(request: Request) -> JSONResponse:
        return JSONResponse({})

    async def with_query(request: Request, squad: str) -> JSONResponse:
        return JSONResponse({})

    async def with_dependency(request: Request, value: int = Depends(lambda: 1)) -> JSONResponse:
        return JSONResponse({})

    router.add_api_route("/api/webhooks/bare", bare, methods=["POST"])
    router.add_api_route("/api/webhooks/query", with_query, methods=["POST"])
    router.add_api_route("/api/webhooks/dependency", with_dependency, methods=["POST"])
    router.add_api_route("/api/webhooks/put", bare, methods=["PUT"])
    router.add_api_route("/api/elsewhere", bare, methods=["POST"])

    assert set(webhook_endpoints([router])) == {"/api/webhooks/bare"}


async def test_other_methods_and_a_trailing_slash_on_a_webhook_path_are_answered_by_fastapi(
    http: httpx.AsyncClient,
) -> None:
    got = await http.get("/api/webhooks/jira")
    head = await http.head("/api/webhooks/jira")
    slash = await http.post("/api/webhooks/jira/", json=issue_event(1))

    for refused in (got, head):
        assert refused.status_code == 405
        assert refused.headers["allow"] == "POST"
    assert got.json() == {"detail": "Method Not Allowed"}
    assert slash.status_code == 307
    assert slash.headers["location"].endswith("/api/webhooks/jira")


async def test_an_error_answer_of_the_lane_carries_the_request_id_and_the_error_headers(
    http: httpx.AsyncClient,
) -> None:
    malformed = await http.post("/api/webhooks/jira", content=b"{", headers={"X-Request-ID": "lb-1"})
    too_big = await http.post("/api/webhooks/alerts", content=b"[" + b" " * (1 << 20) + b"]")

    assert malformed.status_code == 400
    assert malformed.headers["x-request-id"] == "lb-1"
    assert malformed.json()["error"]["code"] == "INVALID_JSON"
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert len(too_big.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/webhooks/jira", None),
        ("/api/webhooks/alertmanager", fixture_bytes("alertmanager/resolved_group.json")),
    ],
)
async def test_an_unexpected_error_is_a_bare_500_its_traceback_logged_and_none_of_it_in_the_answer(
    server: RunningServer, http: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture, path: str,
    body: bytes | None,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'secret-refusal-text'; END $$"
        )
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION refuse()")

    response = await http.post(path, content=body, json=None if body else issue_event(1))

    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    [traceback] = [r for r in caplog.records if r.name == "uvicorn.error" and r.exc_info]
    assert "secret-refusal-text" in str(traceback.exc_info[1] if traceback.exc_info else None)
    [line] = [r for r in caplog.records if r.name == "app.webhooks"]
    assert (line.levelname, line.getMessage()) == ("WARNING", f"webhook {path.rsplit('/', 1)[1]} error")
