"""Jira Automation's "Send web request" action, with an issue data body.

No envelope, no event name: the body is the issue as it is when the rule runs,
either wrapped (`{"issue": {...}}`, "Issue data (Jira format)") or bare
(`{"id": ..., "key": ..., "fields": {...}}`, "Issue data (Automation format)").
Ids are numbers, `created` and `updated` may be epoch milliseconds, named
objects carry `namedValue` beside `name`, and users have Cloud's shape with
null `name` and `key`. Each body is stored as the issue's current state (an
update, or a creation if the issue is new); a rule reporting a deletion sends
the webhook envelope instead (docs/jira.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.adapters.jira import values
from app.adapters.jira.issue import read_issue
from app.adapters.jira.mapping import JiraMapping
from app.domain.issues import IssueUpserted


def is_issue_data(body: dict[str, Any]) -> bool:
    return "issue" in body or ("key" in body and "fields" in body)


def parse_issue_data(body: dict[str, Any], mapping: JiraMapping, *, received_at: datetime) -> IssueUpserted:
    issue = values.obj(body["issue"], "issue") if "issue" in body else body
    return read_issue(issue, mapping, received_at)
