"""Cross-cutting web security: headers, cookies and the client address behind proxies (CSRF tokens are
`web.csrf`'s)."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deskgate.login.page import LOGO_HOST
from deskgate.settings import Settings
from deskgate.web.form_targets import FormTargets

if TYPE_CHECKING:
    from deskgate.services import Services

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
EncodedHeaders = tuple[tuple[bytes, bytes], ...]

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# {images}: the branding logo's origin when it is on another host (`image_origin`), else nothing;
# {forms}: the enabled IdPs' origins, where sign-in and sign-out forms lead (`web.form_targets`).
CSP = "default-src 'self'; img-src 'self' data:{images}; style-src 'self'; script-src 'self'; form-action 'self'{forms}; base-uri 'none'"
# Pages an IdP must be able to frame (front-channel logout) opt out of the frame ban themselves.
FRAMEABLE_PATHS = frozenset({"/plugins/servlet/oauth/logout"})
NO_STORE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}
_NO_STORE_ENCODED = tuple(
    (name.lower().encode("latin-1"), value.encode()) for name, value in NO_STORE.items()
)
# The only answers that show nothing personal and may be kept by a browser or a proxy; every other answer
# is no-store unless its route says otherwise (a signed-in page, JSON about the user, a console page...).
CACHEABLE_PREFIX = "/static/"
CACHEABLE_PATHS = frozenset({"/healthz", "/readyz", "/favicon.ico"})
# A URL whose content never changes (it carries a hash of it): static files, the branding's stylesheet.
IMMUTABLE = "public, max-age=31536000, immutable"
# A URL whose content may change (a plain /static/ path, a stale fingerprint): kept, but asked again each use.
REVALIDATE = "no-cache"


def image_origin(logo_url: str | None) -> str | None:
    """The origin (https://host[:port]) of a logo on another host, as the CSP's img-src names it.

    None for no logo or one under /static/ ('self' covers it), and for one whose host or port a CSP
    source cannot express: that logo does not show, rather than the policy taking in whatever its URL
    carries (a ';' there would start another directive)."""
    if not logo_url or logo_url.startswith("/"):
        return None
    parts = urlsplit(logo_url)
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        return None
    host = parts.hostname or ""
    if parts.scheme != "https" or not LOGO_HOST.fullmatch(host):
        return None
    return f"https://{host}" if port is None else f"https://{host}:{port}"


def _services(scope: Scope) -> Services | None:
    state = getattr(scope.get("app"), "state", None)
    services: Services | None = getattr(state, "services", None)  # None until the lifespan built them
    return services


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task overhead) adding the security headers to every answer,
    and ``Cache-Control: no-store`` to every answer but static files and health probes.

    A header the route set itself is left alone. The headers are encoded here, not per request: again
    only when the branding logo or the enabled IdPs change, since the CSP names their origins and no
    others (img-src the logo's; form-action the IdPs', see `web.form_targets`).
    """

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https
        self._names = frozenset(
            name for name, _ in self._encoded(False, None, ()) + self._encoded(True, None, ())
        )
        self._forms = FormTargets()
        self._key: tuple[str | None, tuple[str, ...]] = (None, ())
        self._headers = self._build(None, ())

    def _build(self, logo_url: str | None, forms: tuple[str, ...]) -> dict[bool, EncodedHeaders]:
        origin = image_origin(logo_url)
        return {frameable: self._encoded(frameable, origin, forms) for frameable in (False, True)}

    async def _current(self, scope: Scope) -> dict[bool, EncodedHeaders]:
        """The logo from the login page settings this process caches (no database round trip; a stale
        cache is refreshed in the background, as for the templates) and the IdPs' form targets."""
        services = _services(scope)
        if services is None:
            return self._headers
        key = (services.login_page.current().branding.logo_url, await self._forms.origins(services))
        if key != self._key:  # the same pair for every request until the admin changes something
            self._headers, self._key = self._build(*key), key
        return self._headers

    def _encoded(self, frameable: bool, origin: str | None, forms: tuple[str, ...]) -> EncodedHeaders:
        ancestors = "*" if frameable else "'none'"
        csp = CSP.format(images=f" {origin}" if origin else "", forms="".join(f" {o}" for o in forms))
        headers = {**BASE_HEADERS, "Content-Security-Policy": f"{csp}; frame-ancestors {ancestors}"}
        if not frameable:
            headers["X-Frame-Options"] = "DENY"
        if self.https:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        frameable = path in FRAMEABLE_PATHS
        personal = not (path.startswith(CACHEABLE_PREFIX) or path in CACHEABLE_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Read when the answer starts, after the route: a page that loaded the settings to
                # render its logo gets the policy that lets that very logo in.
                extra = (await self._current(scope))[frameable]
                headers = list(message.get("headers", ()))
                present = {name for name, _ in headers}  # ASGI header names are lowercase
                if present.isdisjoint(self._names):  # the usual case: the route set none of them
                    headers += extra
                else:
                    headers += [header for header in extra if header[0] not in present]
                if personal and b"cache-control" not in present:
                    headers += [header for header in _NO_STORE_ENCODED if header[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HideQueryStrings(logging.Filter):
    """Access-log lines without query strings: callbacks carry authorization codes, logout URLs tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: (client address, method, path with query, HTTP version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?…", *args[3:])
        return True


class QuietProbes(logging.Filter):
    """No access-log line for a passing health probe (a load balancer asks every few seconds); a failing
    one (503 from /readyz) is kept."""

    PATHS = frozenset({"/healthz", "/readyz"})

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 5 and args[2] in self.PATHS:
            return args[4] != 200
        return True


def filter_access_logs() -> None:
    """Query strings hidden and passing probes left out of the ASGI server's access log."""
    logger = logging.getLogger("uvicorn.access")
    for kind in (HideQueryStrings, QuietProbes):
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())


class CookieNames:
    """`__Host-` names under https (no Domain, Path=/, Secure: a sibling subdomain cannot plant them)."""

    def __init__(self, https: bool) -> None:
        prefix = "__Host-" if https else ""
        self.session = f"{prefix}deskgate_session"
        self.login = f"{prefix}deskgate_login"
        self.csrf = f"{prefix}deskgate_csrf"
        self.admin = f"{prefix}deskgate_admin"


def set_cookie(
    response: Response,
    name: str,
    value: str,
    *,
    https: bool,
    max_age: int | None = None,
    samesite: str = "lax",
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=https, httponly=True,
        samesite=samesite,  # type: ignore[arg-type]
    )  # fmt: skip


def delete_cookie(response: Response, name: str, *, https: bool) -> None:
    response.delete_cookie(name, path="/", secure=https, httponly=True, samesite="lax")


def trusted_networks(settings: Settings) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies)


def client_ip(request: Request, trusted: Sequence[IpNetwork]) -> str | None:
    """The peer address, or — only when the peer is a trusted proxy — the nearest untrusted X-Forwarded-For hop."""
    peer = request.client.host if request.client else None
    if not peer or not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop if _is_ip(hop) else peer
    return hops[0] if hops and _is_ip(hops[0]) else peer


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _in(address: str, networks: Sequence[IpNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
