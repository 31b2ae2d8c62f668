"""GET /client/ops-bridge.js and /client/ops-bridge.d.ts: the frontend client, from the service itself.

A frontend can `import { OpsBridgeClient } from "https://<service>/client/ops-bridge.js"` without
installing anything, and get the client that matches the protocol this service speaks. The files
are the package's own (clients/js/): app/client/static/ holds them so that an installed service
(a wheel, the container image) has them; tests/client/test_routes.py fails when the two differ.

The files are public code with nothing secret in them, so any origin may load them: module
scripts are fetched with CORS, and a frontend usually lives on another origin than this service.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

STATIC = Path(__file__).parent / "static"
MODULE = "ops-bridge.js"
DECLARATIONS = "ops-bridge.d.ts"

_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
    # Revalidated (ETag, 304) on every load, so a new release's client is picked up at once.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class _File:
    body: bytes
    etag: str
    headers: dict[str, str]

    @classmethod
    def read(cls, name: str, content_type: str, **extra: str) -> _File:
        body = (STATIC / name).read_bytes()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        return cls(body, etag, {**_HEADERS, "Content-Type": content_type, "ETag": etag, **extra})

    def response(self, request: Request) -> Response:
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers={k: v for k, v in self.headers.items() if k != "Content-Type"})
        return Response(self.body, headers=self.headers)


# Two small files, read once: nothing else under /client is served.
_MODULE = _File.read(
    MODULE,
    "text/javascript; charset=utf-8",
    # Deno and esm.sh's convention: where the module's types are.
    **{"X-TypeScript-Types": f"/client/{DECLARATIONS}"},
)
# By extension `.ts` would guess to MPEG transport stream; Deno and editors expect this.
_DECLARATIONS = _File.read(DECLARATIONS, "application/typescript; charset=utf-8")

router = APIRouter(tags=["client"])


@router.get(f"/client/{MODULE}", include_in_schema=False)
async def client_module(request: Request) -> Response:
    return _MODULE.response(request)


@router.get(f"/client/{DECLARATIONS}", include_in_schema=False)
async def client_declarations(request: Request) -> Response:
    return _DECLARATIONS.response(request)
