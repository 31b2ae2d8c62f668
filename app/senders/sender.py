"""What a sender is to the service: the steps a delivery of its format goes through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from starlette.requests import Request

from app.config import Settings
from app.db.driver import PgConnection
from app.domain.deliveries import Ignored
from app.outbound.queue import OutboundCall
from app.store.deliveries import Delivery
from app.store.set_writer import SetWriter

Change = TypeVar("Change")


@dataclass(frozen=True, slots=True)
class Sender(Generic[Change]):
    """One sender format: the steps of app/api/webhook_path.py and app/ingest/ filled in."""

    name: str
    # Raises Unauthenticated; sees the raw body (signatures are over bytes).
    authenticate: Callable[[Request, bytes, Settings], None]
    # Pure: parsed JSON in, a change (or Ignored) out; raises InvalidPayload.
    translate: Callable[[Any, datetime, Settings], Change | Ignored]
    # Writes the change and its events in the caller's transaction; returns how many events.
    apply: Callable[[PgConnection, Change, datetime], Awaitable[int]]
    # The sender's delivery id, when it sends one (for redeliveries).
    delivery_key: Callable[[Request], str | None] = lambda _request: None
    # Applies many changes as a set, in arrival order: deliveries arriving
    # together are then written in one transaction (app/ingest/batch_writer.py).
    set_writer: SetWriter[Change] | None = None
    # The outbound call a change stands for, when it is one rather than a change
    # of state (an SNS subscription to confirm); made after the delivery commits.
    outbound: Callable[[Change], OutboundCall | None] = lambda _change: None
    # The setting that bounds this sender's bodies (app/api/refusals.py reads it).
    body_limit: str = "max_webhook_body_bytes"


@dataclass(frozen=True, slots=True)
class Registered:
    """A sender as the registry lists it: its name in the delivery log and its endpoint."""

    name: str
    endpoint: str
    # The sender for a delivery posted with this URL query (alert senders take defaults from it).
    build: Callable[[Mapping[str, str]], Sender[Any]]
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
