"""Confirming an SNS subscription: the one call this service makes outward.

SNS sends a `SubscriptionConfirmation` with a `SubscribeURL`; visiting it (a
plain GET) confirms the subscription. The adapter has already checked the URL
against SNS_SUBSCRIBE_URL_PATTERN (SNS's own regional hosts by default), so a
forged message cannot make the service call anywhere else. Redirects are not
followed. The call is made from the outbound queue (app/outbound/queue.py),
after the delivery is stored, never inside the request's transaction.
"""

from __future__ import annotations

import logging

import httpx

from app.adapters.cloudwatch_sns import SnsSubscription
from app.outbound.queue import CallFailed, OutboundCall

_log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0


def confirmation(subscription: SnsSubscription) -> OutboundCall:
    """The outbound call confirming `subscription`."""

    async def run() -> None:
        await confirm_subscription(subscription)

    return OutboundCall("sns subscription confirmation", run)


async def confirm_subscription(subscription: SnsSubscription) -> None:
    """Visit the SubscribeURL; raises CallFailed (never with the URL, which carries a token)."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = await client.get(subscription.subscribe_url)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise CallFailed(f"could not reach SNS to confirm the subscription: {type(exc).__name__}") from None
    if response.status_code != httpx.codes.OK:
        raise CallFailed(f"SNS answered {response.status_code} to the subscription confirmation")
    _log.info("confirmed the SNS subscription to %s", subscription.topic_arn)
