"""Confirming an SNS subscription: the one call this service makes outward.

SNS sends a `SubscriptionConfirmation` with a `SubscribeURL`; visiting it (a
plain GET) confirms the subscription. The adapter has already checked the URL
against SNS_SUBSCRIBE_URL_PATTERN (SNS's own hosts by default), so a forged
message cannot make the service call anywhere else. Redirects are not followed.
"""

from __future__ import annotations

import logging

import httpx

from app.adapters.cloudwatch_sns import SnsSubscription
from app.errors import ServiceError

_log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0


class SubscriptionNotConfirmed(ServiceError):
    status = 502
    code = "SNS_CONFIRMATION_FAILED"


async def confirm_subscription(subscription: SnsSubscription) -> None:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = await client.get(subscription.subscribe_url)
    except httpx.HTTPError as exc:
        raise SubscriptionNotConfirmed(
            f"could not reach SNS to confirm the subscription: {type(exc).__name__}"
        ) from None
    if response.status_code != httpx.codes.OK:
        raise SubscriptionNotConfirmed(f"SNS answered {response.status_code} to the subscription confirmation")
    _log.info("confirmed the SNS subscription to %s", subscription.topic_arn)
