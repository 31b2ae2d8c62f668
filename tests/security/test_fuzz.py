"""Fuzzing: whatever arrives, a parser answers with a result or its own clean error.

Property-based (hypothesis): arbitrary JSON, and real deliveries with parts
replaced by arbitrary JSON, through every webhook parser and the socket's
request parser; and arbitrary frames through a real socket. The counts are
printed at the end of the run.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.adapters.jira.mapping import JiraMapping
from app.adapters.jira.webhook import parse_delivery
from app.clock import utcnow
from app.errors import InvalidPayload
from app.ws import messages
from tests.support import report
from tests.support.clients import fixture_json

SECTION = "fuzzing: cases run and failures"
EXAMPLES = 400

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


JIRA_SAMPLES = [
    "jira_cloud/issue_created_incident_highest.json",
    "jira_cloud/issue_updated_status_investigating.json",
    "jira_cloud/issue_deleted.json",
    "jira_datacenter/issue_created_incident.json",
    "jira_automation/send_web_request_issue_data_jira_format.json",
]


@st.composite
def mutated_jira(draw: st.DrawFn) -> Any:
    sample = fixture_json(draw(st.sampled_from(JIRA_SAMPLES)))
    path = draw(st.sampled_from(_paths(sample)))
    return _replace(sample, path, draw(json_values))


class Counter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.cases = 0

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc: object) -> None:
        failures = 0 if exc[0] is None else 1
        report.add(SECTION, f"{self.name:<48} {self.cases:>6} cases {failures:>3} failures")


@pytest.fixture
def jira_count() -> Any:
    with Counter("jira webhook parser (arbitrary + mutated)") as counter:
        yield counter


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=json_values | mutated_jira())
def test_the_jira_parser_answers_everything_with_a_result_or_invalid_payload(body: Any, jira_count: Counter) -> None:
    jira_count.cases += 1
    # The clean refusal is InvalidPayload; any other exception fails the property.
    with contextlib.suppress(InvalidPayload):
        parse_delivery(body, JiraMapping(), received_at=utcnow())


@pytest.fixture
def socket_count() -> Any:
    with Counter("socket request parser (text, JSON, near-requests)") as counter:
        yield counter


near_requests = st.fixed_dictionaries(
    {"action": st.sampled_from(["subscribe", "unsubscribe", "ping", "auth", "created", "x"])},
    optional={"id": json_values, "topics": json_values, "filters": json_values, "token": json_values,
              "resume_from": json_values, "type": st.sampled_from(["notification", "incident", ""]),
              "data": json_values, "to": json_values},
)  # fmt: skip


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300) | json_values.map(json.dumps) | near_requests.map(json.dumps))
def test_the_socket_request_parser_answers_everything_with_a_request_or_an_error(
    text: str, socket_count: Counter
) -> None:
    socket_count.cases += 1
    try:
        messages.parse_request(text)
    except messages.RequestError as exc:
        code = exc.code
        assert code in {messages.INVALID_MESSAGE, messages.UNKNOWN_ACTION, messages.FORBIDDEN}
