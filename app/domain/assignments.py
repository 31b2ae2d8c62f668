"""The notification a new assignee of an incident or task receives."""

from __future__ import annotations

from app.contract.payloads import IncidentData, NotificationData
from app.domain.issues import IssueSnapshot
from app.domain.notifications import NotificationInput, new_notification
from app.normalize.text import clip

# The issue's title rides along in metadata, kept well inside its 2 KB bound.
_TITLE_BYTES = 256
_ROUTES = {"incident": "/infra?tab=incidents", "task": "/infra?tab=tasks"}


def assignment_notification(issue: IssueSnapshot) -> NotificationData:
    """Addressed by the caller to the assignee alone; priority high when the incident is critical."""
    payload = issue.payload
    critical = isinstance(payload, IncidentData) and payload.severity == "critical"
    return new_notification(
        NotificationInput(
            title=f"New {issue.kind} assigned",
            message=f"You have been assigned to {issue.kind} {payload.jira_id}",
            type="info",
            priority="high" if critical else "normal",
            action_url=_ROUTES[issue.kind],
            metadata={
                "kind": issue.kind,
                "id": payload.id,
                "jira_id": payload.jira_id,
                "title": clip(payload.title, _TITLE_BYTES),
            },
        )
    )
