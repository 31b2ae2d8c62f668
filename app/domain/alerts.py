"""Alerts as the service understands them, and the rules of their lifecycle.

Adapters turn a sender's delivery into `AlertSignal`s (one per alert it
carries); the store loads what it holds for each and asks `plan_alert` what
the signal changes. Nothing here knows HTTP, JSON shapes or the database.

Lifecycle:
- the first firing creates (`created`, status firing);
- a resolution for an alert never seen firing is stored resolved (`created`, status resolved);
- a firing of a firing alert updates only if what the contract carries changed;
  Alertmanager's repeated notifications of an unchanged alert change nothing;
- a resolution of a firing (or stale) alert updates it to resolved with `resolved_at`;
  a repeated resolution changes nothing;
- a firing that starts after the stored occurrence re-opens a resolved alert;
  a late copy of the old occurrence (same or earlier start) changes nothing;
- a firing alert not re-sent for a while is marked stale by a job (`mark_stale`),
  and comes back to firing with its next notification;
- a stale alert still not heard of after a longer while is closed by the same
  job (`expire`, status expired): Alertmanager never sends the resolution of
  an alert that resolved while silenced. Its next firing re-opens it, its
  resolution resolves it: the sender's word beats the service's guess.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from app.contract.payloads import AlertData, AlertOperator, Severity
from app.domain.alert_text import fit, message_labels

SignalStatus = Literal["firing", "resolved"]

_SAFE_FINGERPRINT = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """A stable identity for a label set: the same labels in any order give the same value."""
    canonical = "\x1f".join(f"{name}\x1e{labels[name]}" for name in sorted(labels))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def alert_id(source: str, fingerprint: str) -> str:
    """The alert's id on the wire: readable where the fingerprint is, hashed where it is not."""
    safe = (
        fingerprint if _SAFE_FINGERPRINT.match(fingerprint) else hashlib.sha256(fingerprint.encode()).hexdigest()[:24]
    )
    return f"alert-{source}-{safe}"


@dataclass(frozen=True, slots=True)
class AlertDefaults:
    """What a sender's payload may leave out, from settings and the webhook URL's query."""

    environment: str
    severity: Severity
    squad: str | None = None


@dataclass(frozen=True, slots=True)
class AlertSignal:
    """One alert as one delivery reports it."""

    source: str
    fingerprint: str
    status: SignalStatus
    metric: str
    value: float
    threshold: float
    operator: AlertOperator
    environment: str
    severity: Severity
    starts_at: datetime
    ends_at: datetime | None = None
    squad: str | None = None
    resource_id: str | None = None
    resource_type: str | None = None
    summary: str | None = None
    description: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    # The generic sender may name the alert's id itself.
    explicit_id: str | None = None

    @property
    def id(self) -> str:
        return self.explicit_id or alert_id(self.source, self.fingerprint)

    def payload(self, now: datetime) -> AlertData:
        resolved = self.status == "resolved"
        data = AlertData(
            id=self.id,
            metric=self.metric,
            value=self.value,
            threshold=self.threshold,
            operator=self.operator,
            environment=self.environment,
            severity=self.severity,
            triggered_at=self.starts_at,
            status=self.status,
            resource_id=self.resource_id,
            resource_type=self.resource_type,
            resolved_at=(self.ends_at or now) if resolved else None,
            summary=self.summary,
            description=self.description,
            labels=message_labels(self.labels),
        )
        return fit(data)


@dataclass(frozen=True, slots=True)
class AlertBatch:
    """What one delivery reports: its alerts, and how many the sender left out."""

    signals: tuple[AlertSignal, ...]
    truncated: int = 0


@dataclass(frozen=True, slots=True)
class StoredAlert:
    source: str
    payload: AlertData
    squad: str | None
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class AlertDecision:
    """What a signal does: `action` None means nothing to announce (the row may still be touched)."""

    action: Literal["created", "updated"] | None
    payload: AlertData


def plan_alert(current: StoredAlert | None, signal: AlertSignal, now: datetime) -> AlertDecision:
    incoming = signal.payload(now)
    if current is None:
        return AlertDecision("created", incoming)
    stored = current.payload
    if signal.status == "resolved":
        return _resolution(stored, incoming, signal)
    if stored.status == "resolved":
        if _as_stored(signal.starts_at) <= stored.triggered_at:
            return AlertDecision(None, stored)  # a late copy of the occurrence already resolved
        return AlertDecision("updated", incoming)
    if stored.status == "expired" and signal.starts_at > stored.triggered_at:
        return AlertDecision("updated", incoming)  # a new occurrence after the service closed the old one
    # Still the same occurrence: it began when it was first seen firing.
    same = incoming.model_copy(update={"triggered_at": min(stored.triggered_at, incoming.triggered_at)})
    return AlertDecision(None if same == stored else "updated", same)


def _resolution(stored: AlertData, incoming: AlertData, signal: AlertSignal) -> AlertDecision:
    if stored.status == "resolved":
        return AlertDecision(None, stored)
    if signal.ends_at is not None and _as_stored(signal.ends_at) < stored.triggered_at:
        return AlertDecision(None, stored)  # resolves an earlier occurrence than the one stored
    return AlertDecision("updated", incoming.model_copy(update={"triggered_at": stored.triggered_at}))


def _as_stored(moment: datetime) -> datetime:
    """`moment` at the precision an alert's times are stored and sent with (milliseconds): a
    signal's time (a sender's nanoseconds, a delivery's receipt) compared with a stored one must
    not look later only for the digits the store dropped, or a repeated delivery re-opens."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def mark_stale(stored: AlertData) -> AlertData:
    return stored.model_copy(update={"status": "stale"})


def expire(stored: AlertData, now: datetime) -> AlertData:
    """A stale alert closed by the service: `resolved_at` says when it was closed."""
    return stored.model_copy(update={"status": "expired", "resolved_at": now})
