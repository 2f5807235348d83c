"""Where Deskgate's own forms may lead: the origins the CSP's ``form-action`` names besides ``'self'``.

Three forms end at an IdP: the chooser's email box (GET /login, answered with a redirect to the IdP's
authorization endpoint), sign-out (POST /logout, answered with a redirect to its end_session_endpoint) and
the console's "Sign in with <IdP>". Chromium applies form-action to the redirects that follow a
submission, so those endpoints' origins must be listed, and only those of the enabled IdPs: a policy
naming every http(s) origin lets a form injected into a page send its fields (a CSRF token, a typed
address) anywhere.

A SAML IdP's are its SingleSignOnService and SingleLogoutService locations. An OIDC IdP's endpoints are in
its configuration, or in its discovery document. Reading that costs a request
to the IdP, which no answer may wait for, so the document is taken only as the relying party has cached
it (it fetches it at the first sign-in), and the issuer's origin stands in before that: nearly every IdP
serves its endpoints there. The set is worked out again at most once per `REFRESH_SECONDS`, so an IdP
turned on or off, or a document fetched, shows in the header within that time plus the registry's cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from deskgate.login.page import LOGO_HOST

if TYPE_CHECKING:
    from deskgate.services import Services

log = logging.getLogger("deskgate.web")

REFRESH_SECONDS = 1.0
DEFAULT_PORTS = {"http": 80, "https": 443}


def form_origin(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, as a CSP source names it; None for anything a source
    cannot express safely (a ';' or ',' in the host would start another directive or source)."""
    if not url:
        return None
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        return None
    host = parts.hostname or ""
    if parts.scheme not in DEFAULT_PORTS or not LOGO_HOST.fullmatch(host):
        return None
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


class FormTargets:
    """The origins of the enabled IdPs' issuer, authorization and end-session endpoints (SAML: SSO and SLO
    locations), kept per process."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._origins: tuple[str, ...] = ()
        self._checked_at: float | None = None
        self._failing = False

    async def origins(self, services: Services) -> tuple[str, ...]:
        """The current set, sorted; worked out again when `REFRESH_SECONDS` have passed."""
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < REFRESH_SECONDS:
            return self._origins
        self._checked_at = now
        try:
            self._origins = await self._work_out(services)
        except Exception:  # the database away: the last set stands, and the answer still goes out
            if not self._failing:
                log.warning("could not list the IdPs for the CSP's form-action; keeping the last list")
            self._failing = True
        else:
            self._failing = False
        return self._origins

    @staticmethod
    async def _work_out(services: Services) -> tuple[str, ...]:
        found: set[str] = set()
        for config in await services.providers.enabled():
            urls = [config.issuer, config.authorization_endpoint, config.end_session_endpoint]
            if config.protocol == "oidc" and config.discovery:
                party = await services.relying_party(config.name)  # no I/O: built from the configuration
                metadata = party.keys.cached_metadata()
                if metadata is not None:
                    urls += [metadata.authorization_endpoint, metadata.end_session_endpoint]
            if config.saml is not None:  # SAML: the SSO and single logout locations
                urls += [config.saml.sso_url, config.saml.slo_url]
            found.update(origin for url in urls if (origin := form_origin(url)) is not None)
        return tuple(sorted(found))
