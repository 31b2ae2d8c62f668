"""The docs say what the code does: settings and their defaults, routes, CLI
commands and options, error and close codes, metrics, and links that lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from app.cli import command_parsers
from app.config import Settings
from app.observability import metrics
from app.ws import messages
from tests.support.routes import served_paths

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text()
DEPLOYMENT = (ROOT / "docs" / "deployment.md").read_text()
# Served for a page's own use, not an endpoint anyone calls (none today: /docs needs no OAuth2 redirect).
_INTERNAL_PATHS: set[str] = set()


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _table_rows(section: str) -> list[list[str]]:
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("|---")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[1:]]


def _readme_default(cell: str, default: object) -> str | None:
    """What the README should say for `default`, or None when the cell describes it in words."""
    if default is None:
        return "unset"
    if default in ([], {}):
        return "empty"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, list):
        return "`" + ",".join(map(str, default)) + "`"
    if isinstance(default, float) and default.is_integer() and "." not in cell:
        return f"`{int(default)}`"
    return f"`{default}`"


def test_every_setting_in_the_configuration_table_shows_its_real_default() -> None:
    rows = {row[0].strip("`"): row[1] for row in _table_rows(_section(README, "Configuration"))}
    wrong = {}
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        cell = rows[name.upper()]
        expected = _readme_default(cell, default)
        described = name.upper() == "LOG_FORMAT"  # None means "depends on ENVIRONMENT", said in words
        if not described and cell != expected:
            wrong[name.upper()] = (cell, expected)

    assert wrong == {}


def _documented_paths() -> set[str]:
    documented = set()
    for row in _table_rows(_section(README, "Endpoints")):
        cells = " ".join(row)
        paths = [p.rstrip("/") for p in re.findall(r"`(?:[A-Z]+ )?(/[^`\s?]*)", cells) if p != "/{id}"]
        documented.update(paths)
        if "(+ `/{id}`)" in row[0]:
            documented.update(f"{path}/{{id}}" for path in paths if not path.endswith("{id}"))
    return documented


def test_every_route_the_app_serves_is_in_the_readme_endpoints_table() -> None:
    served = {re.sub(r"\{\w+\}", "{id}", path).rstrip("/") for path in served_paths()} - _INTERNAL_PATHS

    assert served - _documented_paths() == set(), "routes missing from the README's endpoints table"


def test_every_endpoint_in_the_readme_is_served() -> None:
    served = {re.sub(r"\{\w+\}", "{id}", path).rstrip("/") for path in served_paths()}

    assert _documented_paths() - served == set(), "README endpoints the app does not serve"


def _cli_rows() -> dict[str, str]:
    rows = {}
    for row in _table_rows(_section(README, "Command line")):
        command = re.match(r"`ops-bridge ([a-z-]+)", row[0])
        assert command, row
        rows[command.group(1)] = row[0]
    return rows


def test_every_cli_command_has_a_readme_row_and_every_option_there_exists() -> None:
    parsers = command_parsers()
    rows = _cli_rows()

    assert set(rows) == set(parsers)
    for name, row in rows.items():
        options = {option for action in parsers[name]._actions for option in action.option_strings}
        named = set(re.findall(r"(--[a-z][a-z-]*)", row))
        assert named - options == set(), f"`ops-bridge {name}` has no option {named - options}"


def _error_codes() -> set[str]:
    codes = {value for name, value in vars(messages).items() if name.isupper() and value == name}
    endpoint = (ROOT / "app" / "ws" / "endpoint.py").read_text()
    codes |= set(re.findall(r'_deny\(websocket, \d{3}, "([A-Z_]+)"', endpoint))
    codes |= {"UNAUTHENTICATED", "FORBIDDEN"}  # the handshake's refusals, from TokenError
    return codes


def _close_codes() -> set[int]:
    """Close codes the service sends: every constant its socket and event code closes with, and
    uvicorn's 1009 (frame over WS_MAX_MESSAGE_BYTES) and 1011 (keepalive ping unanswered)."""
    sources = "\n".join(
        p.read_text() for folder in ("ws", "events", "broker") for p in (ROOT / "app" / folder).glob("*.py")
    )
    names = set(re.findall(r"close(?:_with)?\((?:messages\.)?([A-Z_]+)\b", sources))
    values = dict(re.findall(r"^(_?[A-Z_]+) = (\d+)\b", sources, re.MULTILINE))
    assert names <= set(values), names - set(values)
    return {1009, 1011} | {int(values[name]) for name in names}


def test_every_error_code_the_socket_sends_is_in_the_protocol_doc() -> None:
    missing = {code for code in _error_codes() if f"`{code}`" not in PROTOCOL}

    assert missing == set()


def test_every_close_code_the_service_sends_is_in_the_protocol_docs_close_code_table() -> None:
    table = {int(row[0]) for row in _table_rows(_section(PROTOCOL, "Close codes"))}

    assert _close_codes() - table == set()
    assert {4001, 4008, 1008, 1001} <= _close_codes()  # the scan finds them


@pytest.mark.parametrize("topic", ["incident", "task", "asset", "alert", "notification", "metric"])
def test_the_protocol_doc_shows_an_event_of_every_topic(topic: str) -> None:
    assert f'"type": "{topic}"' in PROTOCOL


@pytest.mark.parametrize("kind", ["connection", "ack", "pong", "error"])
def test_the_protocol_doc_shows_every_control_message(kind: str) -> None:
    assert f'{{"type": "{kind}"' in PROTOCOL


def test_every_metric_is_in_the_deployment_docs_table() -> None:
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            [family] = list(value.describe())
            names.add(family.name + ("_total" if family.type == "counter" else ""))

    assert {name for name in names if f"`{name}`" not in DEPLOYMENT} == set()


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (page.parent / file).resolve() if file else page
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)

    assert broken == []
