"""Any Jira delivery to an issue change: which sender shape it is, and its parser.

Pure: a parsed JSON body in, an `IssueChange` (or `Ignored`) out; no web, no
database. The shapes, each in its own module:

- `system_webhook`: Jira Cloud admin webhooks and Server / Data Center
  webhooks (an envelope with `webhookEvent`);
- `automation`: Jira Automation's "Send web request" with issue data (no envelope).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.adapters.jira.automation import is_issue_data, parse_issue_data
from app.adapters.jira.mapping import JiraMapping
from app.adapters.jira.system_webhook import parse_webhook
from app.domain.deliveries import Ignored
from app.domain.issues import IssueChange
from app.errors import InvalidPayload


def parse_delivery(body: Any, mapping: JiraMapping, *, received_at: datetime) -> IssueChange | Ignored:
    if not isinstance(body, dict):
        raise InvalidPayload(f"a Jira webhook body must be a JSON object, not {_json_type(body)}")
    if body.get("webhookEvent") is not None:
        return parse_webhook(body, mapping, received_at=received_at)
    if is_issue_data(body):
        return parse_issue_data(body, mapping, received_at=received_at)
    raise InvalidPayload("not a Jira delivery: no 'webhookEvent' and no 'issue'")


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a boolean" if isinstance(value, bool) else "a number"
