"""GET /client/ops-bridge.js and /client/ops-bridge.d.ts: the frontend client, from the service itself.

A frontend can `import { OpsBridgeClient } from "https://<service>/client/ops-bridge.js"` without
installing anything, and get the client that matches the protocol this service speaks. The files
are the package's own (clients/js/): app/client/static/ holds them so that an installed service
(a wheel, the container image) has them; tests/client/test_routes.py fails when the two differ.

The files are public code with nothing secret in them, so any origin may load them: module
scripts are fetched with CORS, and a frontend usually lives on another origin than this service.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

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
# By extension `.ts` guesses to MPEG transport stream; Deno and editors expect this.
_DECLARATIONS_TYPE = "application/typescript; charset=utf-8"


class _ClientFiles(StaticFiles):
    """StaticFiles (ETag, conditional requests) with the client's headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(_HEADERS)
        if path == DECLARATIONS:
            response.headers["Content-Type"] = _DECLARATIONS_TYPE
        elif path == MODULE:
            # Deno and esm.sh's convention: where the module's types are.
            response.headers["X-TypeScript-Types"] = f"/client/{DECLARATIONS}"
        return response


router = APIRouter(tags=["client"])
router.mount("/client", _ClientFiles(directory=STATIC), name="client")
