"""Whether NOTIFY reaches this process's listener, judged from what its reads find.

The listener reads the log when a notification rings and on a timer when none
does. A timer read that finds events no notification announced is evidence
that notifications are lost: through a transaction pooler (PgBouncer in
`pool_mode=transaction`) LISTEN lands on a server connection that is then lent
to somebody else, and nothing it hears ever comes back. Delivery still works,
up to a poll interval late, so this costs latency, not events: it is said once
(a WARNING), shown by /readyz's `notify` check and the
`ops_bridge_listener_notify_degraded` gauge, and cleared by the next
notification that arrives.

One unannounced read proves nothing (an event committed just before the timer
fires is read before its notification is taken), so it takes several in a row
with no notification in between.
"""

from __future__ import annotations

import logging

from app.observability import metrics

_log = logging.getLogger(__name__)

# Timer reads in a row that found events, with no notification since, before
# notifications are called lost.
UNANNOUNCED_READS = 3

ADVICE = (
    "is a transaction pooler (PgBouncer pool_mode=transaction) between the listener and PostgreSQL? "
    "Set DATABASE_LISTEN_URL to a direct connection (or one through session pooling)"
)


class Doorbell:
    def __init__(self, poll_interval: float) -> None:
        self._poll_interval = poll_interval
        self._unannounced = 0
        self.degraded = False

    def rang(self) -> None:
        """A notification arrived."""
        self._unannounced = 0
        if self.degraded:
            self.degraded = False
            metrics.NOTIFY_DEGRADED.set(0)
            _log.info("notifications reach the event listener again: events are read as they commit")

    def timer_read(self, found: int) -> None:
        """The timer's read (no notification since the last read) found `found` events."""
        if not found or self.degraded:
            return
        self._unannounced += 1
        if self._unannounced < UNANNOUNCED_READS:
            return
        self.degraded = True
        metrics.NOTIFY_DEGRADED.set(1)
        _log.warning(
            "events reach the log but no NOTIFY reaches the event listener (%d reads in a row found events "
            "on the %gs timer): subscribers get them up to %gs late; %s",
            self._unannounced,
            self._poll_interval,
            self._poll_interval,
            ADVICE,
        )

    def stopped(self) -> None:
        """The listener stops: this process no longer says anything about notifications."""
        if self.degraded:
            metrics.NOTIFY_DEGRADED.set(0)

    def explain(self) -> str:
        return (
            f"events are found by the {self._poll_interval:g}s timer, never announced by NOTIFY: delivery works, "
            f"up to {self._poll_interval:g}s late; {ADVICE}"
        )
