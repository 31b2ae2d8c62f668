"""POST/GET/DELETE /api/session: the token checked once and kept in a cookie the socket accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from jose import jwt as jwt_claims
from websockets.asyncio.client import connect

from app.clock import iso
from tests.conftest import token
from tests.support.clients import receive
from tests.support.server import RunningServer


def _set_cookie(response: httpx.Response) -> list[str]:
    """The Set-Cookie header's attributes, as sent (name=value first)."""
    [header] = response.headers.get_list("set-cookie")
    return [part.strip() for part in header.split(";")]


async def test_signing_in_sets_an_httponly_strict_cookie_that_lives_no_longer_than_the_token(
    http: httpx.AsyncClient,
) -> None:
    jwt = token(sub="ana", email="Ana@Example.com", roles=("viewer", "publisher"), squads=("ops",), ttl=600)

    response = await http.post("/api/session", json={"token": jwt})

    assert response.status_code == 200
    assert response.json() == {
        "sub": "ana",
        "email": "ana@example.com",
        "roles": ["publisher", "viewer"],
        "squads": ["ops"],
        "environments": ["*"],
        "expires_at": iso(datetime.fromtimestamp(jwt_claims.get_unverified_claims(jwt)["exp"], UTC)),
    }
    assert jwt not in response.text
    assert response.headers["cache-control"] == "no-store"
    first, *attributes = _set_cookie(response)
    assert first == f"ops_bridge_session={jwt}"
    max_age = int(next(a for a in attributes if a.startswith("Max-Age=")).removeprefix("Max-Age="))
    assert 590 <= max_age <= 600
    assert {"HttpOnly", "Path=/", "SameSite=strict"} <= set(attributes)
    assert "Secure" not in attributes


async def test_the_cookie_is_secure_when_the_request_came_over_https(http: httpx.AsyncClient) -> None:
    # uvicorn trusts X-Forwarded-Proto from a proxy on 127.0.0.1 (its default forwarded_allow_ips).
    response = await http.post("/api/session", json={"token": token()}, headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == 200
    assert "Secure" in _set_cookie(response)


REFUSED = [
    pytest.param("not-a-jwt", 401, "malformed token", id="malformed"),
    pytest.param(
        token(secret="another-secret-entirely-0123456789abcdef"), 401, "invalid signature", id="bad signature"
    ),
    pytest.param(token(ttl=-120), 401, "token expired", id="expired"),
    pytest.param(token(roles=()), 403, "token grants no role (viewer, publisher or admin)", id="no role"),
]


@pytest.mark.parametrize(("jwt", "status", "reason"), REFUSED)
async def test_a_token_the_socket_would_refuse_is_refused_the_same_way_and_sets_no_cookie(
    http: httpx.AsyncClient, jwt: str, status: int, reason: str
) -> None:
    response = await http.post("/api/session", json={"token": jwt})

    assert response.status_code == status
    assert response.json()["error"]["message"] == reason
    assert "set-cookie" not in response.headers
    assert jwt not in response.text


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": 42}, {"token": "x", "remember": True}])
async def test_a_body_without_a_token_string_is_refused_with_422(http: httpx.AsyncClient, body: object) -> None:
    response = await http.post("/api/session", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_PAYLOAD"
    assert "set-cookie" not in response.headers


async def test_sign_in_from_a_foreign_origin_is_refused(http: httpx.AsyncClient) -> None:
    # A page elsewhere must not sign the browser in (or out) as someone else.
    response = await http.post("/api/session", json={"token": token()}, headers={"Origin": "https://evil.example"})

    assert response.status_code == 403
    assert "set-cookie" not in response.headers


async def test_sign_in_from_the_services_own_origin_is_accepted(http: httpx.AsyncClient, server: RunningServer) -> None:
    response = await http.post("/api/session", json={"token": token()}, headers={"Origin": server.http})

    assert response.status_code == 200


async def test_the_session_cookie_opens_the_socket_from_the_services_own_origin(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await http.post("/api/session", json={"token": token(sub="by-cookie")})
    cookie = f"ops_bridge_session={http.cookies['ops_bridge_session']}"

    async with connect(server.ws, additional_headers={"Cookie": cookie, "Origin": server.http}) as ws:
        hello = await receive(ws)

    assert hello["data"]["sub"] == "by-cookie"


async def test_the_session_says_who_is_signed_in(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/session")).status_code == 401

    await http.post("/api/session", json={"token": token(sub="who")})
    response = await http.get("/api/session")

    assert response.status_code == 200
    assert response.json()["sub"] == "who"
    assert response.headers["cache-control"] == "no-store"


async def test_signing_out_expires_the_cookie(http: httpx.AsyncClient) -> None:
    await http.post("/api/session", json={"token": token()})

    response = await http.delete("/api/session")

    assert response.status_code == 204
    first, *attributes = _set_cookie(response)
    assert first == 'ops_bridge_session=""'
    assert "Max-Age=0" in attributes
    assert {"HttpOnly", "Path=/", "SameSite=strict"} <= set(attributes)
    assert (await http.get("/api/session")).status_code == 401


async def test_the_cookies_lifetime_is_the_tokens_not_a_fixed_one(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/session", json={"token": token(ttl=45)})

    max_age = next(a for a in _set_cookie(response) if a.startswith("Max-Age="))
    assert 35 <= int(max_age.removeprefix("Max-Age=")) <= 45


async def test_a_wall_screens_long_lived_viewer_token_keeps_its_session_for_as_long_as_it_lives(
    http: httpx.AsyncClient,
) -> None:
    thirty_days = 30 * 24 * 3600
    response = await http.post(
        "/api/session", json={"token": token(sub="wall:noc", roles=("viewer",), ttl=thirty_days)}
    )

    assert response.status_code == 200
    max_age = next(a for a in _set_cookie(response) if a.startswith("Max-Age="))
    assert thirty_days - 10 <= int(max_age.removeprefix("Max-Age=")) <= thirty_days


@pytest.mark.parametrize("roles", [("publisher",), ("admin",), ("viewer", "publisher")])
async def test_a_token_valid_for_more_than_a_day_that_may_write_is_refused_a_session(
    http: httpx.AsyncClient, roles: tuple[str, ...]
) -> None:
    response = await http.post("/api/session", json={"token": token(roles=roles, ttl=2 * 24 * 3600)})

    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "a token valid for more than 24 h signs in with the viewer role only (a wall screen's token)"
    )
    assert "set-cookie" not in response.headers


async def test_a_day_long_token_of_any_role_still_signs_in(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/session", json={"token": token(roles=("admin",), ttl=24 * 3600)})

    assert response.status_code == 200
