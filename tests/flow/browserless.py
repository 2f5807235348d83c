"""Driving Deskgate and an OP over plain HTTP, as a browser would (cookies per origin, manual redirects)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from deskgate.demo.oidc_peer import OidcPeer


def login(
    client: httpx.Client, peer: OidcPeer, deskgate_url: str, path: str, user: str, password: str
) -> httpx.Response:
    """Open `path` signed out, sign in at the peer, and return Deskgate's answer to the callback."""
    response = client.get(deskgate_url + path)
    hops = 0
    while response.is_redirect and urlsplit(response.headers["location"]).netloc in (
        "",
        urlsplit(deskgate_url).netloc,
    ):
        response = client.get(urljoin(str(response.url), response.headers["location"]))
        hops += 1
        assert hops < 10
    assert response.is_redirect, response.text[:500]
    authorize_url = response.headers["location"]
    assert authorize_url.startswith(peer.origin), authorize_url
    back = peer.login_over_http(client, authorize_url, user, password)
    assert back.is_redirect and back.headers["location"].startswith(deskgate_url), back.text[:300]
    return client.get(back.headers["location"])


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((named.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in named:
            self.forms[-1][1][named["name"]] = named.get("value", "")


def forms(html: str) -> list[tuple[str, dict[str, str]]]:
    """(action, fields) of every form on a page."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms
