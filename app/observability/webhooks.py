"""One log line and the metrics for every webhook delivery, whatever its answer.

The outcome is the answer the webhook path gives (its `status`: stored,
unchanged, duplicate, ignored, accepted) or the error it raised (rejected,
unauthenticated, too_large, rate_limited, unavailable); see WEBHOOK_OUTCOMES.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from app.db.failures import kind_of, unavailable
from app.errors import BodyTooLarge, InputError, RateLimited, Unauthenticated
from app.logs import fields
from app.observability import metrics

_log = logging.getLogger("app.webhooks")

_STATUS_OUTCOMES = {
    "stored": "applied",
    "unchanged": "unchanged",
    "duplicate": "duplicate",
    "ignored": "ignored",
    "accepted": "accepted",
}
_ERROR_OUTCOMES: tuple[tuple[type[BaseException], str], ...] = (
    (RateLimited, "rate_limited"),
    (BodyTooLarge, "too_large"),
    (Unauthenticated, "unauthenticated"),
    (InputError, "rejected"),
)
_MAX_KEY = 100


def outcome_of_error(error: Exception) -> str:
    if unavailable(error) is not None:
        return "unavailable"
    return next((outcome for kind, outcome in _ERROR_OUTCOMES if isinstance(error, kind)), "error")


@dataclass(slots=True)
class WebhookObservation:
    sender: str
    delivery_key: str | None
    started: float = field(default_factory=time.perf_counter)

    def answered(self, status: str, http_status: int, *, events: int, detail: str | None = None) -> None:
        """Record the answer: its `status` (stored, unchanged, duplicate, ignored), HTTP status,
        the events it produced and, for an ignored delivery, what it was about."""
        outcome = _STATUS_OUTCOMES.get(status, "error")
        self._record(outcome, http_status, events=events, detail=detail if outcome == "ignored" else None)

    def failed(self, error: Exception) -> None:
        outcome = outcome_of_error(error)
        status = error.status if isinstance(error, InputError) else 503
        detail = error.message if isinstance(error, InputError) else kind_of(error)
        if outcome in metrics.WEBHOOK_REFUSALS:
            metrics.webhook_refused(self.sender, outcome)
        self._record(outcome, status if outcome != "error" else 500, events=0, detail=detail)

    def _record(self, outcome: str, status: int, *, events: object, detail: object) -> None:
        seconds = time.perf_counter() - self.started
        metrics.webhook_answered(self.sender, outcome, seconds)
        # A body refused unread is a whole delivery (an alert group) lost: say it loudly.
        level = logging.WARNING if outcome in ("unavailable", "error", "too_large") else logging.INFO
        key = self.delivery_key[:_MAX_KEY] if self.delivery_key else None
        _log.log(
            level,
            "webhook %s %s",
            self.sender,
            outcome,
            extra=fields(
                sender=self.sender,
                outcome=outcome,
                status=status,
                events=events,
                duration_ms=round(seconds * 1000, 2),
                delivery_key=key,
                detail=str(detail)[:300] if detail is not None else None,
            ),
        )


@contextlib.contextmanager
def observe_webhook(sender: str, delivery_key: str | None) -> Iterator[WebhookObservation]:
    """Around one delivery: `observation.answered(...)` on the way out, or the error is recorded."""
    observation = WebhookObservation(sender, delivery_key)
    try:
        yield observation
    except Exception as error:
        observation.failed(error)
        raise
