"""Every webhook sender by name: the routes, reprocessing, `ops-bridge send`, the
database check and the API documents read this list and nothing else. Names are
the ones stored in the delivery log (`generic` for /api/webhooks/alerts); the
endpoint's last segment is accepted as well."""

from __future__ import annotations

from app.senders import alertmanager, cloudwatch, generic, grafana, jira, uptime_kuma
from app.senders.sender import Registered

_ALL = (
    jira.REGISTERED,
    alertmanager.REGISTERED,
    grafana.REGISTERED,
    generic.REGISTERED,
    uptime_kuma.REGISTERED,
    cloudwatch.REGISTERED,
)
SENDERS: dict[str, Registered] = {sender.name: sender for sender in _ALL}
# What an operator may type: the stored name or the endpoint's.
CHOICES: tuple[str, ...] = tuple(sorted({*SENDERS, *(sender.endpoint for sender in _ALL)}))


def entry(name: str) -> Registered:
    """The sender called `name` (stored name or endpoint); KeyError if none is."""
    found = SENDERS.get(name) or next((s for s in _ALL if s.endpoint == name), None)
    if found is None:
        raise KeyError(name)
    return found
