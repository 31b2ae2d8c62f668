"""A Jira issue object (the `issue` of a webhook, or Automation's issue data) to
an `IssueSnapshot`: the contract's incident or task, cleaned and bounded.

Required, because nothing sensible can be stored without them: `id`, `key`,
`fields` and `fields.summary`. Everything else is optional, and null where Jira
has nothing to say; a missing `issuetype` leaves the kind to what is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from app.adapters.jira import values
from app.adapters.jira.adf import adf_to_text
from app.adapters.jira.mapping import JiraMapping
from app.adapters.jira.squads import squad_of
from app.adapters.jira.users import user
from app.adapters.jira.wiki import wiki_to_text
from app.contract.payloads import IncidentData, TaskData
from app.domain.issues import IssueSnapshot, IssueUpserted, entity_id
from app.errors import InvalidPayload
from app.normalize.text import TRUNCATION_MARKER, clean, clip

# Byte budgets that keep any incident or task message under 10 KB: the data
# stays under DATA_BYTES once serialized (quotes and newlines double in JSON,
# so the description is cut further when it must be), and the envelope (type,
# action, timestamp, id) adds about a hundred bytes.
TITLE_BYTES = 1024
DESCRIPTION_BYTES = 6144
NAME_BYTES = 256
KEY_CHARS = 100
DATA_BYTES = 9 * 1024
_MIN_DESCRIPTION_BYTES = 256
RAW_FACTOR = 8


def issue_key(issue: dict[str, Any]) -> str:
    key = values.text(issue.get("key"), "issue.key", required=True)
    assert key is not None
    key = key.strip()[:KEY_CHARS]
    if not key:
        raise InvalidPayload("'issue.key' is missing")
    return key


def read_issue(issue: dict[str, Any], mapping: JiraMapping, sent_at: datetime) -> IssueUpserted:
    """The issue as the contract carries it; `sent_at` stands in for a missing `updated`.

    Without an issue type the delivery cannot say whether it is an incident:
    it is read as both, and the kind already stored decides (a new one is a task)."""
    jira_issue_id = values.identifier(issue.get("id"), "issue.id")
    key = issue_key(issue)
    fields = values.obj(issue.get("fields"), "issue.fields")
    issue_type = values.name_of(fields.get("issuetype"), "issue.fields.issuetype")
    assignee = user(fields.get("assignee"), "issue.fields.assignee")
    common = _common(fields, key, mapping, sent_at) | {
        "assignee": clean(assignee.label, NAME_BYTES) if assignee else None
    }
    ids = assignee.identities if assignee else frozenset()

    def as_kind(incident: bool) -> IssueSnapshot:
        payload = _payload(jira_issue_id, incident, fields, mapping, common)
        return IssueSnapshot(jira_issue_id=jira_issue_id, payload=_fit(payload), assignee_ids=ids)

    if issue_type is None:
        return IssueUpserted(as_kind(incident=False), other_kind=as_kind(incident=True))
    return IssueUpserted(as_kind(mapping.is_incident(issue_type)))


def _payload(
    jira_issue_id: str, incident: bool, fields: dict[str, Any], mapping: JiraMapping, common: dict[str, Any]
) -> IncidentData | TaskData:
    priority = values.name_of(fields.get("priority"), "issue.fields.priority")
    status_name, category = _status(fields.get("status"))
    if incident:
        return IncidentData(
            id=entity_id("incident", jira_issue_id),
            severity=mapping.severity(priority),
            status=mapping.incident_status(category, status_name),
            **common,
        )
    return TaskData(
        id=entity_id("task", jira_issue_id),
        status=mapping.task_status(category, status_name),
        priority=mapping.task_priority(priority),
        due_date=values.day(fields.get("duedate"), "issue.fields.duedate"),
        **common,
    )


def _common(fields: dict[str, Any], key: str, mapping: JiraMapping, sent_at: datetime) -> dict[str, Any]:
    title = _plain(values.text(fields.get("summary"), "issue.fields.summary", required=True), TITLE_BYTES)
    if title is None:
        raise InvalidPayload("'issue.fields.summary' is empty once markup is removed")
    created = values.timestamp(fields.get("created"), "issue.fields.created")
    updated = values.timestamp(fields.get("updated"), "issue.fields.updated") or sent_at
    return {
        "jira_id": key,
        "title": title,
        "squad": clean(squad_of(fields, _project_key(fields, key), mapping.squads), NAME_BYTES) or "unassigned",
        "created_at": created or updated,
        "updated_at": updated,
        "description": _description(fields.get("description")),
    }


def _project_key(fields: dict[str, Any], key: str) -> str:
    project = values.optional_obj(fields.get("project"), "issue.fields.project")
    project_key = values.text(project.get("key"), "issue.fields.project.key") if project else None
    return (project_key or key.rsplit("-", 1)[0]).strip()


def _status(value: Any) -> tuple[str | None, str | None]:
    """The status name and its category key (or id, for payloads that only carry that)."""
    if value is None or isinstance(value, str):
        return values.name_of(value, "issue.fields.status"), None
    status = values.obj(value, "issue.fields.status")
    name = values.name_of(status, "issue.fields.status")
    category = values.optional_obj(status.get("statusCategory"), "issue.fields.status.statusCategory")
    if category is None:
        return name, None
    key = values.text(category.get("key"), "issue.fields.status.statusCategory.key")
    return name, key or values.text(category.get("id"), "issue.fields.status.statusCategory.id")


def _description(value: Any) -> str | None:
    """Plain text from wiki markup (REST v2, webhooks) or an Atlassian document (REST v3)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return _plain(adf_to_text(value), DESCRIPTION_BYTES)
    if isinstance(value, str):
        return _plain(value, DESCRIPTION_BYTES, convert=wiki_to_text)
    raise InvalidPayload("'issue.fields.description' must be text or an Atlassian document")


def _plain(text: str | None, max_bytes: int, convert: Callable[[str], str] = str) -> str | None:
    """`text` converted and cleaned to at most `max_bytes`.

    Only the first RAW_FACTOR times `max_bytes` characters are looked at: what is
    kept is bounded anyway, and converting a megabyte of markup would hold the
    event loop for a noticeable time."""
    if text is None:
        return None
    room = max_bytes * RAW_FACTOR
    if len(text) <= room:
        return clean(convert(text), max_bytes)
    cut = clean(convert(text[:room]), max_bytes - len(TRUNCATION_MARKER.encode()))
    return None if cut is None else cut.removesuffix(TRUNCATION_MARKER) + TRUNCATION_MARKER


def _fit(payload: IncidentData | TaskData) -> IncidentData | TaskData:
    """`payload`, its description cut further if escaping pushed it past DATA_BYTES."""
    for _ in range(4):
        if payload.description is None:
            return payload  # nothing to cut: not worth serializing to find out
        excess = len(orjson.dumps(payload.wire())) - DATA_BYTES
        if excess <= 0:
            return payload
        room = max(len(payload.description.encode()) - excess - 64, _MIN_DESCRIPTION_BYTES)
        payload = payload.model_copy(update={"description": clip(payload.description, room)})
    return payload
