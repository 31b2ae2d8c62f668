"""GET /docs (Swagger UI) and /redoc (ReDoc), served whole by the service, under a Content-Security-Policy.

FastAPI's own pages load Swagger UI, ReDoc and fonts from a CDN: blank without
internet, and a CDN's script running on the origin of the console's session
cookie. Here every file comes from the service: the two bundles from the
`fastapi-offline` distribution (a packaged copy of swagger-ui-dist 5 and
ReDoc 2), the few lines that start Swagger UI from docs_static/, no fonts (the
system's). The pages' policy allows scripts from this origin only (no inline
script, no eval) and connections to it only; styles may be inline, because both
UIs set them from script.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_PATH = "/docs/static"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self' blob:",
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

_SWAGGER = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - Swagger UI</title>
<link rel="icon" href="{static}/favicon.png">
<link rel="stylesheet" href="{static}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/swagger-init.js"></script>
</body>
</html>
"""

_REDOC = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - ReDoc</title>
<link rel="icon" href="{static}/favicon.png">
</head>
<body>
<redoc spec-url="{openapi}"></redoc>
<script src="{static}/redoc.standalone.js"></script>
</body>
</html>
"""


class _DocsFiles(StaticFiles):
    """The bundles (ETag, conditional requests), with the pages' headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


router = APIRouter(tags=["docs"])


def _page(template: str, request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    app = request.app
    html = template.format(
        title=escape(app.title), static=escape(root + STATIC_PATH), openapi=escape(root + (app.openapi_url or ""))
    )
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/docs", include_in_schema=False)
async def swagger_ui(request: Request) -> HTMLResponse:
    return _page(_SWAGGER, request)


@router.get("/redoc", include_in_schema=False)
async def redoc(request: Request) -> HTMLResponse:
    return _page(_REDOC, request)


# Ours first (the start-up script), then the packaged bundles.
router.mount(
    STATIC_PATH, _DocsFiles(packages=[("app.api", "docs_static"), ("fastapi_offline", "static")]), name="docs-static"
)
