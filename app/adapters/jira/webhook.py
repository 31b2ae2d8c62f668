"""Any Jira delivery to an issue change: which sender shape it is, and its parser.

Pure: a parsed JSON body in, an `IssueChange` (or `Ignored`) out; no web, no
database. The shapes, each in its own module:

- `system_webhook`: Jira Cloud admin webhooks and Server / Data Center
  webhooks (an envelope with `webhookEvent`);
- `automation`: Jira Automation's "Send web request" with issue data (no envelope),
  read so only for deliveries that came with the Automation token: the shape
  alone proves nothing, and a snapshot creates the issue it describes.
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

# Starts the error of a snapshot refused for its credentials (app/senders/registry.py reads it).
SNAPSHOT_REFUSED = "a body without 'webhookEvent' is read as a Jira Automation snapshot only"


def parse_delivery(
    body: Any, mapping: JiraMapping, *, received_at: datetime, snapshots: bool = True
) -> IssueChange | Ignored:
    """`snapshots`: whether a body without an envelope may be read as Automation's issue data,
    which creates the issue it describes; only a delivery with the Automation token may."""
    if not isinstance(body, dict):
        raise InvalidPayload(f"a Jira webhook body must be a JSON object, not {_json_type(body)}")
    if body.get("webhookEvent") is not None:
        return parse_webhook(body, mapping, received_at=received_at)
    if is_issue_data(body):
        if not snapshots:
            raise InvalidPayload(
                f"{SNAPSHOT_REFUSED} when it comes with the Automation token (JIRA_WEBHOOK_TOKEN); "
                "this one did not: a Jira system webhook always sends 'webhookEvent'"
            )
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
