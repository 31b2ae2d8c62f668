"""Sample deliveries posted as their senders sent them: the body byte for byte,
with the headers recorded beside it (`NAME.headers.json`)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import psycopg

from tests.support.clients import FIXTURES, fixture_bytes

JIRA = "/api/webhooks/jira"
# The secrets the samples were signed or sent with (tests/fixtures/README.md).
FIXTURE_SECRET = "fixture-secret"
AUTOMATION_TOKEN = "ops-bridge-3f9c1d"


def fixture_headers(name: str) -> dict[str, str]:
    path = FIXTURES / name.replace(".json", ".headers.json")
    headers: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    return headers


async def post_fixture(
    http: httpx.AsyncClient, name: str, *, as_sent: bool = False, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a sample to the Jira endpoint: with its recorded headers when `as_sent`,
    else only its content type (so a redelivery key does not mark it a duplicate)."""
    recorded = fixture_headers(name)
    sent = recorded if as_sent else {"Content-Type": recorded.get("Content-Type", "application/json")}
    return await http.post(JIRA, content=fixture_bytes(name), headers={**sent, **(headers or {})})


def fixture_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(fixture_bytes(name))
    return body


def count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])


def rows(database_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()


STORED_TABLES = ("incidents", "tasks", "events", "notifications", "jira_issue_state")


def nothing_stored(database_url: str) -> bool:
    """No issue, event, notification or issue state: what a refused delivery must leave."""
    return all(count(database_url, table) == 0 for table in STORED_TABLES)
