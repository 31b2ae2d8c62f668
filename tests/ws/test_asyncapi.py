"""GET /asyncapi.json: the socket's protocol, generated from the models the code
sends and parses, a valid AsyncAPI 3.0 document; and the check that holds every
message the suite's clients see to it (tests/support/contract_check.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator

from app import __version__
from app.ws import messages as m
from app.ws.asyncapi import CLIENT_MESSAGES, SERVER_MESSAGES, document
from app.ws.asyncapi_examples import examples
from tests.conftest import token
from tests.support import contract_check
from tests.support.clients import FIXTURES, open_stream, receive
from tests.support.contract_check import ContractCheck
from tests.support.server import RunningServer

ROOT = Path(__file__).resolve().parents[2]
# The specification's own schema of an AsyncAPI 3.0.0 document (see tests/fixtures/README.md).
SPECIFICATION = json.loads((FIXTURES / "asyncapi" / "asyncapi-3.0.0.schema.json").read_text())


async def test_the_document_is_served_without_a_token_with_this_server_and_is_the_one_the_code_builds(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    response = await http.get("/asyncapi.json")
    served = response.json()

    assert response.status_code == 200
    assert served.pop("servers") == {
        "ops-bridge": {
            "host": f"127.0.0.1:{server.port}",
            "protocol": "ws",
            "description": "This service, as the document was asked from it.",
            "security": [
                {"$ref": f"#/components/securitySchemes/{name}"} for name in ("bearer", "sessionCookie", "subprotocol")
            ],
        }
    }
    assert served == json.loads(json.dumps(document(__version__)))


def test_the_document_is_a_valid_asyncapi_3_document() -> None:
    errors = [error.message[:200] for error in Draft7Validator(SPECIFICATION).iter_errors(document(__version__))]

    assert errors == []


def test_a_broken_document_is_refused_by_the_specification_schema() -> None:
    broken = copy.deepcopy(document(__version__))
    broken["operations"]["sendEvents"]["action"] = "publish"  # AsyncAPI 2's word

    assert not Draft7Validator(SPECIFICATION).is_valid(broken)


def test_every_message_both_ways_is_in_the_document_with_an_example_its_schema_accepts() -> None:
    doc = document(__version__)
    check = ContractCheck(doc)
    sample = examples()

    assert set(doc["components"]["messages"]) == set(SERVER_MESSAGES) | set(CLIENT_MESSAGES)
    for name, model in SERVER_MESSAGES.items():
        [example] = doc["components"]["messages"][name]["examples"]
        assert example["payload"] == sample[model]
        assert check.check_received(json.dumps(example["payload"])) is None, name
    for model in CLIENT_MESSAGES.values():
        assert check.check_sent(json.dumps(sample[model])) is None
        m.parse_request(json.dumps(sample[model]))  # the service takes it too
    assert check.invalid == []


def test_every_error_code_the_socket_sends_is_in_the_error_schema() -> None:
    schemas = document(__version__)["components"]["schemas"]
    codes = {value for name, value in vars(m).items() if name.isupper() and value == name}

    assert set(schemas["ErrorInfo"]["properties"]["code"]["enum"]) == codes


_INCIDENT = {
    "id": 7, "type": "incident", "action": "created", "timestamp": "2025-01-17T10:30:00.000Z",
    "data": {"id": "inc-1", "jira_id": "OPS-1", "title": "Down", "severity": "high", "status": "open",
             "squad": "ops", "created_at": "2025-01-17T10:30:00.000Z", "updated_at": "2025-01-17T10:30:00.000Z"},
}  # fmt: skip


def _with(message: dict[str, Any], path: tuple[str, ...], value: Any) -> str:
    changed = copy.deepcopy(message)
    target = changed
    for step in path[:-1]:
        target = target[step]
    if value is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(changed)


_DROP = object()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_with(_INCIDENT, ("data", "title"), _DROP), "'title' is a required property"),
        (_with(_INCIDENT, ("data", "severity"), "apocalyptic"), "'apocalyptic' is not one of"),
        (_with(_INCIDENT, ("data", "colour"), "red"), "Additional properties are not allowed"),
        (_with(_INCIDENT, ("id",), "7"), "'7' is not of type 'integer'"),
        (_with(_INCIDENT, ("action",), "resolved"), "no (type, action) the document has"),
        (_with(_INCIDENT, ("type",), "weather"), "no (type, action) the document has"),
        (json.dumps({"type": "error", "action": "created", "data": {"code": "OOPS", "message": "x",
                                                                     "original_message_id": None},
                     "timestamp": "2025-01-17T10:30:00.000Z"}), "'OOPS' is not one of"),
        ("not json", "not JSON"),
    ],
)  # fmt: skip
def test_the_check_refuses_a_message_outside_the_document(text: str, problem: str) -> None:
    check = ContractCheck(document(__version__))

    found = check.check_received(text)

    assert found is not None
    assert problem in found
    assert check.invalid == [found]
    assert check.take_pending() == [found]


def test_the_check_refuses_a_request_the_service_takes_but_the_document_does_not() -> None:
    stricter = copy.deepcopy(document(__version__))
    stricter["components"]["schemas"]["PingRequest"]["required"].append("id")
    check = ContractCheck(stricter)

    assert check.check_sent('{"action": "ping", "id": "p-1"}') is None
    assert check.check_sent('{"action": "dance"}') is None  # outside both: refused on purpose
    found = check.check_sent('{"action": "ping"}')

    assert found is not None
    assert "the service accepts a request the document refuses" in found
    assert (check.sent, check.refused_on_purpose, len(check.invalid)) == (3, 1, 1)


async def test_every_message_a_real_client_receives_and_sends_goes_through_the_check(server: RunningServer) -> None:
    check = contract_check.CHECK
    assert check is not None
    received, sent = check.received, check.sent

    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await ws.send(json.dumps({"action": "ping", "id": "p-1"}))
        await receive(ws)

    assert (check.received - received, check.sent - sent) == (2, 1)


_INNER_TEST = """
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

PONG = b'{"type":"pong","action":"pong","data":{"original_message_id":"p"},"timestamp":"2025-01-17T10:30:00.000Z"}'


def _receive(payload: bytes) -> None:
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/api/ws"), state=State.OPEN)
    protocol.receive_data(Frame(Opcode.TEXT, payload).serialize(mask=False))
    protocol.events_received()


def test_receives_a_pong() -> None:
    _receive(PONG)


def test_receives_a_pong_with_a_field_the_document_does_not_have() -> None:
    _receive(PONG.replace(b'"p"}', b'"p","latency":3}'))
"""


def test_a_message_outside_the_document_fails_the_test_that_received_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_inner=_INNER_TEST)

    result = pytester.runpytest_subprocess("-p", "tests.support.contract_check", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ContractViolation: 1 message(s) outside /asyncapi.json during the test:*",
            "*received pong invalid at data: Additional properties are not allowed ('latency' was unexpected)*",
            "contract check: 2 messages received, 0 requests sent, validated against /asyncapi.json, 1 invalid",
        ]
    )
