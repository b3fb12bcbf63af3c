"""Serves the pages in `static/`: HTML routes for people, and the static files they load.

Pages are plain files (ES modules, CSS, vendored hls.js); user text is inserted by the scripts as
text, never as HTML. Every HTML page sets the viewer cookie on first visit. A static file that is
not there (or a path that leaves `static/`) is a JSON 404 like every other error (aiohttp's own
static route answers an empty one).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from accounts import Auth
from kernel.security import content_security_policy

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# route -> file under static/
PAGES = {
    "/": "index.html",
    "/watch/{id}": "index.html",
    "/halls": "halls.html",
    "/halls/{id}": "halls.html",
    "/host": "host.html",
    "/produce": "produce.html",
    "/produce/report/{id}": "report.html",
    "/caption": "caption.html",
    "/setup": "setup.html",
}


def setup_pages(app: web.Application, auth: Auth, embed_origins: tuple[str, ...] = ()) -> None:
    def page(filename: str) -> Handler:
        path = STATIC_DIR / filename
        exists = path.is_file()  # checked once, at startup, not on the event loop per request

        async def handler(request: web.Request) -> web.StreamResponse:
            if not exists:
                raise web.HTTPNotFound()
            response = web.FileResponse(path, headers={"Cache-Control": "no-cache"})
            auth.ensure_viewer_cookie(request, response)
            return response

        return handler

    for route, filename in PAGES.items():
        app.router.add_get(route, page(filename))
    embed = page("embed.html")
    embed_policy = content_security_policy(embed_origins)

    async def embed_page(request: web.Request) -> web.StreamResponse:
        """The player for an iframe: framed only by the configured origins."""
        response = await embed(request)
        response.headers["Content-Security-Policy"] = embed_policy
        return response

    app.router.add_get("/embed/{id}", embed_page)
    if STATIC_DIR.is_dir():
        app.router.add_get("/static/{path:.+}", static_file)


def _static_path(name: str) -> Path | None:
    """The regular file under static/ that `name` names (symlinks out of it not followed)."""
    try:
        if Path(name).is_absolute():
            return None
        path = (STATIC_DIR / name).resolve()
        path.relative_to(STATIC_DIR)
        return path if path.is_file() else None
    except (ValueError, OSError, RuntimeError):  # outside static/, a NUL byte, a symlink loop
        return None


async def static_file(request: web.Request) -> web.StreamResponse:
    path = await asyncio.to_thread(_static_path, request.match_info["path"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path)
