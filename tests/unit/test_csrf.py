"""`web.csrf.Csrf` alone: what a token is bound to (realm, session, browser cookie), on bare requests.

The forms themselves are tested in tests/admin/test_csrf_binding.py and tests/portal_web/test_csrf_binding.py.
"""

from __future__ import annotations

from starlette.requests import Request

from deskgate.web.csrf import Csrf, Realm
from deskgate.web.security import CookieNames

COOKIES = CookieNames(https=False)
KEY = "unit-test-secret-key-0123456789-abcdefgh"
BROWSER = "browser-cookie-0123456789abcdef"
CUSTOMER = Csrf(
    KEY, realm=Realm.CUSTOMER, session_cookie=COOKIES.session, cookie_name=COOKIES.csrf, https=False
)
ADMIN = Csrf(KEY, realm=Realm.ADMIN, session_cookie=COOKIES.admin, cookie_name=COOKIES.csrf, https=False)


def request(**cookies: str) -> Request:
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return Request({"type": "http", "method": "POST", "path": "/", "headers": [(b"cookie", header.encode())]})


def browser(session: str | None = None, admin: str | None = None) -> Request:
    cookies = {COOKIES.csrf: BROWSER}
    if session:
        cookies[COOKIES.session] = session
    if admin:
        cookies[COOKIES.admin] = admin
    return request(**cookies)


def test_a_token_holds_with_the_cookies_it_was_minted_for() -> None:
    for csrf in (CUSTOMER, ADMIN):
        for here in (browser(), browser(session="customer-session-1", admin="admin-session-1")):
            token, new_cookie = csrf.token(here)
            assert new_cookie is None  # the browser has one already
            assert csrf.valid(here, token)


def test_a_new_browser_gets_a_cookie_that_its_token_holds_with() -> None:
    token, new_cookie = CUSTOMER.token(request())
    assert new_cookie is not None and len(new_cookie) >= 20
    assert CUSTOMER.valid(request(**{COOKIES.csrf: new_cookie}), token)
    assert not CUSTOMER.valid(request(), token)


def test_the_realms_keep_customer_and_admin_tokens_apart() -> None:
    # Neither has a session: the realm alone tells the signed-out pages' tokens apart.
    customer, _ = CUSTOMER.token(browser())
    admin, _ = ADMIN.token(browser())
    assert not ADMIN.valid(browser(), customer)
    assert not CUSTOMER.valid(browser(), admin)
    both = browser(session="customer-session-1", admin="admin-session-1")
    assert not ADMIN.valid(both, CUSTOMER.token(both)[0])
    assert not CUSTOMER.valid(both, ADMIN.token(both)[0])


def test_a_token_holds_only_with_its_own_session() -> None:
    mine, _ = CUSTOMER.token(browser(session="customer-session-a"))
    assert not CUSTOMER.valid(browser(session="customer-session-b"), mine)
    assert not CUSTOMER.valid(browser(), mine)  # signed out since
    before, _ = CUSTOMER.token(browser())
    assert not CUSTOMER.valid(browser(session="customer-session-a"), before)  # signed in since
    # Each realm reads its own session cookie: signing in to the console leaves a customer's forms be.
    assert CUSTOMER.valid(browser(session="customer-session-a", admin="admin-session-1"), mine)
    admin, _ = ADMIN.token(browser(admin="admin-session-1"))
    assert not ADMIN.valid(browser(admin="admin-session-2"), admin)


def test_the_page_never_shows_the_session_id() -> None:
    session = "customer-session-that-must-stay-in-its-cookie"
    token, _ = CUSTOMER.token(browser(session=session))
    assert session not in token and len(token) == 64


def test_a_forged_token_is_refused_whatever_it_holds() -> None:
    here = browser(session="customer-session-a")
    for forged in ("", "forged", "é" * 64, "\udcff", None, 42, ["a"]):
        assert not CUSTOMER.valid(here, forged)
