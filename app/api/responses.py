"""What every REST endpoint may answer besides success, as OpenAPI documents it.

The bodies are those `app/api/error_responses.py` sends: `{"error": {"code", "message", "details"?}}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    field: str = Field(description="Where: `body.assets.3.hostname`, `query.cursor`, ...")
    problem: str


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable: clients branch on it.", examples=["INVALID_PAYLOAD"])
    message: str
    details: list[ErrorDetail] | None = None


class ErrorBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "INVALID_PAYLOAD",
                        "message": "the request does not have the expected shape",
                        "details": [{"field": "body.hostname", "problem": "String should match pattern ..."}],
                    }
                }
            ]
        }
    )

    error: ErrorInfo


_WHEN = {
    400: "INVALID_JSON: the body is not JSON",
    401: "UNAUTHENTICATED: no token, or one that is malformed, expired or wrongly signed",
    403: "FORBIDDEN: the token's roles or grants do not allow this (or a cookie from an origin not allowed)",
    404: "NOT_FOUND: no such row, or one your token does not let you see (the two are not told apart)",
    409: "CONFLICT: the request collides with what is stored",
    413: "PAYLOAD_TOO_LARGE: the body is larger than MAX_API_BODY_BYTES",
    415: "UNSUPPORTED_MEDIA_TYPE: a body without `Content-Type: application/json`",
    422: "INVALID_PAYLOAD: a parameter or the body does not have the expected shape; `details` names each problem",
    503: "DATABASE_UNAVAILABLE: retry later (`Retry-After`)",
}

READ = (401, 403, 422, 503)
WRITE = (400, 401, 403, 413, 415, 422, 503)


def errors(*statuses: int, **overrides: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses; `overrides` (`e409="..."`) reword one."""
    return {
        status: {"model": ErrorBody, "description": overrides.get(f"e{status}", _WHEN[status])}
        for status in sorted(set(statuses))
    }
