"""ops-bridge.d.ts types every message of the protocol: one interface per schema of /asyncapi.json,
with the same fields, required where the document requires them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app import __version__
from app.ws.asyncapi import document

DECLARATIONS = (Path(__file__).resolve().parents[2] / "clients" / "js" / "ops-bridge.d.ts").read_text()
SCHEMAS: dict[str, Any] = document(__version__)["components"]["schemas"]
_FIELD = re.compile(r"^  (?P<name>\w+)(?P<optional>\??):", re.MULTILINE)


def _interface(name: str) -> dict[str, bool]:
    """The interface's fields, each mapped to whether it is required."""
    found = re.search(rf"^export interface {name} \{{\n(?P<body>.*?)^\}}", DECLARATIONS, re.MULTILINE | re.DOTALL)
    assert found is not None, f"ops-bridge.d.ts declares no interface {name}"
    return {field["name"]: field["optional"] == "" for field in _FIELD.finditer(found["body"])}


def test_every_message_of_the_document_has_a_schema_here() -> None:
    messages = document(__version__)["components"]["messages"]
    named = {message["payload"]["$ref"].rsplit("/", 1)[-1] for message in messages.values()}

    assert named <= set(SCHEMAS)
    assert len(named) == 17  # six events, six control messages, five requests


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_interface_has_the_schemas_fields_and_requires_what_it_requires(name: str) -> None:
    schema = SCHEMAS[name]
    fields = _interface(name)

    assert set(fields) == set(schema.get("properties", {}))
    required = set(schema.get("required", []))
    assert {field for field, needed in fields.items() if not needed} & required == set()
