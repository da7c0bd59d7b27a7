"""``GET /`` (and ``HEAD /``): the exploration page, static HTML/JS/CSS shipped in the package."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Everything the page needs comes from this origin; nothing inline, no third-party hosts.
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
def index() -> FileResponse:
    """The page; ``HEAD /`` answers too, for uptime checks that probe with it."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=_HEADERS)
