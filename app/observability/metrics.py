"""Every metric the service exports, in one place (docs/deployment.md lists them).

The hot path stays cheap: the hub reports once per event (one counter add of
how many sockets it reached, one histogram observation of how long offering
it to every live subscriber took), never once per socket. Label values come
from fixed sets (sender names, outcomes, topics, drop reasons): never a user,
token, delivery id or anything a caller chooses, so cardinality stays bounded.

Under `ops-bridge serve --workers N` every worker writes its values to the
directory in PROMETHEUS_MULTIPROC_DIR and any worker's /metrics adds them up
(app/api/prometheus.py); gauges say how (`livesum`: the sum over
running workers).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# `_created` series double the output and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_FAN_OUT_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

TOPICS = ("incident", "task", "asset", "alert", "notification", "metric")
WEBHOOK_OUTCOMES = (
    "applied",
    "unchanged",
    "duplicate",
    "ignored",
    "accepted",
    "rejected",
    "unauthenticated",
    "too_large",
    "rate_limited",
    "unavailable",
    "error",
)
DROP_REASONS = ("slow_consumer", "token_expired", "rate_limited", "replay_unavailable")
WEBHOOK_SENDERS = ("jira", "alertmanager", "grafana", "generic", "uptime-kuma", "cloudwatch")
# Answers a sender takes as final (4xx): what it sent is lost unless it sends it again.
WEBHOOK_REFUSALS = ("too_large", "rejected", "unauthenticated", "rate_limited")

# The socket side.
CONNECTIONS = Gauge("ops_bridge_ws_connections", "Open WebSocket connections on /api/ws", multiprocess_mode="livesum")
SUBSCRIPTIONS = Gauge(
    "ops_bridge_ws_subscriptions",
    "Open connections that receive each topic (a client that never subscribed receives all)",
    ["topic"],
    multiprocess_mode="livesum",
)
MESSAGES_DELIVERED = Counter(
    "ops_bridge_ws_messages_delivered", "Event messages the hub wrote to live sockets (one per socket per event)"
)
DROPPED = Counter(
    "ops_bridge_ws_dropped",
    "Connections the server closed: slow_consumer (4008), token_expired (4001), rate_limited (1008), "
    "replay_unavailable (1013: the catch-up could not read the log; the client resumes again)",
    ["reason"],
)
DROPPED_SLOW = DROPPED.labels(reason="slow_consumer")
DROPPED_REPLAY = DROPPED.labels(reason="replay_unavailable")
DROPPED_EXPIRED = DROPPED.labels(reason="token_expired")
DROPPED_RATE_LIMITED = DROPPED.labels(reason="rate_limited")
FAN_OUT_SECONDS = Histogram(
    "ops_bridge_fan_out_seconds",
    "Time to offer one event to every live subscriber of this process",
    buckets=_FAN_OUT_BUCKETS,
)
WEBHOOK_TO_SOCKET_SECONDS = Histogram(
    "ops_bridge_webhook_to_socket_seconds",
    "From an event's created_at (its writing transaction) to the hub writing it to the sockets",
    buckets=_LATENCY_BUCKETS,
)
REPLAY_READS = Counter(
    "ops_bridge_replay_reads",
    "Pages resuming connections caught up with: from the in-memory ring (memory), from a page of the log "
    "read for another connection (shared), or read from the database (database: one query each)",
    ["source"],
)
REPLAY_SOURCES = ("memory", "shared", "database", "broker")

# The event log and this process's listener.
EVENT_LOG_POSITION = Gauge(
    "ops_bridge_event_log_position", "Newest event-log position this process has read", multiprocess_mode="max"
)
LISTENER_RECONNECTS = Counter("ops_bridge_listener_reconnects", "Times the LISTEN connection was lost and re-made")
NOTIFY_DEGRADED = Gauge(
    "ops_bridge_listener_notify_degraded",
    "1 while the log advances but no NOTIFY reaches this process's listener (events come by its timer, late)",
    multiprocess_mode="livemax",
)
LISTENER_LAG_SECONDS = Histogram(
    "ops_bridge_listener_lag_seconds",
    "From an event's created_at to this process's listener reading it",
    buckets=_LATENCY_BUCKETS,
)

# Reads of the event log for live events (the listener's, and an edge filling a gap the broker
# left): with a broker, one process (the relay) reads per commit, whatever the number of edges.
EVENT_LOG_READS = Counter("ops_bridge_event_log_reads", "Reads of the event log for live events, by reader", ["reader"])
_LISTENER_READS = EVENT_LOG_READS.labels(reader="listener")
EDGE_GAP_READS = EVENT_LOG_READS.labels(reader="edge_gap")

# The broker (app/broker/): what the relay published, what an edge took from it.
BROKER_PUBLISHED = Counter("ops_bridge_broker_published", "Events the relay added to the broker's stream")
BROKER_REFUSED = Counter(
    "ops_bridge_broker_refused", "Events the broker's stream already held when the relay added them (a takeover)"
)
BROKER_RECEIVED = Counter("ops_bridge_broker_received", "Events this edge took from the broker's stream")
BROKER_CONNECTED = Gauge(
    "ops_bridge_broker_connected",
    "1 while this process follows (edge) or feeds (relay) the broker",
    multiprocess_mode="livesum",
)
BROKER_RECONNECTS = Counter("ops_bridge_broker_reconnects", "Times the connection to the broker was lost and re-made")
BROKER_LAG_SECONDS = Histogram(
    "ops_bridge_broker_lag_seconds",
    "From an event's created_at to this edge taking it from the broker",
    buckets=_LATENCY_BUCKETS,
)

# The fleet's periodic jobs (app/jobs.py), run by the leader alone (app/leadership.py).
LEADER = Gauge(
    "ops_bridge_leader",
    "1 while this process leads the fleet's periodic jobs (one process of the fleet does)",
    multiprocess_mode="livesum",
)
# Other leaders of the fleet (app/leadership.py), by what they do: `relay` (app/broker/relay.py).
LEADS = Gauge(
    "ops_bridge_leads", "1 while this process holds the fleet's lock for a duty", ["duty"], multiprocess_mode="livesum"
)
JOB_RUNS = Counter(
    "ops_bridge_job_runs", "Ticks of each periodic job this process ran (only the leader runs them)", ["job"]
)

# The webhook side.
WEBHOOKS = Counter("ops_bridge_webhooks", "Webhook deliveries by sender and outcome", ["sender", "outcome"])
WEBHOOKS_REFUSED = Counter(
    "ops_bridge_webhooks_refused",
    "Webhook deliveries refused with an answer senders take as final (4xx), by sender and reason; "
    "every series exists from the start, so an alert on any increase sees the first refusal",
    ["sender", "reason"],
)
WEBHOOK_SECONDS = Histogram(
    "ops_bridge_webhook_seconds", "Time to answer a webhook delivery", ["sender"], buckets=_REQUEST_BUCKETS
)


class _Read(Protocol):
    @property
    def position(self) -> int: ...

    @property
    def created_at(self) -> float: ...


def events_offered(events: Iterable[_Read], delivered: int, seconds: float) -> None:
    """The hub offered a batch of `events` to every live subscriber in `seconds`,
    making `delivered` deliveries in all (one event to one socket each)."""
    MESSAGES_DELIVERED.inc(delivered)
    FAN_OUT_SECONDS.observe(seconds)
    now = time.time()
    for event in events:
        if event.created_at:
            WEBHOOK_TO_SOCKET_SECONDS.observe(max(0.0, now - event.created_at))


def listener_read(events: Iterable[_Read]) -> None:
    """The listener read `events` (oldest first) from the log."""
    _LISTENER_READS.inc()
    now = time.time()
    newest = 0
    for event in events:
        newest = event.position
        if event.created_at:
            LISTENER_LAG_SECONDS.observe(max(0.0, now - event.created_at))
    if newest:
        EVENT_LOG_POSITION.set(newest)


_replay_series = {source: REPLAY_READS.labels(source=source) for source in REPLAY_SOURCES}


def replay_read(source: str) -> None:
    """A resuming connection caught up with one page from `source` (one of REPLAY_SOURCES)."""
    _replay_series[source].inc()


# Each topic's series, looked up once: `labels()` takes a lock and checks its arguments,
# six times for every connection that opens or closes otherwise (a reconnect wave's
# thousands a second).
_subscription_series = {topic: SUBSCRIPTIONS.labels(topic=topic) for topic in TOPICS}


def subscriptions_moved(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
    """A connection's topics went from `before` to `after` (None: every topic; {}: none).

    Called when a connection opens (None to None counts nothing: see `connection_opened`),
    subscribes, unsubscribes and closes."""
    for topic in TOPICS:
        was = before is None or topic in before
        now = after is None or topic in after
        if was != now:
            _subscription_series[topic].inc(1 if now else -1)


def connection_opened() -> None:
    CONNECTIONS.inc()
    for series in _subscription_series.values():
        series.inc()


def connection_closed(topics: Mapping[str, Any] | None) -> None:
    CONNECTIONS.dec()
    subscriptions_moved(topics, {})


# The labelled series of each (sender, outcome): `labels()` takes a lock and
# checks its arguments on every call, once per webhook otherwise. Both sets are
# fixed (sender names, WEBHOOK_OUTCOMES), so this stays small.
_webhook_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}


def webhook_answered(sender: str, outcome: str, seconds: float) -> None:
    series = _webhook_series.get((sender, outcome))
    if series is None:
        series = (WEBHOOKS.labels(sender=sender, outcome=outcome), WEBHOOK_SECONDS.labels(sender=sender))
        _webhook_series[(sender, outcome)] = series
    count, duration = series
    count.inc()
    duration.observe(seconds)


def webhook_refused(sender: str, reason: str) -> None:
    WEBHOOKS_REFUSED.labels(sender=sender, reason=reason).inc()


def _initialise() -> None:
    """Series that exist from the start, at zero, so rates and alerts see them before the first event."""
    for reason in DROP_REASONS:
        DROPPED.labels(reason=reason)
    for sender in WEBHOOK_SENDERS:
        for refusal in WEBHOOK_REFUSALS:
            WEBHOOKS_REFUSED.labels(sender=sender, reason=refusal)
    for topic in TOPICS:
        SUBSCRIPTIONS.labels(topic=topic)


_initialise()
