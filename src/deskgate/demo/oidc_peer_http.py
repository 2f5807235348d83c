"""Walk the test OpenID Provider's HTML pages over plain HTTP, so flow tests can sign in without a browser.

The provider's login and logout-confirmation pages are ordinary forms; a small ``HTMLParser`` reads their
action and hidden inputs, and the redirects are followed by hand while they stay on the provider
(``origin``), so the caller gets back the one response that leaves it: normally the redirect to the RP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

__all__ = ["complete_logout_over_http", "login_over_http"]

MAX_HOPS = 20


def login_over_http(
    client: httpx.Client, origin: str, authorize_url: str, login: str, password: str
) -> httpx.Response:
    """Sign in through the provider's HTML login form, as a browser would, and stop when leaving it.

    Returns the redirect that leaves the provider (normally the 303 to the RP's callback, with
    ``code`` or ``error``), or the page where the journey stopped: the login page again with
    "Invalid e-mail address or password." after a wrong password, or an error page. With a live SSO
    session no form is shown and the redirect comes straight back. ``client`` keeps the provider's
    cookies, so a second call with it is a single sign-on.
    """
    response = _follow(client, origin, client.get(authorize_url, follow_redirects=False))
    if response.is_redirect:
        return response
    form = _find_form(response, lambda f: "password" in f.fields)
    if form is None:
        return response
    data = form.fields | {"login": login, "password": password}
    return _follow(client, origin, client.post(form.action, data=data, follow_redirects=False))


def complete_logout_over_http(client: httpx.Client, origin: str, end_session_url: str) -> httpx.Response:
    """Go through RP-initiated logout: open ``end_session_url`` and submit the confirmation form.

    Returns the redirect that leaves the provider (to ``post_logout_redirect_uri``), or its "signed
    out" page when no such URI was given. Back-channel logout requests have been sent when it returns.
    """
    response = _follow(client, origin, client.get(end_session_url, follow_redirects=False))
    form = None if response.is_redirect else _find_form(response, lambda f: f.method == "post")
    if form is None or not _is_on(origin, form.action):
        return response
    return _follow(client, origin, client.post(form.action, data=form.fields, follow_redirects=False))


def _is_on(origin: str, url: str) -> bool:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == origin


def _follow(client: httpx.Client, origin: str, response: httpx.Response) -> httpx.Response:
    """Follow redirects while they stay on the provider; return the first one that leaves it."""
    for _ in range(MAX_HOPS):
        if not response.is_redirect:
            return response
        target = urljoin(str(response.url), response.headers["location"])
        if not _is_on(origin, target):
            return response
        response = client.get(target, follow_redirects=False)
    raise RuntimeError(f"more than {MAX_HOPS} redirects inside the provider")


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    """Collects each form's action, method and named input values (enough for the provider's pages)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.forms: list[_Form] = []
        self._open: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open = _Form(
                action=urljoin(self.base_url, attributes.get("action") or self.base_url),
                method=(attributes.get("method") or "get").lower(),
            )
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attributes.get("name"):
            self._open.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def _find_form(response: httpx.Response, wanted: Callable[[_Form], bool]) -> _Form | None:
    if "html" not in response.headers.get("content-type", ""):
        return None
    parser = _FormParser(str(response.url))
    parser.feed(response.text)
    parser.close()
    return next((form for form in parser.forms if wanted(form)), None)
