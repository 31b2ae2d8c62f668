"""Every attack on the stream and the webhooks, one row each: what was tried and
what must happen. The rows run against a real server on a real socket."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.auth.webhook_signatures import hmac_sha256_hex
from tests.conftest import JWT_SECRET, make_settings, token
from tests.support.clients import open_stream, receive
from tests.support.jira import issue_event
from tests.support.keys import claims, rsa_pair
from tests.support.server import RunningServer, server_in_thread

RSA = rsa_pair()
ALLOWED_ORIGIN = "https://ops.example"
MAX_MESSAGE = 4096
BODY_LIMIT = 4096


@pytest.fixture(scope="module")
def guarded_settings_overrides() -> dict[str, Any]:
    return {
        "jwt_public_key": RSA.public_pem,
        "allowed_origins": [ALLOWED_ORIGIN],
        "ws_max_message_bytes": MAX_MESSAGE,
        "ws_max_connections_per_user": 2,
        "ws_rate_limit_per_minute": 20,
        "max_webhook_body_bytes": BODY_LIMIT,
        "webhook_rate_limit_per_second": 5,
        "jira_webhook_secret": "jira-secret-for-the-attack-table",
        "jwt_leeway_seconds": 0,
    }


@pytest.fixture
def guarded(database_url: str, tmp_path: Path, guarded_settings_overrides: dict[str, Any]) -> Iterator[RunningServer]:
    with server_in_thread(make_settings(database_url, tmp_path, **guarded_settings_overrides)) as running:
        yield running


def _forged_hs256_with_public_key() -> str:
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256"}).encode()) + "." + b64(json.dumps(claims(roles=["admin"])).encode())
    return head + "." + b64(hmac.new(RSA.public_pem.encode(), head.encode(), hashlib.sha256).digest())


def _none_token() -> str:
    import base64

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return b64(b'{"alg":"none"}') + "." + b64(json.dumps(claims(roles=["admin"])).encode()) + "."


@dataclass(frozen=True)
class Handshake:
    tried: str
    headers: dict[str, str]
    path: str
    status: int


HANDSHAKES = [
    Handshake("no credentials at all", {}, "", 401),
    Handshake("a bearer token that is not a JWT", {"Authorization": "Bearer not.a.jwt"}, "", 401),
    Handshake("a token signed with another secret", {"Authorization": f"Bearer {token(secret='x' * 40)}"}, "", 401),
    Handshake("alg none", {"Authorization": f"Bearer {_none_token()}"}, "", 401),
    Handshake("HS256 keyed with the RSA public key", {"Authorization": f"Bearer {_forged_hs256_with_public_key()}"},
              "", 401),
    Handshake("an expired token", {"Authorization": f"Bearer {token(ttl=-5)}"}, "", 401),
    Handshake("a valid token with no role", {"Authorization": f"Bearer {token(roles=())}"}, "", 403),
    Handshake("the session cookie from a foreign origin (hijacking)",
              {"Cookie": f"ops_bridge_session={token()}", "Origin": "https://evil.example"}, "", 403),
    Handshake("?token= while query tokens are off", {}, f"?token={token()}", 401),
    Handshake("a resume position that is not a number", {"Authorization": f"Bearer {token()}"},
              "?last_event_id=1%3BDROP", 400),
]  # fmt: skip


@pytest.mark.parametrize("attack", HANDSHAKES, ids=lambda a: a.tried)
async def test_handshake_attacks_are_refused_with_an_http_status(guarded: RunningServer, attack: Handshake) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(guarded.ws + attack.path, additional_headers=attack.headers, open_timeout=10)

    assert refused.value.response.status_code == attack.status
    body = refused.value.response.body.decode()
    assert '"error"' in body
    for value in attack.headers.values():
        assert value.removeprefix("Bearer ").removeprefix("ops_bridge_session=") not in body


async def test_the_accepted_handshakes_for_contrast(guarded: RunningServer) -> None:
    rs256 = RSA.sign(claims(roles=["viewer"]), kid=False)
    cookie = {"Cookie": f"ops_bridge_session={token()}", "Origin": ALLOWED_ORIGIN}
    async with connect(guarded.ws, additional_headers={"Authorization": f"Bearer {rs256}"}) as ws:
        assert (await receive(ws))["type"] == "connection"
    async with connect(guarded.ws, additional_headers=cookie) as ws:
        assert (await receive(ws))["type"] == "connection"


async def test_more_connections_than_allowed_per_user_are_refused(guarded: RunningServer) -> None:
    async with await open_stream(guarded.ws, token(sub="greedy")), await open_stream(guarded.ws, token(sub="greedy")):
        with pytest.raises(InvalidStatus) as refused:
            await open_stream(guarded.ws, token(sub="greedy"))
        async with await open_stream(guarded.ws, token(sub="someone-else")) as other:
            assert (await receive(other))["type"] == "connection"

    assert refused.value.response.status_code == 429


SocketAttack = Callable[[ClientConnection], Awaitable[None]]


async def _flood(ws: ClientConnection) -> None:
    for _ in range(60):
        await ws.send('{"action":"ping"}')


async def _oversized(ws: ClientConnection) -> None:
    await ws.send(json.dumps({"action": "ping", "pad": "x" * (MAX_MESSAGE * 2)}))


async def _binary(ws: ClientConnection) -> None:
    await ws.send(b"\x00\x01\x02")


async def _nested(ws: ClientConnection) -> None:
    await ws.send("[" * 1500 + "]" * 1500)


@pytest.mark.parametrize(
    ("tried", "attack", "outcome"),
    [
        ("more than the allowed messages a minute", _flood, "closed 1008 after RATE_LIMITED errors"),
        ("a frame over the inbound limit", _oversized, "closed 1009"),
        ("a binary frame", _binary, "error INVALID_MESSAGE, connection kept"),
        ("JSON nested 1500 deep", _nested, "error INVALID_MESSAGE, connection kept"),
    ],
)
async def test_socket_attacks(guarded: RunningServer, tried: str, attack: SocketAttack, outcome: str) -> None:
    received: list[dict[str, Any]] = []
    async with (
        await open_stream(guarded.ws, token()) as ws,
        await open_stream(guarded.ws, token(sub="bystander")) as other,
    ):
        await receive(ws)
        await receive(other)
        await attack(ws)
        code = None
        try:
            async with asyncio.timeout(10):
                async for raw in ws:
                    received.append(json.loads(raw))
                    if "kept" in outcome:
                        break
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
        if code is None and ws.close_code is not None:
            code = ws.close_code
        # Nobody else's connection suffers.
        await other.send('{"action":"ping"}')
        assert (await receive(other))["action"] == "pong"

    codes = [m["data"]["code"] for m in received if m.get("type") == "error"]
    if outcome.startswith("closed 1008"):
        assert code == 1008
        assert "RATE_LIMITED" in codes
    elif outcome.startswith("closed 1009"):
        assert code == 1009
    else:
        assert codes == ["INVALID_MESSAGE"]
        assert code is None


async def _drain(ws: ClientConnection) -> None:
    async for _ in ws:
        pass


async def test_a_token_expiring_mid_connection_ends_it_with_4001_unless_refreshed(guarded: RunningServer) -> None:
    async with (
        await open_stream(guarded.ws, token(sub="short", ttl=2)) as lapsing,
        await open_stream(guarded.ws, token(sub="short", ttl=2)) as refreshed,
    ):
        await receive(lapsing)
        await receive(refreshed)
        await refreshed.send(json.dumps({"id": "a", "action": "auth", "token": token(sub="short", ttl=600)}))
        ack = await receive(refreshed)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(_drain(lapsing), 15)
        # Past the first token's expiry, the refreshed connection still answers.
        await refreshed.send('{"action":"ping"}')
        assert (await receive(refreshed))["action"] == "pong"

    assert ack["type"] == "ack"
    assert ack["action"] == "auth"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4001


async def test_a_fresh_token_for_someone_else_is_refused_and_the_connection_stays(guarded: RunningServer) -> None:
    async with await open_stream(guarded.ws, token(sub="ana")) as ws:
        await receive(ws)
        await ws.send(json.dumps({"id": 1, "action": "auth", "token": token(sub="mallory", roles=("admin",))}))
        error = await receive(ws)
        await ws.send(json.dumps({"id": 2, "action": "auth", "token": "garbage"}))
        invalid = await receive(ws)

    assert error["data"]["code"] == "FORBIDDEN"
    assert invalid["data"]["code"] == "TOKEN_INVALID"


async def test_a_webhook_body_over_the_limit_is_refused_before_it_is_read(guarded: RunningServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", guarded.port)
    # Announce 100 MB, send almost nothing: the answer must come without the rest.
    writer.write(
        b"POST /api/webhooks/jira HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000\r\n\r\n{"
    )
    await writer.drain()
    async with asyncio.timeout(10):
        status = await reader.readline()
    writer.close()

    assert b" 413 " in status


async def test_a_chunked_body_over_the_limit_is_cut_off_with_413(guarded: RunningServer) -> None:
    async def chunks() -> Any:
        for _ in range(BODY_LIMIT // 512 + 2):
            yield b"x" * 512

    async with httpx.AsyncClient(base_url=guarded.http) as http:
        response = await http.post("/api/webhooks/jira", content=chunks())

    assert response.status_code == 413


async def test_a_webhook_flood_is_answered_429_with_retry_after(guarded: RunningServer, database_url: str) -> None:
    secret = "jira-secret-for-the-attack-table"
    async with httpx.AsyncClient(base_url=guarded.http) as http:
        responses = []
        for number in range(30):
            body = json.dumps(issue_event(number)).encode()
            signature = "sha256=" + hmac_sha256_hex(secret, body)
            headers = {"Content-Type": "application/json", "X-Hub-Signature": signature}
            responses.append(await http.post("/api/webhooks/jira", content=body, headers=headers))

    statuses = [r.status_code for r in responses]
    assert set(statuses) == {200, 429}  # past the sender's rate, refused (and nothing stored)
    limited = next(r for r in responses if r.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM webhook_deliveries").fetchone() == (statuses.count(200),)


async def test_no_secret_or_token_reaches_a_log(guarded: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    secret_token = token(secret=JWT_SECRET, ttl=-5)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InvalidStatus):
        await open_stream(guarded.ws, secret_token)
    async with httpx.AsyncClient(base_url=guarded.http) as http:
        headers = {"X-Hub-Signature": "sha256=" + "ab" * 32, "Authorization": "Bearer leaked-maybe"}
        await http.post("/api/webhooks/jira?secret=wrong-secret-value", json=issue_event(1), headers=headers)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    # The handshake's headers and the request line were logged, redacted.
    assert "authorization: [redacted]" in logged.lower()
    assert "secret=[redacted]" in logged
    for secret in (secret_token, JWT_SECRET, "jira-secret-for-the-attack-table", "leaked-maybe", "wrong-secret-value"):
        assert secret not in logged
