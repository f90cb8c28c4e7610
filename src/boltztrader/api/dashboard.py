"""The dashboard: one page at ``/`` and its static files (``/static/<name>``), from ``api/static``.

No build step and nothing from the internet: plain HTML, JavaScript modules and CSS shipped as
package data. The page signs in with an API token and uses only the public API; it gets no
privilege of its own. Every answer carries a strict Content-Security-Policy: scripts and styles
only from this origin, no inline code, so text from the API can never run as script even if the
page's own escaping were to slip.
"""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from boltztrader.errors import NotFound

router = APIRouter(tags=["dashboard"])

STATIC_DIR = FilePath(__file__).parent / "static"
# Flat names only: no separators, so no request can leave the directory.
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\.(?:js|css|svg|html)")
_MEDIA_TYPES = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "html": "text/html; charset=utf-8",
}
# 'self' also admits ws:/wss: to this host (CSP Level 3), which the live feed needs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Small files that change with each release: always revalidate (ETag), never serve stale.
    "Cache-Control": "no-cache",
}


def _file(name: str) -> FileResponse:
    path = STATIC_DIR / name
    if not _NAME.fullmatch(name) or not path.is_file():
        raise NotFound(f"no file {name}")
    media_type = _MEDIA_TYPES[name.rsplit(".", 1)[1]]
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)


@router.get("/", include_in_schema=False, summary="The dashboard")
async def index() -> FileResponse:
    """The dashboard page (sign in with an API token)."""
    return _file("index.html")


@router.get("/static/{name}", include_in_schema=False, summary="A file of the dashboard")
async def static_file(name: Annotated[str, Path(max_length=80)]) -> FileResponse:
    """One of the dashboard's scripts, styles or images."""
    return _file(name)
