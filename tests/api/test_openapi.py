"""/docs and /openapi.json: every REST operation documented, with a response model,
its errors, and request bodies whose examples the service accepts."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import token
from tests.support.api import ADMIN

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
            assert {"400", "413", "415"} <= set(operation["responses"]), where
        # Declared on every operation: a bearer token, or explicitly none (signing in).
        assert operation["security"] in ([{"HTTPBearer": []}], []), where
        assert operation.get("summary"), where
    assert (await http.get("/docs")).status_code == 200


def _examples(spec: dict[str, Any], operation: dict[str, Any]) -> list[Any]:
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    examples: list[Any] = spec["components"]["schemas"][name].get("examples", [])
    return examples


async def test_every_request_body_has_examples_and_the_service_accepts_each_of_them(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    with_bodies = [(m, p, op) for m, p, op in _api_operations(spec) if "requestBody" in op]
    # Creation first, so the examples that change an asset find the one the first example creates.
    with_bodies.sort(key=lambda item: (item[0] != "POST" or item[1] != "/api/assets", item[1]))
    answers = []
    for method, path, operation in with_bodies:
        examples = _examples(spec, operation)
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
    }
