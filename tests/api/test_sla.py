"""GET /api/metrics/sla and the SLA metric messages, from incidents stored by the service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from app.config import Settings
from app.db.engine import create_engine
from app.db.lock_keys import LEADER_KEY, LEADER_NAMESPACE
from app.domain.sla import parse_targets
from app.ingest.transaction import write
from app.monitoring_jobs import publish_sla
from app.store.sla import sla_report
from tests.conftest import make_settings, token
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.server import RunningServer, server_in_thread

NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)


def _incident(
    conn: psycopg.Connection[tuple[object, ...]], number: int, severity: str, squad: str, age: timedelta
) -> datetime:
    created = NOW - age
    conn.execute(
        "INSERT INTO incidents (id, jira_issue_id, jira_key, title, severity, status, squad, created_at, updated_at) "
        "VALUES (%s, %s, %s, 'incident', %s, 'open', %s, %s, %s)",
        (f"inc-{number}", str(number), f"OPS-{number}", severity, squad, created, created),
    )
    return created


def _move(conn: psycopg.Connection[tuple[object, ...]], number: int, status: str, at: datetime) -> None:
    conn.execute("UPDATE incidents SET status = %s, updated_at = %s WHERE id = %s", (status, at, f"inc-{number}"))


def _store_known_incidents(database_url: str) -> None:
    """Against the default targets (critical 4h, high 8h, medium 24h, low 72h), over 30 days:
    met: 1 (2h), 7 (10h, then closed); breached: 2 (6h), 3 (resolved 4h, reopened, resolved 12h),
    5 (open 100h); not yet due: 4; outside the window: 6. SLA 2/5 = 40 %; MTTR (2+6+12+10)/4 = 7.5h."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        created = _incident(conn, 1, "critical", "ops", 10 * HOUR)
        _move(conn, 1, "resolved", created + 2 * HOUR)
        created = _incident(conn, 2, "critical", "ops", 10 * HOUR)
        _move(conn, 2, "in_progress", created + HOUR)
        _move(conn, 2, "resolved", created + 6 * HOUR)
        created = _incident(conn, 3, "high", "payments", 20 * HOUR)
        _move(conn, 3, "resolved", created + 4 * HOUR)
        _move(conn, 3, "open", created + 5 * HOUR)
        _move(conn, 3, "resolved", created + 12 * HOUR)
        _incident(conn, 4, "medium", "ops", 2 * HOUR)
        _incident(conn, 5, "low", "payments", 100 * HOUR)
        created = _incident(conn, 6, "critical", "ops", timedelta(days=40))
        _move(conn, 6, "resolved", created + HOUR)
        created = _incident(conn, 7, "medium", "ops", 30 * HOUR)
        _move(conn, 7, "resolved", created + 10 * HOUR)
        _move(conn, 7, "closed", created + 20 * HOUR)


async def test_sla_figures_are_computed_from_the_stored_incidents(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    _store_known_incidents(database_url)

    response = await http.get("/api/metrics/sla", headers={"Authorization": f"Bearer {token()}"})

    assert response.status_code == 200
    report = response.json()
    assert report["sla_percentage"] == 40.0
    assert report["mean_time_to_resolve_seconds"] == 7.5 * 3600
    assert report["incidents"] == {"total": 6, "resolved": 4, "met": 2, "breached": 3, "open_within_target": 1}
    assert report["window_seconds"] == 30 * 86400
    assert report["by_severity"]["critical"]["sla_percentage"] == 50.0
    assert report["by_severity"]["critical"]["target_seconds"] == 4 * 3600
    assert report["by_severity"]["high"]["mean_time_to_resolve_seconds"] == 12 * 3600


async def test_a_subscriber_gets_the_figures_of_the_squads_it_may_see(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    _store_known_incidents(database_url)

    payments = await http.get("/api/metrics/sla", headers={"Authorization": f"Bearer {token(squads=('payments',))}"})
    anonymous = await http.get("/api/metrics/sla")

    assert payments.json()["incidents"] == {"total": 2, "resolved": 1, "met": 0, "breached": 2, "open_within_target": 0}
    assert anonymous.status_code == 401


async def test_the_sla_window_and_targets_are_settings(database_url: str, tmp_path: Path) -> None:
    _store_known_incidents(database_url)
    settings = make_settings(database_url, tmp_path, sla_targets="critical=8h,high=16h", sla_window_days=60)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            report = await sla_report(
                conn, targets=parse_targets(settings.sla_targets), window=timedelta(days=60), now=datetime.now(UTC)
            )
    finally:
        await engine.dispose()

    assert report["incidents"]["total"] == 7
    assert report["incidents"]["met"] == 5  # 1, 2, 3, 6 and 7 are now within their targets


@pytest.fixture
def chores_elsewhere(database_url: str) -> Iterator[None]:
    """Another process leads the fleet's chores: the server under test never runs its own SLA
    job, which would otherwise publish the figures between the test's own calls."""
    with psycopg.connect(database_url, autocommit=True) as leader:
        leader.execute("SELECT pg_advisory_lock(%s, %s)", (LEADER_NAMESPACE, LEADER_KEY))
        yield


async def test_sla_figures_are_published_as_metric_messages_when_they_change(
    chores_elsewhere: None, settings: Settings, database_url: str
) -> None:
    engine = create_engine(database_url)
    try:
        with server_in_thread(settings) as server:
            async with await open_stream(server.ws, token()) as ws:
                await receive(ws)
                async with write(engine) as conn:
                    assert await publish_sla(conn, settings) == 0  # no incidents: nothing to announce
                _store_known_incidents(database_url)
                async with write(engine) as conn:
                    published = await publish_sla(conn, settings)
                async with write(engine) as conn:
                    again = await publish_sla(conn, settings)
                messages = await receive_events(ws, 6)
                assert await expect_silence(ws) == []
    finally:
        await engine.dispose()

    # The organisation's two figures, and each squad's (ops, payments): a token granting
    # every squad receives all six.
    assert (published, again) == (6, 0)
    by_scope = {(m["data"]["metric_name"], m["data"]["metadata"].get("squad")): m["data"] for m in messages}
    assert by_scope["sla_percentage", None]["value"] == 40.0
    assert by_scope["sla_percentage", None]["unit"] == "percent"
    assert by_scope["mean_time_to_resolve", None]["value"] == 7.5 * 3600
    assert by_scope["mean_time_to_resolve", None]["metadata"]["incidents"]["met"] == 2
    assert by_scope["sla_percentage", "payments"]["metadata"]["incidents"]["total"] == 2
    assert by_scope["sla_percentage", "ops"]["metadata"]["incidents"]["total"] == 4
    assert {(m["type"], m["action"]) for m in messages} == {("metric", "updated")}


@pytest.mark.parametrize("spec", ["critical=4 hours", "everything=1h"])
def test_a_wrong_sla_targets_setting_is_refused_at_start(database_url: str, tmp_path: Path, spec: str) -> None:
    with pytest.raises(ValueError, match="SLA target"):
        make_settings(database_url, tmp_path, sla_targets=spec)
