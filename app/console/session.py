"""Sign-in for browsers: a token, checked once, kept in the session cookie the socket accepts.

The cookie is HttpOnly (no script on the page can read the token back),
SameSite=Strict, Path=/, Secure and `__Host-` prefixed when the request came
over https (app.auth.credentials says why), and lives no longer than the token.
A session that outlives a working day is a wall screen's: it may only look
(viewer role), so a browser left signed in for weeks in a room cannot write
anything (docs/security.md, "Wall screens").

Creating or deleting a session changes what every later request of the
browser carries, so a request from a foreign origin is refused:
the same origin rule the socket applies to the cookie (app.auth.credentials).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from app.api.auth import Authenticated
from app.api.responses import READ, WRITE, errors
from app.api.routing import JsonApiRoute
from app.auth.credentials import is_secure, origin_allowed, session_cookie_name
from app.auth.principal import Principal
from app.auth.tokens import TokenError
from app.clock import utcnow
from app.config import Settings
from app.contract.payloads import Timestamp
from app.errors import Forbidden, Unauthenticated
from app.runtime import runtime_of

router = APIRouter(prefix="/api/session", tags=["console"], route_class=JsonApiRoute)
# Signing in and out carry the token in the body or no token at all.
_NO_BEARER: dict[str, Any] = {"security": []}

# Far above any real JWT, far below what would let a body tie up the verifier.
_MAX_TOKEN_CHARS = 16 * 1024
_NO_STORE = {"Cache-Control": "no-store"}
# Longer than this, a session may hold the viewer role only.
LONG_SESSION_SECONDS = 24 * 3600


class SignIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbmEifQ.sig"}]},
    )

    token: Annotated[StrictStr, Field(min_length=1, max_length=_MAX_TOKEN_CHARS)]


class SessionInfo(BaseModel):
    """Who is signed in: what the page shows and decides on, never the token."""

    sub: str
    email: str | None
    roles: list[str]
    # ["*"]: every squad (or environment).
    squads: list[str]
    environments: list[str]
    expires_at: Timestamp

    @classmethod
    def of(cls, principal: Principal) -> SessionInfo:
        return cls(
            sub=principal.sub,
            email=principal.email,
            roles=sorted(principal.roles),
            squads=sorted(principal.squads) if principal.squads is not None else ["*"],
            environments=sorted(principal.environments) if principal.environments is not None else ["*"],
            expires_at=principal.expires_at,
        )


@router.post(
    "",
    summary="Sign in: verify a token and keep it in the session cookie",
    responses=errors(*WRITE, e401="the token is malformed, expired or wrongly signed",
                     e403="the token grants no role, a token valid for more than 24 h grants more than viewer, "
                          "or the request came from a foreign origin"),
    openapi_extra=_NO_BEARER,
)  # fmt: skip
async def sign_in(body: SignIn, request: Request, response: Response) -> SessionInfo:
    """Verifies the token as the socket would and keeps it in the session cookie (HttpOnly,
    SameSite=Strict, Secure over https, expiring with the token). Refused from a foreign origin, and for a
    token valid for more than 24 h unless its only role is viewer (a wall screen's)."""
    runtime = runtime_of(request)
    _refuse_foreign_origin(request, runtime.settings)
    principal = _verify(request, body.token)
    lifetime = int((principal.expires_at - utcnow()).total_seconds())
    if lifetime <= 0:
        # Within the verifier's leeway, but a cookie with no time left is no session.
        raise Unauthenticated("token expired")
    if lifetime > LONG_SESSION_SECONDS and principal.roles != {"viewer"}:
        raise Forbidden("a token valid for more than 24 h signs in with the viewer role only (a wall screen's token)")
    response.set_cookie(
        session_cookie_name(request, runtime.settings),
        body.token,
        max_age=lifetime,
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="strict",
    )
    response.headers.update(_NO_STORE)
    return SessionInfo.of(principal)


@router.get("", summary="Who the session (or any other credential) belongs to", responses=errors(*READ))
async def current_session(principal: Authenticated, response: Response) -> SessionInfo:
    """Whom the session cookie (or a bearer token) belongs to: never the token itself."""
    response.headers.update(_NO_STORE)
    return SessionInfo.of(principal)


@router.delete(
    "",
    status_code=204,
    summary="Sign out: expire the session cookie",
    responses=errors(*READ, e403="the request came from a foreign origin"),
    openapi_extra=_NO_BEARER,
)
async def sign_out(request: Request) -> Response:
    """Expires the session cookie; an open socket stays open until it closes or its token expires."""
    settings = runtime_of(request).settings
    _refuse_foreign_origin(request, settings)
    response = Response(status_code=204, headers=_NO_STORE)
    response.delete_cookie(
        session_cookie_name(request, settings),
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


def _verify(request: Request, token: str) -> Principal:
    try:
        return runtime_of(request).verifier.verify(token)
    except TokenError as exc:
        if exc.status == 403:
            raise Forbidden(exc.reason) from None
        raise Unauthenticated(exc.reason) from None


def _refuse_foreign_origin(request: Request, settings: Settings) -> None:
    origin = request.headers.get("origin")
    if origin is not None and not origin_allowed(origin, request, settings):
        raise Forbidden("sign-in is accepted from the service's own pages and ALLOWED_ORIGINS only")
