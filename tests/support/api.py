"""Calling the REST API as a given user, and looking at what it stored."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.conftest import token


def bearer(**claims: Any) -> dict[str, str]:
    """Headers carrying a token with these claims (see tests.conftest.token)."""
    return {"Authorization": f"Bearer {token(**claims)}"}


PUBLISHER = bearer(sub="publisher", roles=("publisher",))
ADMIN = bearer(sub="admin", roles=("admin",), squads=(), environments=())
VIEWER = bearer(sub="viewer")


def rows(database_url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()


def asset(hostname: str = "web-01", **fields: Any) -> dict[str, Any]:
    """A valid asset body; `fields` override or add."""
    return {"hostname": hostname, "asset_type": "EC2", "risk_level": "medium", "environment": "production", **fields}


def insert_alert(database_url: str, alert_id: str, **fields: Any) -> None:
    """An alert row as the alert webhooks would store it (rows of any state, without the webhooks)."""
    values: dict[str, Any] = {
        "id": alert_id,
        "fingerprint": alert_id,
        "source": "alertmanager",
        "metric": "cpu_usage",
        "value": 95.0,
        "threshold": 90.0,
        "operator": "greater_than",
        "environment": "production",
        "severity": "high",
        "status": "firing",
        "squad": None,
        "triggered_at": "2025-01-17T13:00:00Z",
        "updated_at": "2025-01-17T13:00:00Z",
        **fields,
    }
    values.setdefault("last_seen_at", values["updated_at"])
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({name})s" for name in values)
    with psycopg.connect(database_url) as conn:
        conn.execute(f"INSERT INTO alerts ({columns}) VALUES ({placeholders})", values)
