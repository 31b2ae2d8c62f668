"""What /docs shows of the webhooks: each sender's body and the answers.

Webhook routes read their body raw (signatures are over the bytes, app/api/webhook_path.py),
so FastAPI cannot infer it: it is declared here, with the fields the adapter reads
(the senders send many more) and real deliveries as examples (app/api/examples/,
copies of tests/fixtures). The suite posts every example and expects a 2xx.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from app.api.responses import ErrorBody

EXAMPLES = Path(__file__).parent / "examples"


class WebhookResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "stored", "events": 2}]})

    status: Literal["stored", "unchanged", "duplicate"] = Field(
        description="`duplicate`: a delivery seen before (its identifier); `unchanged`: nothing to announce."
    )
    events: int = Field(description="How many messages the delivery produced.")


class WebhookIgnored(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ignored", "event": "sprint_started"}]})

    # accepted: an outbound call queued (an SNS subscription to confirm), made once the delivery is stored.
    status: Literal["ignored", "accepted"]
    event: str = Field(description="What the delivery was about, in the sender's words, or the call queued.")


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": True}


_TEXT = {"type": "string"}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}

_JIRA = _object(
    {
        "webhookEvent": {**_TEXT, "description": "jira:issue_created, jira:issue_updated, jira:issue_deleted, ..."},
        "timestamp": {"type": "integer", "description": "Milliseconds since the epoch."},
        "issue": _object({"key": _TEXT, "fields": _object({"summary": _TEXT, "issuetype": {}, "priority": {}})}),
        "changelog": {"type": "object"},
        "key": {**_TEXT, "description": "Automation's issue data sends the issue itself, not wrapped."},
    }
)
_PROMETHEUS_ALERT = _object(
    {"status": {"enum": ["firing", "resolved"]}, "labels": _LABELS, "annotations": _LABELS,
     "startsAt": _TEXT, "endsAt": _TEXT, "generatorURL": _TEXT, "fingerprint": _TEXT},
    ("labels",),
)  # fmt: skip
_ALERTMANAGER = _object(
    {"version": {"const": "4"}, "groupKey": _TEXT, "status": {"enum": ["firing", "resolved"]},
     "receiver": _TEXT, "alerts": {"type": "array", "items": _PROMETHEUS_ALERT}, "commonLabels": _LABELS,
     "truncatedAlerts": {"type": "integer"}},
    ("alerts",),
)  # fmt: skip
_GRAFANA = {
    "anyOf": [
        _object({"alerts": {"type": "array", "items": _PROMETHEUS_ALERT}, "status": _TEXT, "orgId": {}}, ("alerts",)),
        _object({"ruleId": {"type": "integer"}, "ruleName": _TEXT, "state": _TEXT, "evalMatches": {"type": "array"}}),
    ],
    "description": "Unified alerting (Alertmanager's shape), or a legacy dashboard alert.",
}
_CONTRACT_ALERT = _object(
    {"id": _TEXT, "fingerprint": _TEXT, "metric": _TEXT, "value": {"type": "number"},
     "threshold": {"type": "number"}, "operator": {"enum": ["greater_than", "less_than", "equals"]},
     "environment": _TEXT, "severity": _TEXT, "resource_id": _TEXT, "resource_type": _TEXT,
     "triggered_at": _TEXT, "status": _TEXT},
    ("metric", "value", "threshold", "severity"),
)  # fmt: skip
_GENERIC = {"anyOf": [_CONTRACT_ALERT, {"type": "array", "items": _CONTRACT_ALERT, "minItems": 1, "maxItems": 500}]}
_UPTIME_KUMA = _object(
    {"heartbeat": _object({"status": {"type": "integer", "description": "0 down, 1 up"}, "msg": _TEXT, "time": _TEXT}),
     "monitor": _object({"id": {"type": "integer"}, "name": _TEXT, "url": _TEXT}), "msg": _TEXT},
)  # fmt: skip
_SNS = _object(
    {"Type": {"enum": ["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]}, "MessageId": _TEXT,
     "TopicArn": _TEXT, "Subject": _TEXT, "Message": {**_TEXT, "description": "The CloudWatch alarm, as JSON text."},
     "SubscribeURL": _TEXT, "Timestamp": _TEXT},
    ("Type", "TopicArn"),
)  # fmt: skip

# Sender -> (its body's schema, its examples: file under examples/<sender>/ and what it shows).
_SENDERS: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "jira": (_JIRA, {"cloud_issue_created": "Jira Cloud: an Incident created, priority Highest",
                     "datacenter_issue_updated": "Jira Data Center: an issue resolved",
                     "automation_send_web_request": "Jira Automation: Send web request with the issue data"}),
    "alertmanager": (_ALERTMANAGER, {"firing_group": "A group of three alerts firing",
                                     "resolved_group": "The group resolved"}),
    "grafana": (_GRAFANA, {"unified_firing": "Unified alerting: two alerts firing",
                           "legacy_alerting": "A legacy dashboard alert"}),
    "alerts": (_GENERIC, {"single": "One alert in the contract's shape",
                          "list": "A list, with spellings to normalize and a resolution"}),
    "uptime-kuma": (_UPTIME_KUMA, {"monitor_down": "A monitor went down"}),
    "cloudwatch": (_SNS, {"alarm_notification": "A CloudWatch alarm (ALARM) through SNS"}),
}  # fmt: skip


@functools.cache
def _example(sender: str, name: str) -> Any:
    return orjson.loads((EXAMPLES / sender / f"{name}.json").read_bytes())


def request_body(sender: str) -> dict[str, Any]:
    """`openapi_extra` declaring the body `sender` posts: its schema and real deliveries."""
    schema, examples = _SENDERS[sender]
    return {
        "requestBody": {
            "required": True,
            "description": "The sender's JSON, read as raw bytes (signatures are over them); at most "
            "MAX_WEBHOOK_BODY_BYTES. Only the fields the mapping reads are listed: senders send more.",
            "content": {
                "application/json": {
                    "schema": schema,
                    "examples": {
                        name: {"summary": summary, "value": _example(sender, name)}
                        for name, summary in examples.items()
                    },
                }
            },
        }
    }


_ERRORS = {
    400: "INVALID_JSON: not JSON, or not UTF-8",
    401: "UNAUTHENTICATED: a secret or token is set and the signature or token is missing or wrong",
    413: "PAYLOAD_TOO_LARGE: the body is larger than MAX_WEBHOOK_BODY_BYTES",
    422: "INVALID_PAYLOAD: JSON, but not this sender's shape; the message names the field (kept for reprocessing)",
    429: "RATE_LIMITED: more than WEBHOOK_RATE_LIMIT_PER_SECOND authenticated deliveries a second from this sender, "
    "or more than WEBHOOK_AUTH_FAILURES_PER_MINUTE failed ones from this address (`Retry-After`)",
    503: "DATABASE_UNAVAILABLE: nothing was stored; the sender retries (`Retry-After`)",
}


def responses(stored: str, ignored: str, **more: str) -> dict[int | str, dict[str, Any]]:
    """The answers of a webhook route: what 200 and 202 mean for this sender, and every error."""
    answers: dict[int | str, dict[str, Any]] = {
        200: {"model": WebhookResult, "description": stored},
        202: {"model": WebhookIgnored, "description": ignored},
    }
    errors = {**_ERRORS, **{int(status.removeprefix("e")): text for status, text in more.items()}}
    answers.update({status: {"model": ErrorBody, "description": text} for status, text in sorted(errors.items())})
    return answers
