"""Jira deliveries made to order, in Cloud's shape."""

from __future__ import annotations

from typing import Any


def issue_event(
    number: int,
    *,
    event: str = "jira:issue_created",
    issue_type: str = "Incident",
    project: str = "OPS",
    summary: str | None = None,
    priority: str = "High",
    status: str = "Open",
    category: str = "new",
    updated: str = "2025-01-17T10:30:00.000+0000",
    assignee: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "timestamp": 1737109800000,
        "webhookEvent": event,
        "issue": {
            "id": str(10000 + number),
            "key": f"{project}-{number}",
            "fields": {
                "summary": summary or f"Issue number {number}",
                "issuetype": {"name": issue_type},
                "project": {"key": project},
                "priority": {"name": priority},
                "status": {"name": status, "statusCategory": {"key": category}},
                "assignee": assignee,
                "created": "2025-01-17T10:30:00.000+0000",
                "updated": updated,
            },
        },
    }
