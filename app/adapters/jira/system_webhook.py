"""Jira's own webhooks: Cloud admin webhooks and Server / Data Center webhooks.

Both send the same envelope:

    {"timestamp": 1737109800000, "webhookEvent": "jira:issue_updated",
     "issue_event_type_name": "issue_assigned", "user": {...},
     "issue": {"id": "10873", "key": "OPS-1482", "fields": {...}},
     "changelog": {"id": "41207", "items": [...]}}

What differs between them lives in the issue (user objects, timestamp
offsets; see `users` and `fields`). `issue_event_type_name` and the changelog
say what happened, but the issue carries the whole state after it, which is
what is stored: a type change shows as the new `issuetype`. Events other than
issue created/updated/deleted (comments, worklogs, sprints, versions, ...) are
well formed but not ours: `Ignored`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from app.adapters.jira import values
from app.adapters.jira.issue import issue_key, read_issue
from app.adapters.jira.mapping import JiraMapping
from app.domain.deliveries import Ignored
from app.domain.issues import IssueChange, IssueDeleted
from app.errors import InvalidPayload

CREATED, UPDATED, DELETED = "jira:issue_created", "jira:issue_updated", "jira:issue_deleted"
ISSUE_EVENTS = frozenset({CREATED, UPDATED, DELETED})

# An event name is echoed in the answer and the log: nothing that could forge a line.
_UNSAFE_NAME = re.compile(r"[^\w:.\-]")
_NAME_CHARS = 100


def parse_webhook(body: dict[str, Any], mapping: JiraMapping, *, received_at: datetime) -> IssueChange | Ignored:
    event = body.get("webhookEvent")
    if not isinstance(event, str) or not event.strip():
        raise InvalidPayload("'webhookEvent' must be a non-empty string")
    if event not in ISSUE_EVENTS:
        return Ignored(_UNSAFE_NAME.sub("", event)[:_NAME_CHARS] or "unknown")
    issue = values.obj(body.get("issue"), "issue")
    sent_at = values.timestamp(body.get("timestamp"), "timestamp") or received_at
    if event == DELETED:
        return IssueDeleted(
            jira_issue_id=values.identifier(issue.get("id"), "issue.id"),
            jira_key=issue_key(issue),
            deleted_at=sent_at,
        )
    return read_issue(issue, mapping, sent_at)
