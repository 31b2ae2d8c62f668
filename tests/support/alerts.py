"""Building monitoring deliveries for tests, and reading what the service stored."""

from __future__ import annotations

from typing import Any

import psycopg

ZERO_TIME = "0001-01-01T00:00:00Z"


def am_alert(
    fingerprint: str,
    *,
    status: str = "firing",
    value: str = "1",
    starts_at: str = "2025-01-17T10:00:00Z",
    ends_at: str = ZERO_TIME,
    **labels: str,
) -> dict[str, Any]:
    """One alert of an Alertmanager group."""
    return {
        "status": status,
        "labels": {"alertname": "TestAlert", "env": "prod", "severity": "critical", "squad": "ops", **labels},
        "annotations": {"summary": f"alert {fingerprint}", "value": value},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "https://prometheus.example/graph",
        "fingerprint": fingerprint,
    }


def am_group(*alerts: dict[str, Any], status: str | None = None, truncated: int = 0) -> dict[str, Any]:
    """An Alertmanager version 4 webhook body."""
    group_status = status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved")
    return {
        "receiver": "ops-bridge",
        "status": group_status,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "TestAlert"},
        "commonLabels": {"alertname": "TestAlert"},
        "commonAnnotations": {},
        "externalURL": "https://alertmanager.example",
        "version": "4",
        "groupKey": '{}:{alertname="TestAlert"}',
        "truncatedAlerts": truncated,
    }


def rows(database_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()


def count(database_url: str, table: str) -> int:
    [(value,)] = rows(database_url, f"SELECT count(*) FROM {table}")
    return int(value)
