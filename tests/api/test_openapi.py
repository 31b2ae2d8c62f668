"""/docs and /openapi.json: every operation documented (summary, description, a
success with its schema, every error it really answers with the error body), and
every request body, webhooks included, with examples the service accepts."""

from __future__ import annotations

from typing import Any

import httpx

from app.api.webhook_docs import EXAMPLES
from tests.conftest import token
from tests.support.api import ADMIN
from tests.support.clients import FIXTURES

_ERROR = {"$ref": "#/components/schemas/ErrorBody"}


def _api_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in spec["paths"].items()
        if path.startswith("/api/") and not path.startswith("/api/webhooks/")
        for method, operation in methods.items()
    ]


async def test_every_operation_documents_its_answer_its_errors_and_its_security(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    operations = _api_operations(spec)

    assert {path for _, path, _ in operations} >= {
        "/api/incidents", "/api/tasks", "/api/alerts", "/api/assets", "/api/assets/bulk", "/api/notifications",
        "/api/events", "/api/metrics", "/api/metrics/sla", "/api/session",
    }  # fmt: skip
    for method, path, operation in operations:
        where = f"{method} {path}"
        success = [status for status in operation["responses"] if status.startswith("2")]
        assert len(success) == 1, where
        if success != ["204"]:
            content = operation["responses"][success[0]]["content"]["application/json"]
            assert content["schema"] != {}, where
        for status in ("401", "403", "422", "503"):
            assert operation["responses"][status]["content"]["application/json"]["schema"] == _ERROR, where
        if "{" in path:
            assert "404" in operation["responses"], where
        if "requestBody" in operation:
            # /api/metrics reads its body raw, as webhooks do: any Content-Type, so never a 415.
            expected = {"400", "413"} | (set() if path == "/api/metrics" else {"415"})
            assert expected <= set(operation["responses"]), where
            assert path != "/api/metrics" or "415" not in operation["responses"], where
        # Declared on every operation: a bearer token, or explicitly none (signing in).
        assert operation["security"] in ([{"HTTPBearer": []}], []), where
        assert operation.get("summary"), where
    assert (await http.get("/docs")).status_code == 200


def _all_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, methods in spec["paths"].items() for method, op in methods.items()]


def _json_schema(response: dict[str, Any]) -> Any:
    content = response.get("content", {})
    return next((media.get("schema") for media in content.values() if media.get("schema")), None)


def _missing(operation: dict[str, Any], path: str) -> list[str]:
    """What the operation's documentation lacks, in words."""
    responses = operation["responses"]
    missing = [part for part in ("summary", "description") if not operation.get(part)]
    successes = [status for status in responses if status.startswith("2")]
    missing += ["a 2xx answer"] if not successes else []
    missing += [f"a schema for {s}" for s in successes if s != "204" and not _json_schema(responses[s])]
    missing += [f"a schema for {s}" for s in responses if s[0] in "45" and not _json_schema(responses[s])]
    wanted = set()
    if path.startswith("/api/"):
        wanted |= {"401", "422", "503"}
    if path.startswith("/api/webhooks/"):
        wanted |= {"429"}
    if "requestBody" in operation:
        wanted |= {"400", "413", "422"}
        missing += [] if _request_examples(None, operation) else ["an example of its body"]
    missing += [f"the error {status}" for status in sorted(wanted - set(responses))]
    return missing


async def test_every_operation_has_a_summary_a_description_a_success_schema_its_errors_and_body_examples(
    http: httpx.AsyncClient,
) -> None:
    spec = (await http.get("/openapi.json")).json()
    operations = _all_operations(spec)

    assert {path for _, path, _ in operations} >= {
        "/api/webhooks/jira", "/api/webhooks/alertmanager", "/api/webhooks/grafana", "/api/webhooks/alerts",
        "/api/webhooks/uptime-kuma", "/api/webhooks/cloudwatch", "/healthz", "/readyz", "/metrics", "/asyncapi.json",
    }  # fmt: skip
    lacking = {f"{method} {path}": _missing(op, path) for method, path, op in operations}
    assert {where: what for where, what in lacking.items() if what} == {}
    for method, path, operation in operations:
        for status, response in operation["responses"].items():
            if status[0] in "45" and path != "/readyz":  # /readyz answers 503 with its checks, not an error
                assert _json_schema(response) == _ERROR, f"{method} {path} {status}"


def test_the_check_finds_an_operation_without_its_documentation() -> None:
    bare = {"responses": {"200": {"description": "OK"}, "401": {"description": "no"}}, "requestBody": {}}

    assert _missing(bare, "/api/webhooks/x") == [
        "summary", "description", "a schema for 200", "a schema for 401", "an example of its body",
        "the error 400", "the error 413", "the error 422", "the error 429", "the error 503",
    ]  # fmt: skip


def _request_examples(spec: dict[str, Any] | None, operation: dict[str, Any]) -> list[Any]:
    """The body's examples: the media type's own, or (given the spec) those of the schema it names."""
    media = operation["requestBody"].get("content", {}).get("application/json", {})
    examples = [example["value"] for example in media.get("examples", {}).values()]
    examples += [media["example"]] if "example" in media else []
    ref = media.get("schema", {}).get("$ref")
    if not examples and ref and spec is not None:
        examples = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("examples", [])
    elif not examples and ref:
        examples = ["(named schema: checked with the spec)"]
    return examples


async def test_every_request_body_has_examples_and_the_service_accepts_each_of_them(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    with_bodies = [(m, p, op) for m, p, op in _all_operations(spec) if "requestBody" in op]
    # Creation first, so the examples that change an asset find the one the first example creates.
    with_bodies.sort(key=lambda item: (item[0] != "POST" or item[1] != "/api/assets", item[1]))
    answers = []
    for method, path, operation in with_bodies:
        examples = _request_examples(spec, operation)
        assert examples, f"{method} {path} has no example"
        for example in examples:
            if path == "/api/session":
                # An example cannot hold a signature that verifies: same shape, a real token.
                example = {**example, "token": token(roles=("admin",))}
            concrete = path.replace("{asset_id}", "i-0a1b2c3d4e5f67890")
            response = await http.request(method, concrete, json=example, headers=ADMIN)
            answers.append((method, path, response.status_code))

    assert all(200 <= status < 300 for _, _, status in answers), answers
    assert {(method, path) for method, path, _ in answers} == {
        ("POST", "/api/assets"),
        ("PUT", "/api/assets/{asset_id}"),
        ("PATCH", "/api/assets/{asset_id}"),
        ("POST", "/api/assets/bulk"),
        ("POST", "/api/notifications"),
        ("POST", "/api/session"),
        ("POST", "/api/metrics"),
        *(("POST", f"/api/webhooks/{sender}")
          for sender in ("jira", "alertmanager", "grafana", "alerts", "uptime-kuma", "cloudwatch")),
    }  # fmt: skip


def test_every_webhook_example_is_a_sample_delivery_of_the_suite() -> None:
    copies = sorted(EXAMPLES.glob("*/*.json"))
    samples = {path.read_bytes() for path in FIXTURES.glob("*/*.json")}

    assert len(copies) >= 11
    assert [path.name for path in copies if path.read_bytes() not in samples] == []
