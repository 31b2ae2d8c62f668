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

from app.api.ingest import Sender
from app.api.webhooks_alerts import ALERT_SENDER_NAMES, alert_sender, is_subscription, sns_sender
from app.api.webhooks_jira import JIRA

Build = Callable[[Mapping[str, str]], Sender[Any]]


def _jira(_query: Mapping[str, str]) -> Sender[Any]:
    return JIRA


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

    @property
    def path(self) -> str:
        return f"/api/webhooks/{self.endpoint}"


_ENTRIES = (
    SenderEntry("jira", "jira", _jira),
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
