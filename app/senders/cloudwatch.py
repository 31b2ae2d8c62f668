"""CloudWatch alarms through an SNS HTTP/S subscription: alarm notifications, and
the subscription confirmation, an outbound call made after the delivery commits
(never repeated by reprocessing)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.adapters import cloudwatch_sns
from app.config import Settings
from app.db.driver import PgConnection
from app.domain.alerts import AlertBatch
from app.domain.deliveries import Ignored
from app.outbound.queue import OutboundCall
from app.outbound.sns import confirmation
from app.senders.alerts import apply_batch, defaults_from, token_only
from app.senders.sender import Registered, Sender

SnsChange = AlertBatch | cloudwatch_sns.SnsSubscription


def is_subscription(change: object) -> bool:
    """A subscription to confirm: an outbound call, not a change of state."""
    return isinstance(change, cloudwatch_sns.SnsSubscription)


def sender(query: Mapping[str, str]) -> Sender[SnsChange]:
    """CloudWatch through SNS, for a delivery posted with `query`. A subscription is an
    outbound call, not a change of state: the webhook path stores the delivery, then
    queues the confirmation (see `is_subscription`)."""

    def translate(body: Any, now: datetime, settings: Settings) -> SnsChange | Ignored:
        rules = cloudwatch_sns.SnsRules(
            topic_arns=frozenset(settings.sns_topic_arns), subscribe_url=re.compile(settings.sns_subscribe_url_pattern)
        )
        return cloudwatch_sns.parse_delivery(body, defaults_from(query, settings, "high"), rules, received_at=now)

    async def apply(conn: PgConnection, change: SnsChange, now: datetime) -> int:
        if isinstance(change, cloudwatch_sns.SnsSubscription):
            return 0  # confirmed by `outbound`, after the commit; never replayed
        return await apply_batch(conn, change, now)

    def outbound(change: SnsChange) -> OutboundCall | None:
        return confirmation(change) if isinstance(change, cloudwatch_sns.SnsSubscription) else None

    return Sender(
        name="cloudwatch",
        authenticate=token_only,
        translate=translate,
        apply=apply,
        delivery_key=lambda req: req.headers.get("x-amz-sns-message-id"),
        outbound=outbound,
    )


REGISTERED = Registered("cloudwatch", "cloudwatch", sender, replays=lambda change: not is_subscription(change))
