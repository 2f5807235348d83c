"""The HTTP client Deskgate calls JSM and the identity providers with: httpx's, keeping no cookies.

`httpx.AsyncClient` keeps every cookie an answer sets and sends it with every later request to that
site. One client serves every customer, so a cookie JSM or an IdP set in answer to one customer's call
would go along with the next customer's: session state nobody asked for, shared between customers, on a
service account that can see everything. Nothing Deskgate calls needs a cookie (each call carries its own
credentials), so this client keeps none. It also skips urllib's cookie parsing, which ran for every answer.
"""

from __future__ import annotations

import httpx


class _NoCookies(httpx.Cookies):
    """An empty jar that keeps nothing an answer sets."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class BackChannelClient(httpx.AsyncClient):
    """`httpx.AsyncClient` whose cookie jar is always empty: each request carries only its own headers."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()  # a new one each time: even a caller's `.set()` on it reaches no request

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("the back-channel client keeps no cookies")
