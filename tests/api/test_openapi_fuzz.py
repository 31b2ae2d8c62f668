"""Schemathesis against the service's own OpenAPI document, over a real server and
database: every operation, as every role, finds no 500, no answer the document
does not describe, and no stored row the API's own validation would refuse."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import orjson
import psycopg
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from app.contract.payloads import AlertData, AssetData, IncidentData, MetricData, NotificationData, Payload, TaskData
from app.domain.assets import AssetFields, AssetView
from app.domain.notifications import NotificationInput
from app.normalize.text import plain
from tests.conftest import token
from tests.support.jira import issue_event
from tests.support.server import RunningServer

ROLES = {
    "viewer of one squad": token(sub="v", squads=("ops",), environments=("staging",)),
    "publisher": token(sub="p", roles=("publisher",), email="p@example.com"),
    "admin": token(sub="root", roles=("admin",)),
}
EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Requests the document says are invalid: refused with a documented 4xx, never stored.
NEGATIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, negative_data_rejection]


def _seed(base: str) -> None:
    """Rows for the generated ids and filters to find."""
    admin = {"Authorization": f"Bearer {ROLES['admin']}"}
    with httpx.Client(base_url=base, headers=admin) as http:
        http.post("/api/webhooks/jira", json=issue_event(1)).raise_for_status()
        http.post("/api/webhooks/jira", json=issue_event(2, issue_type="Task", project="SEC")).raise_for_status()
        body = {"hostname": "web-01", "asset_type": "EC2", "risk_level": "low", "environment": "staging"}
        http.post("/api/assets", json={**body, "id": "a"}).raise_for_status()
        http.post("/api/notifications", json={"title": "t", "message": "m"}).raise_for_status()


def _refuses_what_it_does_not_document(path: str) -> bool:
    """A webhook documents the fields its mapping reads, not its sender's whole format, and acknowledges
    deliveries it does not track (202): a body outside its schema may rightly be accepted. Its parsers
    are fuzzed on their own (tests/security/test_fuzz.py)."""
    return not path.startswith("/api/webhooks/")


def test_the_api_answers_every_generated_request_as_documented_and_stores_only_valid_rows(
    server: RunningServer, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(server.http)
    schema = schemathesis.openapi.from_url(f"{server.http}/openapi.json")
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "every operation of the document can be generated"
    ran = {"cases": 0}
    failures: list[str] = []
    with requests.Session() as session:
        for operation in operations:
            for role, mode in [
                *((role, GenerationMode.POSITIVE) for role in ROLES),
                *([("admin", GenerationMode.NEGATIVE)] if _refuses_what_it_does_not_document(operation.path) else []),
            ]:
                headers = {"Authorization": f"Bearer {ROLES[role]}"}
                try:
                    _fuzz(operation, mode, headers, session, ran)
                except Unsatisfiable:
                    if mode is GenerationMode.POSITIVE:
                        raise
                    # No parameters and no body: nothing can be invalid.
                # Schemathesis reports check failures as a BaseExceptionGroup.
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported, failed on below
                    failures.append(f"{operation.label} as {role}: {exc!r}"[:2000])
    garbage = _stored_garbage(database_url)
    with capsys.disabled():
        print(  # noqa: T201 - the run's size belongs in the test output
            f"\nschemathesis: {ran['cases']} cases over {len(operations)} operations, valid ones as each of "
            f"{len(ROLES)} roles and invalid ones as admin; "
            f"{len(failures)} failures; {len(garbage)} invalid stored rows",
            *failures,
            *garbage,
            sep="\n",
        )
    assert failures == []
    assert garbage == []
    assert len(operations) >= 20
    # The valid requests did reach the store: the check above looked at real rows.
    assert _count(database_url, "assets") > 1
    assert _count(database_url, "notifications") > 1


def _count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _fuzz(
    operation: Any, mode: GenerationMode, headers: dict[str, str], session: requests.Session, ran: dict[str, int]
) -> None:
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    def run(case: Any) -> None:
        ran["cases"] += 1
        response = case.call(session=session, headers=headers)
        case.validate_response(response, checks=checks, headers=headers)

    run()


def _stored_garbage(database_url: str) -> list[str]:
    """Every stored row the API itself would refuse, or store differently."""
    problems: list[str] = []
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        set_json_loads(orjson.loads, conn)  # as the service reads JSON back
        for row in conn.execute("SELECT * FROM assets"):
            problems += _check(f"asset {row['id']}", partial(_valid_asset, row))
        for row in conn.execute("SELECT * FROM notifications"):
            problems += _check(f"notification {row['id']}", partial(_valid_notification, row))
        for row in conn.execute("SELECT position, topic, message FROM events"):
            problems += _check(f"event {row['position']}", partial(_valid_event, row))
    return problems


def _check(what: str, validate: Callable[[], object]) -> list[str]:
    try:
        validate()
    except (ValueError, AssertionError) as exc:
        return [f"{what}: {exc}"]
    return []


def _valid_asset(row: dict[str, Any]) -> None:
    view = AssetView.model_validate(row)
    fields = AssetFields.model_validate(view.model_dump(include=set(AssetFields.model_fields)))
    # Stored exactly as the API would store it again: clean, canonical.
    assert fields.model_dump() == view.model_dump(include=set(AssetFields.model_fields)), "not canonical"


def _valid_notification(row: dict[str, Any]) -> None:
    NotificationInput.model_validate(
        {name: row[name] for name in ("title", "message", "type", "priority", "metadata")}
        | {"actionUrl": row["action_url"]}
    )
    assert plain(row["title"]) == row["title"], "markup stored"
    assert plain(row["message"]) == row["message"], "markup stored"


_PAYLOADS: dict[str, type[Payload]] = {
    "incident": IncidentData,
    "task": TaskData,
    "asset": AssetData,
    "notification": NotificationData,
    # The webhooks and /api/metrics are fuzzed too, from their documented bodies.
    "alert": AlertData,
    "metric": MetricData,
}


def _valid_event(row: dict[str, Any]) -> None:
    _PAYLOADS[row["topic"]].model_validate(row["message"]["data"])
    assert row["message"]["type"] == row["topic"]
