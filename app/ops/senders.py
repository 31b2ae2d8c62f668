"""Every webhook sender by name, built from the routes' own `Sender` definitions.

Reprocessing runs a stored delivery through the very translate and apply the
route uses today; `ops-bridge send` posts to the route's path. Names are the
ones stored in the delivery log (`generic` for `/api/webhooks/alerts`); the
endpoint's last segment is accepted as well.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.adapters.jira.webhook import SNAPSHOT_REFUSED
from app.api.webhook_path import Sender
from app.api.webhooks_alerts import ALERT_SENDER_NAMES, alert_sender, is_subscription, sns_sender
from app.api.webhooks_jira import JIRA, JIRA_AUTOMATION
from app.store.deliveries import Delivery

Build = Callable[[Mapping[str, str]], Sender[Any]]


def _jira(_query: Mapping[str, str]) -> Sender[Any]:
    return JIRA


def _jira_for(delivery: Delivery) -> Sender[Any]:
    """A stored Jira delivery passed authentication when it arrived; it is read as an
    Automation snapshot again unless it was refused as one for lacking the Automation
    token (the credential is not kept, its refusal is)."""
    refused = delivery.error is not None and delivery.error.startswith(SNAPSHOT_REFUSED)
    return JIRA if refused else JIRA_AUTOMATION


def _alerts(name: str) -> Build:
    return lambda query: alert_sender(name, query)


@dataclass(frozen=True, slots=True)
class SenderEntry:
    name: str
    endpoint: str
    # The sender for a delivery posted with this URL query (alert senders take defaults from it).
    build: Build
    # False for a change whose apply is an outbound call (confirming an SNS
    # subscription), not a change of state: never repeated by reprocessing.
    replays: Callable[[object], bool] = lambda _change: True
    # The sender a stored delivery is run through again, when more than its query decides it.
    rebuild: Callable[[Delivery], Sender[Any]] | None = None

    @property
    def path(self) -> str:
        return f"/api/webhooks/{self.endpoint}"

    def sender_for(self, delivery: Delivery) -> Sender[Any]:
        return self.rebuild(delivery) if self.rebuild is not None else self.build(delivery.query)


_ENTRIES = (
    SenderEntry("jira", "jira", _jira, rebuild=_jira_for),
    *(SenderEntry(name, "alerts" if name == "generic" else name, _alerts(name)) for name in ALERT_SENDER_NAMES),
    SenderEntry("cloudwatch", "cloudwatch", sns_sender, replays=lambda change: not is_subscription(change)),
)
SENDERS: dict[str, SenderEntry] = {entry.name: entry for entry in _ENTRIES}
# What an operator may type: the stored name or the endpoint's.
CHOICES: tuple[str, ...] = tuple(sorted({*SENDERS, *(entry.endpoint for entry in _ENTRIES)}))


def entry(name: str) -> SenderEntry:
    """The sender called `name` (stored name or endpoint); KeyError if none is."""
    found = SENDERS.get(name) or next((e for e in _ENTRIES if e.endpoint == name), None)
    if found is None:
        raise KeyError(name)
    return found
