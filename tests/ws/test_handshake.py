"""Who may open /api/ws: refused at the handshake with a real HTTP status."""

from __future__ import annotations

import time

import pytest
from jose import jwt
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import JWT_SECRET, token
from tests.support.clients import open_stream, receive
from tests.support.server import RunningServer


def _unsigned(claims: dict[str, object]) -> str:
    import base64
    import json

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _claims(**overrides: object) -> dict[str, object]:
    # Made at collection: valid for longer than the whole suite takes on a busy machine.
    return {"sub": "mallory", "exp": int(time.time()) + 6 * 3600, "roles": ["admin"], "squads": ["*"], **overrides}


REFUSED = [
    pytest.param(None, 401, id="no token"),
    pytest.param("not-a-jwt", 401, id="malformed"),
    pytest.param(token(secret="another-secret-entirely-0123456789abcdef"), 401, id="bad signature"),
    pytest.param(token(ttl=-120), 401, id="expired"),
    pytest.param(_unsigned(_claims()), 401, id="alg none"),
    pytest.param(jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, JWT_SECRET), 401, id="no exp"),
    pytest.param(jwt.encode(_claims(roles=[]), JWT_SECRET), 403, id="no role"),
    pytest.param(jwt.encode(_claims(roles=["root"]), JWT_SECRET), 403, id="unknown role only"),
]


@pytest.mark.parametrize(("bearer", "status"), REFUSED)
async def test_the_handshake_is_refused_with_an_http_status(
    server: RunningServer, bearer: str | None, status: int
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await open_stream(server.ws, bearer)

    assert refused.value.response.status_code == status
    body = refused.value.response.body.decode()
    assert '"error"' in body
    if bearer:
        assert bearer not in body


async def test_a_refused_handshake_carries_the_request_id_as_every_http_answer_does(server: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as kept:
        await open_stream(server.ws, None, additional_headers={"X-Request-ID": "lb-ws-1"})
    with pytest.raises(InvalidStatus) as made:
        await open_stream(server.ws, "not-a-jwt")

    assert kept.value.response.headers["X-Request-ID"] == "lb-ws-1"
    assert len(made.value.response.headers["X-Request-ID"]) == 32


async def test_a_valid_bearer_token_gets_a_confirmation_with_identity_and_position(server: RunningServer) -> None:
    async with await open_stream(server.ws, token(sub="alice", roles=("viewer",), squads=("ops",))) as ws:
        hello = await receive(ws)

    assert hello["type"] == "connection"
    assert hello["action"] == "established"
    assert hello["data"]["sub"] == "alice"
    assert hello["data"]["squads"] == ["ops"]
    assert hello["data"]["position"] == 0


async def test_a_browser_may_offer_the_token_as_a_subprotocol(server: RunningServer) -> None:
    async with connect(server.ws, subprotocols=["bearer", token(sub="browser")]) as ws:  # type: ignore[list-item]
        hello = await receive(ws)
        assert ws.subprotocol == "bearer"

    assert hello["data"]["sub"] == "browser"


async def test_a_cookie_is_accepted_from_an_allowed_origin(database_url: str, tmp_path: object) -> None:
    from pathlib import Path

    from tests.conftest import make_settings
    from tests.support.server import server_in_thread

    settings = make_settings(database_url, Path(str(tmp_path)), allowed_origins=["https://ops.example"])
    cookie = {"Cookie": f"ops_bridge_session={token(sub='cookie-user')}"}
    with server_in_thread(settings) as running:
        async with connect(running.ws, additional_headers={**cookie, "Origin": "https://ops.example"}) as ws:
            assert (await receive(ws))["data"]["sub"] == "cookie-user"
        with pytest.raises(InvalidStatus) as hijack:
            await connect(running.ws, additional_headers={**cookie, "Origin": "https://evil.example"})

    assert hijack.value.response.status_code == 403


async def test_a_non_numeric_resume_position_is_refused(server: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await open_stream(server.ws + "?last_event_id=abc", token())

    assert refused.value.response.status_code == 400
