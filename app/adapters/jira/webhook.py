"""Jira webhook deliveries (Cloud, Server/Data Center, Automation) to issue changes.

Pure: a parsed JSON body in, an `IssueChange` (or `Ignored`) out. No web,
no database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.adapters.jira import fields as f
from app.adapters.jira.adf import adf_to_text
from app.adapters.jira.mapping import JiraMapping
from app.contract.payloads import IncidentData, TaskData
from app.domain.deliveries import Ignored
from app.domain.issues import IssueChange, IssueDeleted, IssueSnapshot, IssueUpserted, entity_id
from app.errors import InvalidPayload
from app.normalize.text import clean

ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})

# Byte budgets that keep any incident or task message under 10 KB.
TITLE_BYTES = 1024
DESCRIPTION_BYTES = 6144
NAME_BYTES = 256


def parse_delivery(body: Any, mapping: JiraMapping, *, received_at: datetime) -> IssueChange | Ignored:
    if not isinstance(body, dict):
        raise InvalidPayload("a Jira webhook body must be a JSON object")
    event = body.get("webhookEvent")
    if event is None:
        if "issue" not in body:
            raise InvalidPayload("not a Jira delivery: no 'webhookEvent' and no 'issue'")
        event = "jira:issue_updated"  # Automation's "issue data" body: the issue as it is now
    if not isinstance(event, str) or not event:
        raise InvalidPayload("'webhookEvent' must be a non-empty string")
    if event not in ISSUE_EVENTS:
        return Ignored(event[:100])
    issue = f.obj(body.get("issue"), "issue")
    assert issue is not None
    if event == "jira:issue_deleted":
        return IssueDeleted(
            jira_issue_id=f.identifier(issue.get("id"), "issue.id"),
            jira_key=_key(issue),
        )
    sent_at = f.timestamp(body.get("timestamp"), "timestamp") or received_at
    return IssueUpserted(snapshot(issue, mapping, sent_at))


def _key(issue: dict[str, Any]) -> str:
    key = f.text(issue.get("key"), "issue.key", required=True)
    assert key is not None
    return key.strip()[:100]


def snapshot(issue: dict[str, Any], mapping: JiraMapping, sent_at: datetime) -> IssueSnapshot:
    jira_issue_id = f.identifier(issue.get("id"), "issue.id")
    key = _key(issue)
    fields = f.obj(issue.get("fields"), "issue.fields")
    assert fields is not None
    title = clean(f.text(fields.get("summary"), "issue.fields.summary", required=True), TITLE_BYTES)
    if title is None:
        raise InvalidPayload("'issue.fields.summary' is empty once markup is removed")
    priority = f.name_of(fields.get("priority"), "issue.fields.priority")
    status_name, category = _status(fields.get("status"))
    created = f.timestamp(fields.get("created"), "issue.fields.created") or sent_at
    updated = f.timestamp(fields.get("updated"), "issue.fields.updated") or created
    common: dict[str, Any] = {
        "jira_id": key,
        "title": title,
        "squad": _squad(fields, key),
        "created_at": created,
        "updated_at": updated,
        "assignee": _user(fields.get("assignee"), "issue.fields.assignee"),
        "description": _description(fields.get("description")),
    }
    issue_type = f.name_of(fields.get("issuetype"), "issue.fields.issuetype")
    payload: IncidentData | TaskData
    if mapping.is_incident(issue_type):
        payload = IncidentData(
            id=entity_id("incident", jira_issue_id),
            severity=mapping.severity(priority),
            status=mapping.incident_status(category, status_name),
            **common,
        )
    else:
        payload = TaskData(
            id=entity_id("task", jira_issue_id),
            status=mapping.task_status(category, status_name),
            priority=mapping.task_priority(priority),
            due_date=f.day(fields.get("duedate"), "issue.fields.duedate"),
            **common,
        )
    return IssueSnapshot(jira_issue_id=jira_issue_id, payload=payload)


def _status(value: Any) -> tuple[str | None, str | None]:
    status = f.obj(value, "issue.fields.status", required=False)
    if status is None:
        return None, None
    name = f.text(status.get("name"), "issue.fields.status.name")
    category = f.obj(status.get("statusCategory"), "issue.fields.status.statusCategory", required=False)
    key = f.text(category.get("key"), "issue.fields.status.statusCategory.key") if category else None
    return name, key


def _squad(fields: dict[str, Any], key: str) -> str:
    project = f.obj(fields.get("project"), "issue.fields.project", required=False)
    project_key = f.text(project.get("key"), "issue.fields.project.key") if project else None
    project_key = project_key or key.rsplit("-", 1)[0]
    return clean(project_key.lower(), NAME_BYTES) or "unassigned"


def _user(value: Any, where: str) -> str | None:
    """E-mail where Jira gives one (Server/DC, Cloud with visibility), else the display name."""
    user = f.obj(value, where, required=False)
    if user is None:
        return None
    for field_name in ("emailAddress", "displayName", "name", "accountId", "key"):
        label = f.text(user.get(field_name), f"{where}.{field_name}")
        if label:
            return clean(label, NAME_BYTES)
    return None


def _description(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return clean(adf_to_text(value), DESCRIPTION_BYTES)
    if isinstance(value, str):
        return clean(value, DESCRIPTION_BYTES)
    raise InvalidPayload("'issue.fields.description' must be text or an Atlassian document")
