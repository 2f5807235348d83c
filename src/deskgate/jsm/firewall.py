"""The last check before a request leaves for JSM: does it fit one of the allowed endpoints, exactly?

`deskgate.jsm.endpoints` makes a wrong path hard to build; this module makes it impossible to send. It
looks at the request as httpx will put it on the wire (after httpx's own URL normalisation, which
collapses `.` and `..` segments) and refuses it unless:

- it goes to the JSM site's own scheme, host and port, below the site's path, without a fragment;
- its path is exactly the one its `Call` was built with (so nothing was normalised away on the way) and
  fits the `Endpoint`'s template: every parameter one segment of a key's or a number's characters;
- that endpoint is in this flavour's closed list, with this method, and every query name is one the
  endpoint takes.

A refusal raises `JsmRefused`; the transport logs it and reports it to its `on_refused` hook (the portal
audits it as a security event). It is never retried and never reaches JSM.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import httpx

from deskgate.jsm.endpoints import Call, Endpoint
from deskgate.jsm.errors import JsmError


class JsmRefused(JsmError):
    """Deskgate itself refused to send a request to JSM: it matches none of the allowed endpoints."""

    status_code = 400
    user_message = "This cannot be done here."


@dataclass(frozen=True, slots=True)
class Refusal:
    method: str
    target: str  # the path and query as they would have been sent, shortened for logs
    reason: str
    operation: str


class Firewall:
    def __init__(self, site_url: str, endpoints: Iterable[Endpoint]) -> None:
        site = httpx.URL(site_url)  # normalised as httpx normalises each request (case, default port)
        self._scheme = site.scheme
        self._netloc = site.netloc.decode("ascii")
        self._base = site.raw_path.decode("ascii").partition("?")[0].rstrip("/")
        self.endpoints = frozenset(endpoints)

    def refusal(self, call: Call, request: httpx.Request) -> Refusal | None:
        """Why `request` (built for `call`) may not be sent, or None when it may."""
        raw = request.url.raw_path.decode("ascii", errors="replace")
        path, _, query = raw.partition("?")

        def refused(reason: str) -> Refusal:
            return Refusal(request.method, raw[:300], reason, call.operation)

        endpoint = call.endpoint
        if endpoint not in self.endpoints:
            return refused("not an allowed endpoint")
        if request.method != endpoint.method:
            return refused(f"method {request.method} is not the endpoint's {endpoint.method}")
        if (request.url.scheme, request.url.netloc.decode("ascii", errors="replace")) != (
            self._scheme,
            self._netloc,
        ):
            return refused("not the JSM site")
        if request.url.fragment:
            return refused("a fragment")
        if not endpoint.pattern.fullmatch(call.path):
            return refused("the path does not fit its template")
        if path != self._base + call.path:
            return refused("the path changed on its way out (dot segments or encoding)")
        names = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
        if not names <= endpoint.query:
            return refused(f"query names not allowed: {sorted(names - endpoint.query)}")
        return None


def refused_error(refusal: Refusal) -> JsmRefused:
    return JsmRefused(
        f"refused {refusal.method} {refusal.target!r}: {refusal.reason}", operation=refusal.operation
    )
