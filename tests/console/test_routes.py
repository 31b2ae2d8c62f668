"""GET /console and its files: served as they are, under a strict policy."""

from __future__ import annotations

import re

import httpx
import pytest

from app.console.routes import STATIC


async def test_the_console_page_is_served_under_a_strict_content_security_policy(http: httpx.AsyncClient) -> None:
    response = await http.get("/console")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in response.headers["content-security-policy"].split("; ")
    }
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("board.js", "javascript"), ("board-model.js", "javascript"), ("board.css", "text/css")],
)
async def test_the_consoles_files_are_served_with_their_type_and_nosniff(
    http: httpx.AsyncClient, name: str, content_type: str
) -> None:
    response = await http.get(f"/console/static/{name}")

    assert response.status_code == 200
    assert content_type in response.headers["content-type"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


async def test_a_file_outside_the_consoles_folder_is_not_served(http: httpx.AsyncClient) -> None:
    # Encoded, so the client sends the dots as they are instead of resolving them.
    response = await http.get("/console/static/..%2Fsession.py")
    assert response.status_code == 404
    response = await http.get("/console/static/%2E%2E/session.py")

    assert response.status_code == 404


def test_the_page_has_no_inline_script_or_style() -> None:
    # The policy would block them; this says which line to fix, where the browser would only refuse.
    page = (STATIC / "index.html").read_text()

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "<style" not in page
    assert re.findall(r"\son[a-z]+=", page) == []
    assert re.findall(r"\sstyle=", page) == []


def test_the_board_loads_the_client_from_the_services_own_origin() -> None:
    # script-src 'self': the board imports the served client by path, never from another host.
    board = (STATIC / "board.js").read_text()

    assert 'from "/client/ops-bridge.js"' in board
    assert re.findall(r"""from\s+["']https?:""", board) == []
