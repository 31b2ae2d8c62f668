"""The drift check between the socket and its published protocol.

Every JSON text message the suite's WebSocket clients receive, and every request
they send, is validated (with `jsonschema`) against the AsyncAPI document that
`GET /asyncapi.json` serves (app/ws/asyncapi.py):

- a received message must be one of the messages the document says the service
  sends (chosen by its `type` and `action`) and match that message's schema;
- a sent request either matches one of the requests the document says the service
  receives, or is deliberately malformed: then the service's own parser must
  refuse it too (a request the document refuses but the service takes is drift).

The hook sits in websockets' client protocol, which the asyncio, sync and sans-I/O
clients all go through, so no test has to ask for it. A message that fails fails
the test it arrived in; the session ends with a tally (pytest_terminal_summary).
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, Protocol
from websockets.typing import BytesLike

from app import __version__
from app.ws import messages
from app.ws.asyncapi import document

SOURCE = "/asyncapi.json"


class ContractViolation(AssertionError):
    """A message on the socket that the published protocol does not allow."""


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _inlined(doc: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """`node` with every `$ref` replaced by what it points to. Draft 7 ignores a `$ref`'s siblings, and
    so does this; validating a self-contained schema is several times faster than following references."""
    if isinstance(node, list):
        return [_inlined(doc, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        if node["$ref"] in seen:
            raise ValueError(f"recursive schema at {node['$ref']}: inline it no further")
        return _inlined(doc, _resolve(doc, {"$ref": node["$ref"]}), (*seen, node["$ref"]))
    return {key: _inlined(doc, value, seen) for key, value in node.items()}


def _values(schema: dict[str, Any]) -> list[Any]:
    return [schema["const"]] if "const" in schema else list(schema.get("enum", []))


@dataclass
class ContractCheck:
    """Validators for one AsyncAPI document, and the tally of what was checked."""

    doc: dict[str, Any]
    received: int = 0
    sent: int = 0
    refused_on_purpose: int = 0
    invalid: list[str] = field(default_factory=list)
    # Problems not yet charged to a test (messages arrive on the client's own threads too).
    pending: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        sends, receives = self._message_names()
        self._server: dict[tuple[Any, Any], tuple[str, Draft7Validator]] = {}
        for name in sends:
            payload = _resolve(self.doc, self.doc["components"]["messages"][name]["payload"])
            validator = self._validator(name)
            for kind in _values(payload["properties"]["type"]):
                for action in _values(payload["properties"]["action"]):
                    self._server[(kind, action)] = (name, validator)
        self._client = {name: self._validator(name) for name in receives}

    def _message_names(self) -> tuple[list[str], list[str]]:
        """Messages the service sends (its send operations and the replies to what it receives), and receives."""
        sends: list[str] = []
        receives: list[str] = []
        for operation in self.doc["operations"].values():
            names = [_resolve(self.doc, ref)["name"] for ref in operation["messages"]]
            (sends if operation["action"] == "send" else receives).extend(names)
            replies = operation.get("reply", {}).get("messages", [])
            sends.extend(_resolve(self.doc, ref)["name"] for ref in replies)
        return sorted(set(sends)), sorted(set(receives))

    def _validator(self, name: str) -> Draft7Validator:
        schema = _inlined(self.doc, self.doc["components"]["messages"][name]["payload"])
        Draft7Validator.check_schema(schema)
        return Draft7Validator(schema)

    def check_received(self, text: str) -> str | None:
        """Why `text`, received from the service, is not a message of the document (None: it is)."""
        with self._lock:
            self.received += 1
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._fail(f"received a text frame that is not JSON: {text[:200]!r}")
        key = (message.get("type"), message.get("action")) if isinstance(message, dict) else None
        found = self._server.get(key) if key is not None else None
        if found is None:
            return self._fail(f"received a message of no (type, action) the document has, {key}: {text[:300]}")
        name, validator = found
        if validator.is_valid(message):
            return None
        error = best_match(validator.iter_errors(message))
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "(root)"
            return self._fail(f"received {name} invalid at {where}: {error.message[:300]} in {text[:300]}")
        return None

    def check_sent(self, text: str) -> str | None:
        """Why `text`, sent to the service, shows drift (None: none)."""
        with self._lock:
            self.sent += 1
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            request = None
        if request is not None and any(validator.is_valid(request) for validator in self._client.values()):
            return None
        try:
            messages.parse_request(text)
        except messages.RequestError:
            with self._lock:
                self.refused_on_purpose += 1
            return None
        return self._fail(f"the service accepts a request the document refuses: {text[:300]}")

    def _fail(self, problem: str) -> str:
        with self._lock:
            self.invalid.append(problem)
            self.pending.append(problem)
        return problem

    def take_pending(self) -> list[str]:
        with self._lock:
            taken, self.pending = self.pending, []
        return taken

    def summary(self) -> str:
        return (
            f"contract check: {self.received} messages received, {self.sent} requests sent, "
            f"validated against {SOURCE}, {len(self.invalid)} invalid"
        )


CHECK: ContractCheck | None = None
_PATCH = pytest.MonkeyPatch()


def _texts(protocol: ClientProtocol, events: list[Event]) -> Iterator[str]:
    """Whole text messages among `events`, fragments joined (kept on the protocol between calls)."""
    for event in events:
        if not isinstance(event, Frame):
            continue
        if event.opcode is Opcode.TEXT:
            protocol.__dict__["_contract_fragments"] = [bytes(event.data)]
        elif event.opcode is Opcode.CONT and "_contract_fragments" in protocol.__dict__:
            protocol.__dict__["_contract_fragments"].append(bytes(event.data))
        else:
            continue
        if event.fin:
            yield b"".join(protocol.__dict__.pop("_contract_fragments")).decode(errors="replace")


def _events_received(self: ClientProtocol) -> list[Event]:
    events = Protocol.events_received(self)
    if CHECK is not None:
        for text in _texts(self, events):
            CHECK.check_received(text)
    return events


def _send_text(self: ClientProtocol, data: BytesLike, fin: bool = True) -> None:
    if CHECK is not None and fin:
        CHECK.check_sent(bytes(data).decode(errors="replace"))
    Protocol.send_text(self, data, fin)


def install(check: ContractCheck) -> None:
    """Check every client connection from now on. ClientProtocol inherits both methods from
    Protocol, which the server side (uvicorn's ServerProtocol) keeps using untouched."""
    global CHECK
    CHECK = check
    _PATCH.setattr(ClientProtocol, "events_received", _events_received)
    _PATCH.setattr(ClientProtocol, "send_text", _send_text)


def uninstall() -> None:
    global CHECK
    CHECK = None
    _PATCH.undo()


# pytest hooks --------------------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    install(ContractCheck(document(__version__)))


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall()


Phase = Generator[None, object, object]


def _charge(phase: str) -> Phase:
    """Fail the phase (setup, call, teardown) in which a message broke the document."""
    try:
        result = yield
    except BaseException as exc:
        for problem in CHECK.take_pending() if CHECK is not None else []:
            exc.add_note(f"contract check: {problem}")
        raise
    problems = CHECK.take_pending() if CHECK is not None else []
    if problems:
        raise ContractViolation(f"{len(problems)} message(s) outside {SOURCE} during {phase}:\n" + "\n".join(problems))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Phase:
    return (yield from _charge("setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Phase:
    return (yield from _charge("the test"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Phase:
    return (yield from _charge("teardown"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A message that arrived after its test ended (a background reader) still fails the run.
    if CHECK is not None and CHECK.take_pending():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CHECK is None:
        return
    terminalreporter.section("contract check")
    terminalreporter.write_line(CHECK.summary())
    terminalreporter.write_line(
        f"  {CHECK.refused_on_purpose} of the requests were outside the document on purpose, "
        "and the service's parser refused each of them too"
    )
    for problem in CHECK.invalid[:20]:
        terminalreporter.write_line(f"  {problem}")
