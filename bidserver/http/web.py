"""The browser console: ``GET /`` is ``web/index.html``, ``GET /static/{path}`` the files under
``web/static``, with the headers a page needs and the API does not.

- Files only: StaticFiles resolves a path inside ``static/`` or not at all (``..``, encoded or
  not, and symlinks out of it are refused), lists no directory, and its 404 and 405 are the
  app's problem+json answers (``routes.EXCEPTION_HANDLERS``).
- Compressed: gzip for a client that accepts it, on these routes only. The API's answers are
  small, and a live room's fan-out encodes once for hundreds of sockets: neither pays for it.
- Revalidated: ``Cache-Control: no-cache`` with an ETag and Last-Modified, so a browser asks on
  every load (a 304 when nothing changed) and a new release is picked up at once. No file is
  cached for longer, the vendored libraries included: their names carry no version, so a long
  lifetime would keep an upgraded library's old copy. ETags are weak: the same file goes out
  gzipped or not, and a strong ETag promises the same bytes (RFC 9110, section 8.8.1).
- Locked down: ``CONTENT_SECURITY_POLICY`` (below) and ``SECURITY_HEADERS`` on every page and
  file.

Where the files are (``find_web_dir``): ``BIDSERVER_WEB_DIR`` when set; else ``bidserver/web``
inside the installed package (``pip install .`` puts ``web/index.html`` and ``web/static`` there,
see pyproject.toml); else the source checkout's ``web/`` beside ``pyproject.toml`` (an editable
install, ``./scripts/serve``). None of them: the server serves the API alone (``serve`` says so
in one line).
"""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings

# The pages' Content-Security-Policy: only this server's own scripts, styles and connections.
# - No 'unsafe-inline' anywhere: index.html has no inline script or style (a style set from
#   script through the CSSOM, element.style, is allowed; a style="" attribute in markup is not).
# - connect-src 'self' covers the live room's ws:// or wss:// to the same host and port (CSP
#   Level 3's 'self' matches ws and wss; in Chromium 156 a page of this server opened its live
#   room and was refused a ws:// to another host): no other host may be reached.
# - img-src adds data: for images the libraries inline; object-src, base-uri and frame-ancestors
#   'none' rule out plugins, a <base> that redirects relative URLs, and framing (clickjacking);
#   form-action 'self' keeps a form from posting elsewhere.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",  # a script or style is run only with its own type
    "referrer-policy": "no-referrer",  # a console URL (an auction id) is not sent elsewhere
}
CACHE_CONTROL = "no-cache"
GZIP_MIN_BYTES = 500  # below this, the gzip header and trailer outweigh what is saved
GZIP_LEVEL = 6  # within 0.1% of level 9's size on the vendored libraries, in less time
WEB_DIR_ENV = "BIDSERVER_WEB_DIR"

_PACKAGE = Path(__file__).resolve().parent.parent  # bidserver/


class WebDirMissing(ValueError):
    """``BIDSERVER_WEB_DIR`` names a directory without ``index.html``."""


def find_web_dir(settings: Settings) -> Path | None:
    """The directory holding ``index.html`` and ``static/`` (see the module's docstring), or None
    when there is none; ``WebDirMissing`` when the configured one is not such a directory."""
    if settings.web_dir is not None:
        if not (settings.web_dir / "index.html").is_file():
            raise WebDirMissing(
                f"{WEB_DIR_ENV}={settings.web_dir} has no index.html: give the directory that "
                "holds the console's index.html and static/"
            )
        return settings.web_dir
    installed, checkout = _PACKAGE / "web", _PACKAGE.parent / "web"
    if (installed / "index.html").is_file():
        return installed
    # Only in a source checkout: beside an installed package, a web/ is someone else's.
    if (_PACKAGE.parent / "pyproject.toml").is_file() and (checkout / "index.html").is_file():
        return checkout
    return None


def web_routes(web_dir: Path) -> list[BaseRoute]:
    """``/`` and ``/static``, each behind gzip and the pages' headers."""
    routes: list[BaseRoute] = [Route("/", _web(_Index(_Files(directory=web_dir))), methods=["GET"])]
    if (web_dir / "static").is_dir():
        routes.append(Mount("/static", app=_web(_Files(directory=web_dir / "static"))))
    return routes


class _Files(StaticFiles):
    """StaticFiles where a path with a NUL byte is no file (404): Starlette before 0.47 raised
    ``ValueError`` from ``os.stat`` on it, a 500 on the lowest release we allow."""

    def lookup_path(self, path: str):  # noqa: ANN201 - StaticFiles' own signature
        if "\x00" in path:
            return "", None
        return super().lookup_path(path)


def _web(app: ASGIApp) -> ASGIApp:
    return _PageHeaders(GZipMiddleware(app, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL))


class _Index:
    """``index.html`` alone from the web directory (its other files are not served), with the
    same validation and 304s as the static files."""

    def __init__(self, files: StaticFiles) -> None:
        self.files = files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.files.get_response("index.html", scope)
        await response(scope, receive, send)


class _PageHeaders:
    """Adds ``SECURITY_HEADERS`` and ``Cache-Control``, and makes the ETag weak (see the
    module's docstring), on every response of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                headers.setdefault("cache-control", CACHE_CONTROL)
                etag = headers.get("etag")
                if etag is not None and not etag.startswith("W/"):
                    headers["etag"] = "W/" + etag
            await send(message)

        await self.app(scope, receive, send_with_headers)
