"""What the alert senders share: the defaults an alert takes from the URL's query
and the settings, token authentication, and the sender built around each
format's adapter. Each sender's own module (alertmanager, grafana, generic,
uptime_kuma, cloudwatch) says what differs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request

from app.auth.alert_senders import require_alert_token
from app.config import Settings
from app.contract.payloads import Severity
from app.db.driver import PgConnection
from app.domain.alerts import AlertBatch, AlertDefaults
from app.domain.deliveries import Ignored
from app.errors import InvalidPayload
from app.normalize import alerts as vocab
from app.normalize.text import clean
from app.senders.sender import Registered, Sender
from app.store.alerts import ALERT_WRITER, apply_alert_batch

Authenticate = Callable[[Request, bytes, Settings], None]


def token_only(request: Request, _body: bytes, settings: Settings) -> None:
    require_alert_token(request, settings)


def defaults_from(query: Mapping[str, str], settings: Settings, severity: Severity) -> AlertDefaults:
    """Defaults for what a payload leaves out: the URL's query first, then settings."""
    wanted = query.get("severity")
    chosen = vocab.severity(wanted) if wanted else severity
    if chosen is None:
        raise InvalidPayload(f"query parameter 'severity' is not a severity this service knows: {str(wanted)[:40]!r}")
    return AlertDefaults(
        environment=vocab.environment(query.get("environment"))
        or vocab.environment(settings.alert_default_environment)
        or "production",
        severity=chosen,
        squad=clean(query.get("squad"), 200),
    )


async def apply_batch(conn: PgConnection, batch: AlertBatch, now: datetime) -> int:
    return await apply_alert_batch(conn, batch, now=now)


Parse = Callable[[Any, AlertDefaults, datetime], AlertBatch | Ignored]


def alert_sender(
    name: str,
    parse: Parse,
    severity: Severity,
    query: Mapping[str, str],
    *,
    group: bool = False,
    authenticate: Authenticate = token_only,
) -> Sender[AlertBatch]:
    """The sender `name` for a delivery posted with `query`: `parse` is its adapter,
    `severity` what its alerts get when they name none. A group sender posts a whole
    alert group at once: its deliveries arriving together commit together (a
    connection of their own), within MAX_ALERT_BODY_BYTES; the others' few alerts go
    through the pool, set-based all the same."""

    def translate(body: Any, now: datetime, settings: Settings) -> AlertBatch | Ignored:
        return parse(body, defaults_from(query, settings, severity), now)

    return Sender(
        name=name,
        authenticate=authenticate,
        translate=translate,
        apply=apply_batch,
        set_writer=ALERT_WRITER if group else None,
        body_limit="max_alert_body_bytes" if group else "max_webhook_body_bytes",
    )


def registered(
    name: str, build: Callable[[Mapping[str, str]], Sender[Any]], *, endpoint: str | None = None
) -> Registered:
    return Registered(name, endpoint or name, build)
