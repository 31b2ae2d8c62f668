"""Hostile credentials, one test per attack (docs/security.md, "Hostile traffic"):
tokens, keys, secrets, cookies and origins, each against a real server on a real
socket, or `ops-bridge serve` itself where the rule decides whether it starts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jwt
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.config import load_settings
from tests.conftest import JWT_SECRET, token
from tests.support.browser import fresh_page, launched
from tests.support.clients import open_stream, receive
from tests.support.keys import claims, rsa_pair
from tests.support.server import RunningServer, server_in_thread
from tests.support.startup import refusal

RSA = rsa_pair()
# Random values, as `openssl rand -hex 32` makes them.
STRONG = {
    "JWT_SECRET": "5b0e8f3c9a1d47e2b6c3f08a9d1e5c7b2a4f6e8d0c1b3a5f7e9d2c4b6a8f0e1d",
    "JIRA_WEBHOOK_SECRET": "c41f9a27e08b3d65f1a2c9e74b0d8f36a5e2c1b9d7f04a6e3c8b5d2f1e9a07c4",
    "ALERT_WEBHOOK_TOKEN": "8e3a1f6c0b9d2e7f4a5c1b8d3e6f0a9c",
    "METRICS_TOKEN": "f07c2e9b4a1d6c3e8f5b0a2d9c7e4b1f",
}


def _hs256(secret: bytes, payload: dict[str, Any]) -> str:
    """A token signed as python-jose would, with any key (the empty one included)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(payload).encode())
    return head + "." + b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


