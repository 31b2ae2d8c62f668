"""GET /client/ops-bridge.js and .d.ts: the package's own files, loadable from any origin."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.client.routes import DECLARATIONS, MODULE, STATIC

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "js"
FILES = [MODULE, DECLARATIONS]


@pytest.mark.parametrize("name", FILES)
def test_the_served_copy_is_the_package_file_byte_for_byte(name: str) -> None:
    # The package (clients/js/) is the source; app/client/static/ ships it inside the service.
    assert (STATIC / name).read_bytes() == (PACKAGE / name).read_bytes(), (
        f"app/client/static/{name} differs from clients/js/{name}: "
        "run `cp clients/js/ops-bridge.js clients/js/ops-bridge.d.ts app/client/static/`"
    )


def test_the_package_points_at_the_module_and_its_types() -> None:
    package = json.loads((PACKAGE / "package.json").read_text())

    assert package["exports"]["."] == {"types": f"./{DECLARATIONS}", "default": f"./{MODULE}"}
    assert package["type"] == "module"
    assert package.get("dependencies", {}) == {}
    assert {MODULE, DECLARATIONS} <= set(package["files"])


@pytest.mark.parametrize(
    ("name", "content_type"),
    [(MODULE, "text/javascript; charset=utf-8"), (DECLARATIONS, "application/typescript; charset=utf-8")],
)
async def test_the_client_is_served_to_any_origin_with_its_type(
    http: httpx.AsyncClient, name: str, content_type: str
) -> None:
    response = await http.get(f"/client/{name}", headers={"Origin": "https://dashboard.example"})

    assert response.status_code == 200
    assert response.content == (PACKAGE / name).read_bytes()
    assert response.headers["content-type"] == content_type
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-credentials" not in response.headers


async def test_the_module_says_where_its_types_are_and_revalidates(http: httpx.AsyncClient) -> None:
    response = await http.get(f"/client/{MODULE}")
    again = await http.get(f"/client/{MODULE}", headers={"If-None-Match": response.headers["etag"]})

    assert response.headers["x-typescript-types"] == f"/client/{DECLARATIONS}"
    assert response.headers["cache-control"] == "no-cache"
    assert again.status_code == 304


async def test_nothing_else_is_served_under_client(http: httpx.AsyncClient) -> None:
    assert (await http.get("/client/routes.py")).status_code == 404
    assert (await http.get("/client/..%2Froutes.py")).status_code == 404
