"""Static files under fingerprinted URLs, cached for a year, and the favicon.

Each file's URL carries a hash of its bytes, computed once at start (``/static/deskgate.<hash>.css``):
templates write ``static_url('deskgate.css')``, so a changed file gets a new URL and browsers and proxies
may keep every URL forever (``Cache-Control: immutable``). A plain ``/static/<name>`` (an admin's local
logo) is answered too, revalidated on each use; so is a fingerprint that is no longer current (a page
from before an upgrade), with the current bytes, not kept.

The design tokens (``static/vendor/``) are generated from the npm lock by ``./dev/setup``, not committed:
without them every page would be unstyled, so the app refuses to start and says how to build them.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from deskgate.web.security import IMMUTABLE, REVALIDATE

STATIC = Path(__file__).with_name("static")
TOKENS = "vendor/atlassian-tokens.css"  # written by assets/build.mjs
FAVICON = "favicon.svg"
FAVICON_CACHE = "public, max-age=86400"  # /favicon.ico cannot carry a fingerprint
_FINGERPRINT = re.compile(r"(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)?")


class MissingAssets(RuntimeError):
    """A generated static file is not there (the npm step of ./dev/setup has not run)."""


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


@dataclass(frozen=True)
class StaticAssets:
    """The static files and their fingerprints, read once."""

    directory: Path
    hashes: dict[str, str]  # "vendor/atlassian-tokens.css" -> "3f2a9c1b0d4e"

    @classmethod
    def load(cls, directory: Path | None = None, required: tuple[str, ...] = (TOKENS,)) -> StaticAssets:
        directory = directory or STATIC
        for name in required:
            if not (directory / name).is_file():
                raise MissingAssets(
                    f"The design system's stylesheet {directory / name} is missing: run ./dev/setup,"
                    " which builds it from the npm lock (assets/)."
                )
        hashes = {
            path.relative_to(directory).as_posix(): fingerprint(path.read_bytes())
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        }
        return cls(directory, hashes)

    def url(self, name: str) -> str:
        """The URL of static file `name` with its fingerprint (a template's ``static_url``)."""
        if name not in self.hashes:
            raise ValueError(f"no static file {name!r} in {self.directory}")
        path = PurePosixPath(name)
        return f"/static/{path.with_name(f'{path.stem}.{self.hashes[name]}{path.suffix}')}"

    def resolve(self, name: str) -> tuple[str, bool] | None:
        """The file a fingerprinted `name` means, and whether its fingerprint is the current one."""
        path = PurePosixPath(name)
        found = _FINGERPRINT.fullmatch(path.name)
        if found is None:
            return None
        real = str(path.with_name(found["stem"] + (found["suffix"] or "")))
        current = self.hashes.get(real)
        return None if current is None else (real, current == found["hash"])


class FingerprintedFiles:
    """ASGI app under ``/static``: Starlette's StaticFiles (safe paths, ETag, HEAD) plus the cache rules."""

    def __init__(self, assets: StaticAssets) -> None:
        self.assets = assets
        self.files = StaticFiles(directory=assets.directory)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = get_route_path(scope).lstrip("/")
        resolved = self.assets.resolve(name)
        real, current = resolved if resolved else (name, False)
        # Normalised as StaticFiles does ('..' and '.' gone); its lookup refuses what leaves the directory.
        path = posixpath.normpath(real)
        response = await self.files.get_response(path, scope)
        response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
        await response(scope, receive, send)


def install(env_globals: dict[str, object], assets: StaticAssets) -> None:
    """Templates write ``static_url('deskgate.css')``."""
    env_globals["static_url"] = assets.url


def routes(assets: StaticAssets) -> list[BaseRoute]:
    favicon = (assets.directory / FAVICON).read_bytes()

    async def favicon_ico(request: Request) -> Response:
        # Pages link the SVG; this answers the browsers and tools that ask for /favicon.ico anyway.
        return Response(favicon, media_type="image/svg+xml", headers={"Cache-Control": FAVICON_CACHE})

    return [
        Route("/favicon.ico", favicon_ico, methods=["GET"]),
        Mount("/static", app=FingerprintedFiles(assets), name="static"),
    ]
