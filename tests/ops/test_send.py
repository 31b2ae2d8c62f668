"""`ops-bridge send`: stored webhook bodies posted to a running service, each answer printed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.support.cli import run_cli
from tests.support.clients import FIXTURES
from tests.support.deliveries import FIXTURE_SECRET, count, rows
from tests.support.server import RunningServer, server_in_thread

ALERT_TOKEN = "am-bridge-7c1e44d2b0"  # what the fixtures carry (tests/fixtures/README.md)
INCIDENT = FIXTURES / "jira_cloud" / "issue_created_incident_highest.json"


@pytest.fixture
def signed(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    """A service expecting the fixtures' own credentials."""
    settings = make_settings(
        database_url, tmp_path, jira_webhook_secret=FIXTURE_SECRET, alert_webhook_token=ALERT_TOKEN
    )
    with server_in_thread(settings) as running:
        yield running


def test_a_fixture_goes_with_its_recorded_headers_and_its_answer_is_printed(
    signed: RunningServer, database_url: str, tmp_path: Path
) -> None:
    first = run_cli("send", str(INCIDENT), "--url", signed.http, env={}, cwd=tmp_path)
    again = run_cli("send", str(INCIDENT), "--url", signed.http, env={}, cwd=tmp_path)

    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip() == f'{INCIDENT} -> /api/webhooks/jira: 200 {{"status":"stored","events":2}}'
    # The recorded X-Atlassian-Webhook-Identifier went too: Jira's redelivery is known.
    assert again.stdout.strip().endswith('200 {"status":"duplicate","events":0}')
    assert count(database_url, "incidents") == 1


def test_the_endpoint_follows_the_folder_each_file_lies_in(
    signed: RunningServer, database_url: str, tmp_path: Path
) -> None:
    files = [
        FIXTURES / "alertmanager" / "firing_group_three_alerts.json",
        FIXTURES / "alertmanager" / "firing_group_three_alerts.headers.json",  # as `*.json` names it: skipped
        FIXTURES / "generic" / "single.json",
        FIXTURES / "uptime_kuma" / "monitor_down.json",
    ]
    result = run_cli("send", *map(str, files), "--url", signed.http, env={}, cwd=tmp_path)

    assert result.returncode == 0, result.stdout
    paths = [line.split(" -> ")[1].split(":")[0] for line in result.stdout.splitlines()]
    assert paths == ["/api/webhooks/alertmanager", "/api/webhooks/alerts", "/api/webhooks/uptime-kuma"]
    assert {row[0] for row in rows(database_url, "SELECT source FROM alerts")} == {
        "alertmanager",
        "generic",
        "uptime-kuma",
    }


def test_auth_from_settings_signs_with_this_environments_secret_and_never_prints_it(
    database_url: str, tmp_path: Path
) -> None:
    secret = "a-deployment-secret-nobody-may-read-0123"
    settings = make_settings(database_url, tmp_path, jira_webhook_secret=secret)
    with server_in_thread(settings) as deployed:
        recorded = run_cli("send", str(INCIDENT), "--url", deployed.http, env={}, cwd=tmp_path)
        resigned = run_cli(
            "send",
            str(INCIDENT),
            "--url",
            deployed.http,
            "--auth",
            "settings",
            env={"JIRA_WEBHOOK_SECRET": secret},
            cwd=tmp_path,
        )
        anonymous = run_cli("send", str(INCIDENT), "--url", deployed.http, "--auth", "none", env={}, cwd=tmp_path)

    assert recorded.returncode == 1  # signed with the fixtures' secret: refused here
    assert " 401 " in recorded.stdout
    assert resigned.returncode == 0, resigned.stdout
    assert '200 {"status":"stored","events":2}' in resigned.stdout
    assert anonymous.returncode == 1
    assert secret not in resigned.stdout + resigned.stderr


def test_a_file_outside_the_known_folders_needs_sender_and_query_parameters_go_along(
    signed: RunningServer, database_url: str, tmp_path: Path
) -> None:
    body = tmp_path / "disk.json"
    body.write_text('{"metric": "disk_usage", "value": 97, "threshold": 90, "severity": "high"}')
    (tmp_path / "disk.headers.json").write_text(f'{{"Authorization": "Bearer {ALERT_TOKEN}"}}')

    unknown = run_cli("send", str(body), "--url", signed.http, env={}, cwd=tmp_path)
    chosen = run_cli(
        "send",
        str(body),
        "--url",
        signed.http,
        "--sender",
        "alerts",
        "--param",
        "environment=staging",
        env={},
        cwd=tmp_path,
    )

    assert unknown.returncode == 1
    assert "its folder does not say which sender it is from; pass --sender" in unknown.stdout
    assert chosen.returncode == 0, chosen.stdout
    assert rows(database_url, "SELECT environment FROM alerts") == [("staging",)]


def test_an_unreachable_service_is_reported_for_each_file(tmp_path: Path) -> None:
    copy = tmp_path / "jira" / "one.json"
    copy.parent.mkdir()
    shutil.copy(INCIDENT, copy)

    result = run_cli("send", str(copy), "--url", "http://127.0.0.1:9", env={}, cwd=tmp_path)

    assert result.returncode == 1
    assert f"{copy}: no answer from http://127.0.0.1:9" in result.stdout