async def test_a_blank_jwt_secret_beside_a_public_key_accepts_no_token_signed_with_the_empty_key(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `JWT_SECRET=` beside JWT_PUBLIC_KEY once made the empty string an HS256 key.
    monkeypatch.setenv("JWT_SECRET", "")
    monkeypatch.setenv("JWT_PUBLIC_KEY", RSA.public_pem)
    settings = load_settings(database_url=database_url, data_dir=tmp_path / "data")
    forged = _hs256(b"", claims(sub="mallory", roles=["admin"]))
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            rest = await http.get("/api/incidents", headers={"Authorization": f"Bearer {forged}"})
            genuine = await http.get("/api/incidents", headers={"Authorization": f"Bearer {RSA.sign(claims())}"})
        with pytest.raises(InvalidStatus) as refused:
            await open_stream(running.ws, forged)

    assert settings.jwt_secret is None
    assert rest.status_code == 401
    assert refused.value.response.status_code == 401
    assert genuine.status_code == 200


def test_hmac_keys_under_32_bytes_are_refused_in_development_too(database_url: str, tmp_path: Path) -> None:
    said = refusal(
        {
            "DATABASE_URL": database_url,
            "JWT_SECRET": "short-hs256-key",
            "JIRA_WEBHOOK_SECRET": "jira-secret-31-bytes-long-00000",
            "GRAFANA_WEBHOOK_SECRET": "g",
        },
        tmp_path,
    )

    for name in ("JWT_SECRET", "JIRA_WEBHOOK_SECRET", "GRAFANA_WEBHOOK_SECRET"):
        assert f"{name} is an HMAC key and must be at least 32 bytes" in said
    assert "short-hs256-key" not in said


def test_production_with_an_identity_providers_key_refuses_to_start_without_audience_and_issuer(
    database_url: str, tmp_path: Path
) -> None:
    # Without them, a token the same provider signed for another application (another
    # `aud`, another `iss`) with `roles: [admin]` was accepted.
    env = {**STRONG, "ENVIRONMENT": "production", "DATABASE_URL": database_url, "JWT_PUBLIC_KEY": RSA.public_pem}
    del env["JWT_SECRET"]

    said = refusal(env, tmp_path)
    settings = load_settings(
        **{name.lower(): value for name, value in env.items()},
        data_dir=tmp_path / "data",
        jwt_audience="ops-bridge",
        jwt_issuer="https://idp",
    )

    assert "set JWT_AUDIENCE and JWT_ISSUER with JWT_PUBLIC_KEY or JWT_JWKS_FILE" in said
    assert (settings.jwt_audience, settings.jwt_issuer) == ("ops-bridge", "https://idp")  # with both, it starts


def test_production_refuses_weak_secrets_and_metrics_open_to_anyone(database_url: str, tmp_path: Path) -> None:
    weak = {
        "JWT_SECRET": "a" * 32,
        "JIRA_WEBHOOK_SECRET": "changeme" * 4,
        "ALERT_WEBHOOK_TOKEN": "qwertyuiopasdfgh",
        "GRAFANA_WEBHOOK_SECRET": "g",
    }
    said = refusal({"ENVIRONMENT": "production", "DATABASE_URL": database_url, **weak}, tmp_path)
    public = load_settings(
        environment="production",
        database_url=database_url,
        data_dir=tmp_path / "data",
        metrics_public=True,
        **_lower(STRONG),
    )

    assert "JWT_SECRET is a guessable value" in said
    assert "JIRA_WEBHOOK_SECRET is a guessable value" in said
    assert "ALERT_WEBHOOK_TOKEN is a guessable value" in said
    assert "GRAFANA_WEBHOOK_SECRET is an HMAC key and must be at least 32 bytes" in said
    assert "set METRICS_TOKEN so /metrics needs it, or METRICS_PUBLIC=true" in said
    assert not any(value in said for value in weak.values() if len(value) > 1)  # no secret is repeated
    assert public.metrics_public  # the explicit opt-in starts


def _lower(values: dict[str, str]) -> dict[str, Any]:
    return {name.lower(): value for name, value in values.items() if name != "METRICS_TOKEN"}


async def test_a_token_offered_as_subprotocol_outranks_the_session_cookie_in_chromium(server: RunningServer) -> None:
    # A dashboard user who also had a console session: the cookie won, no subprotocol was
    # selected, and Chromium dropped the handshake (1006).
    opened = """async ([url, token]) => {
        const login = await fetch("/api/session", {method: "POST", headers: {"Content-Type": "application/json"},
                                                   body: JSON.stringify({token: token.console})});
        return await new Promise((resolve) => {
            const ws = new WebSocket(url, ["bearer", token.dashboard]);
            ws.onmessage = (m) => { resolve({login: login.status, protocol: ws.protocol, first: JSON.parse(m.data)});
                                    ws.close(); };
            ws.onclose = (e) => resolve({login: login.status, closed: e.code});
        });
    }"""
    tokens = {"console": token(sub="console-user"), "dashboard": token(sub="dashboard-user")}
    async with launched() as browser, fresh_page(browser) as page:
        await page.goto(f"{server.http}/healthz")
        result = await page.evaluate(opened, [server.ws, tokens])

    assert result.get("closed") is None, f"the handshake failed: {result}"
    assert (result["login"], result["protocol"]) == (200, "bearer")
    assert result["first"]["data"]["sub"] == "dashboard-user"


async def test_over_https_the_session_cookie_is_host_prefixed_and_a_plain_one_is_ignored(server: RunningServer) -> None:
    over_https = {"X-Forwarded-Proto": "https"}  # from 127.0.0.1, a proxy uvicorn trusts
    origin = f"https://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=server.http) as http:
        signed_in = await http.post("/api/session", json={"token": token(sub="ana")}, headers=over_https)
    name, _, value = signed_in.headers["set-cookie"].partition(";")[0].partition("=")
    async with connect(
        server.ws, additional_headers={**over_https, "Origin": origin, "Cookie": f"{name}={value}"}
    ) as ws:
        welcome = await receive(ws)
    with pytest.raises(InvalidStatus) as planted:
        await connect(
            server.ws, additional_headers={**over_https, "Origin": origin, "Cookie": f"ops_bridge_session={value}"}
        )

    assert name == "__Host-ops_bridge_session"
    assert "Secure" in signed_in.headers["set-cookie"]
    assert welcome["data"]["sub"] == "ana"
    assert planted.value.response.status_code == 401  # a cookie a neighbouring subdomain could set


ODD_TIMES = [
    pytest.param({"exp": None}, id="exp-null"),
    pytest.param({"exp": [int(time.time()) + 600]}, id="exp-list"),
    pytest.param({"exp": 253402300800 + 600}, id="exp-year-10000"),
    pytest.param({"nbf": {}}, id="nbf-object"),
    pytest.param({"exp": str(int(time.time()) + 600)}, id="exp-string"),
]


@pytest.mark.parametrize("odd", ODD_TIMES)
async def test_a_signed_token_with_odd_time_claims_is_refused_and_harms_no_session(
    server: RunningServer, odd: dict[str, Any]
) -> None:
    bad = jwt.encode({**claims(roles=["admin"]), **odd}, JWT_SECRET, algorithm="HS256")
    async with httpx.AsyncClient(base_url=server.http) as http:
        rest = await http.get("/api/incidents", headers={"Authorization": f"Bearer {bad}"})
    with pytest.raises(InvalidStatus) as handshake:
        await open_stream(server.ws, bad)
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await ws.send(json.dumps({"action": "auth", "token": bad, "id": "renew"}))
        answer = await receive(ws)
        await ws.send(json.dumps({"action": "ping", "id": "still-there"}))
        pong = await receive(ws)

    assert (rest.status_code, rest.json()["error"]["code"]) == (401, "UNAUTHENTICATED")
    assert handshake.value.response.status_code == 401
    assert (answer["type"], answer["data"]["code"], answer["data"]["original_message_id"]) == (
        "error", "TOKEN_INVALID", "renew",
    )  # fmt: skip
    assert (pong["action"], pong["data"]["original_message_id"]) == ("pong", "still-there")


async def test_the_cookie_origin_check_compares_the_scheme(server: RunningServer) -> None:
    # https://host was accepted for a service served as http://host: another origin.
    cookie = f"ops_bridge_session={token()}"
    foreign_scheme = f"https://127.0.0.1:{server.port}"
    with pytest.raises(InvalidStatus) as refused:
        await connect(server.ws, additional_headers={"Origin": foreign_scheme, "Cookie": cookie})
    async with httpx.AsyncClient(base_url=server.http) as http:
        sign_in = await http.post("/api/session", json={"token": token()}, headers={"Origin": foreign_scheme})
    async with connect(server.ws, additional_headers={"Origin": server.http, "Cookie": cookie}) as ws:
        own = await receive(ws)

    assert refused.value.response.status_code == 403
    assert sign_in.status_code == 403
    assert own["type"] == "connection"
