"""CSRF tokens that hold for one realm, one session and one browser.

    token = HMAC(key, realm ‖ SHA-256(the realm's session cookie) ‖ the CSRF cookie)

- The CSRF cookie is a random double-submit value every visitor gets, signed in or not. It is all that
  binds the forms shown before any session (admin sign-in, first-admin setup, a signed-out sign-out page)
  to the browser they were shown in.
- The session's hash binds a signed-in visitor's forms to that very session. The cookie alone would not:
  it outlives sign-out and sign-in in a shared browser, and an attacker can plant his own in a victim's
  browser (a sibling subdomain can, and plain http has no `__Host-` prefix to stop it) together with a
  token minted for it. With the session in the HMAC, a token minted in customer A's browser fails with
  customer B's session; and since every sign-in rotates the session id, a token minted before sign-in
  fails after it (the pages re-render with new ones).
- The realm keeps customer and admin forms apart: each realm reads its own session cookie, and a token of
  one realm is refused by the other's forms whatever the cookies hold.

Only the hash (the session store's own key for the session) enters the HMAC, and only the HMAC reaches
the page: nothing in a form tells the session id.
"""

from __future__ import annotations

import hmac
import secrets
from enum import StrEnum
from hashlib import sha256

from starlette.requests import Request
from starlette.responses import Response

from deskgate.crypto import digest
from deskgate.web.security import set_cookie


class Realm(StrEnum):
    """Whose forms a token is for; a token of one realm is refused by the other's forms."""

    CUSTOMER = "customer"
    ADMIN = "admin"


class Csrf:
    """The tokens of one realm: `token` for a page's forms, `attach` to set the cookie it may need, `valid`
    for a submitted form."""

    def __init__(self, key: str, *, realm: Realm, session_cookie: str, cookie_name: str, https: bool) -> None:
        self._key = sha256(b"deskgate/csrf/v2" + key.encode()).digest()
        self.realm = realm
        self.session_cookie = session_cookie
        self.cookie_name = cookie_name
        self._https = https

    def _token_for(self, request: Request, cookie_value: str) -> str:
        session = request.cookies.get(self.session_cookie)
        # No session is "-", never a hash; the parts cannot run into each other: the realm and the hash
        # are fixed words and hex, and the cookie value comes last.
        bound = f"{self.realm}\0{digest(session) if session else '-'}\0{cookie_value}"
        return hmac.new(self._key, bound.encode(), sha256).hexdigest()

    def token(self, request: Request) -> tuple[str, str | None]:
        """(token for the form, new cookie value to set or None when the browser already has one)."""
        current = request.cookies.get(self.cookie_name)
        if current and 20 <= len(current) <= 128:
            return self._token_for(request, current), None
        fresh = secrets.token_urlsafe(32)
        return self._token_for(request, fresh), fresh

    def attach(self, response: Response, new_cookie: str | None) -> None:
        if new_cookie:
            set_cookie(response, self.cookie_name, new_cookie, https=self._https, samesite="strict")

    def valid(self, request: Request, submitted: object) -> bool:
        """Whether `submitted` was minted for this realm, this browser's CSRF cookie and the session the
        request carries now."""
        cookie = request.cookies.get(self.cookie_name)
        if not cookie or not isinstance(submitted, str):
            return False
        # As bytes: compare_digest refuses a str with non-ASCII characters (a forged token may have them).
        expected = self._token_for(request, cookie).encode()
        return hmac.compare_digest(expected, submitted.encode("utf-8", "surrogatepass"))
