"""GET /console: the live console page and its files, under a strict Content-Security-Policy.

The page is plain HTML, CSS and ES modules (app/console/static/), nothing to
build. Its policy allows only its own scripts and styles (no inline script, no
eval) and connections to its own origin, so markup that slipped into an event
could not run, and a token it was given could not leave for another host.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _ConsoleFiles(StaticFiles):
    """StaticFiles (ETag, conditional requests) with the console's headers on every file."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        # Revalidated (cheaply: ETag, 304) on every load, so a new release's
        # page never runs an old module.
        response.headers["Cache-Control"] = "no-cache"
        return response


router = APIRouter(tags=["console"])


@router.get("/console", include_in_schema=False)
async def console_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


router.mount("/console/static", _ConsoleFiles(directory=STATIC), name="console-static")
