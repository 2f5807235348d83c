"""Customer CSRF tokens hold only for the customer session they were minted for (`deskgate.web.csrf`):
on the request form, the comment form and the sign-out form.

The submitting browser is given the very CSRF cookie the token was minted with, as an attacker who
planted his cookie there could (or as a shared browser keeps it across customers): the refusals below come
from the binding to the session, which the double-submit cookie alone would let through.
"""

from __future__ import annotations

import httpx
import pytest

from deskgate.web.security import CookieNames
from tests.portal_web.conftest import Customer, Rig
from tests.support.admin import console_sign_in, csrf_token

pytestmark = pytest.mark.anyio
COOKIES = CookieNames(https=False)
# (page with the form, where it posts, its fields)
FORMS = [
    ("/portal/1/create/1", "/portal/1/create/1", {"summary": "Refund to my account"}),
    ("/portal/requests/ITH-2", "/portal/requests/ITH-2/comment", {"body": "Shared request, own words"}),
    ("/logout", "/logout", {}),
]


async def alice_and_bob(rig: Rig) -> tuple[Customer, Customer]:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    bob = await rig.sign_in("bob-sub", "bob@example.com", "Bob Brown")  # ITH-2 is Bob's; Alice takes part
    return alice, bob


def refused(answer: httpx.Response) -> bool:
    """The form's refusal: 403 for the portal's forms, the sign-in error page (400) for the sign-out."""
    return answer.status_code in (400, 403) and "location" not in answer.headers


def traces(rig: Rig) -> tuple[int, int]:
    comments = rig.jsm.store.issue("ITH-2")
    assert comments is not None
    return len(rig.jsm.store.issues), len(comments.comments)


@pytest.mark.parametrize(("page", "action", "fields"), FORMS, ids=["create", "comment", "sign-out"])
async def test_a_token_from_another_customers_session_is_refused(
    rig: Rig, page: str, action: str, fields: dict[str, str]
) -> None:
    alice, bob = await alice_and_bob(rig)
    alices = await alice.csrf(page)  # Alice's browser gets its CSRF cookie with it…
    bob.browser.cookies.set(COOKIES.csrf, alice.browser.cookies[COOKIES.csrf])  # …planted in Bob's
    before = traces(rig)
    answer = await bob.browser.post(action, data={**fields, "csrf_token": alices})
    assert refused(answer), answer.status_code
    assert traces(rig) == before
    assert (await bob.browser.get("/me")).status_code == 200  # not signed out either
    # Bob's own token, with the same cookies: the session was all that differed.
    answer = await bob.browser.post(action, data={**fields, "csrf_token": await bob.csrf(page)})
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])


async def test_a_token_of_the_session_before_the_last_sign_in_is_refused(rig: Rig) -> None:
    customer = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    page, action, fields = FORMS[0]
    earlier = await customer.csrf(page)
    # Signing in again gives the browser a new session id (rotation), and its pages new tokens.
    again = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    customer.browser.cookies.set(COOKIES.session, again.browser.cookies[COOKIES.session])
    await again.browser.aclose()
    before = traces(rig)
    assert refused(await customer.browser.post(action, data={**fields, "csrf_token": earlier}))
    assert traces(rig) == before
    current = await customer.csrf(page)
    assert current != earlier
    answer = await customer.browser.post(action, data={**fields, "csrf_token": current})
    assert answer.status_code == 303


async def test_a_console_token_opens_no_customer_form(rig: Rig) -> None:
    alice, _ = await alice_and_bob(rig)
    console_token = await console_sign_in(alice.browser, rig.services)
    for _, action, fields in FORMS:
        before = traces(rig)
        answer = await alice.browser.post(action, data={**fields, "csrf_token": console_token})
        assert refused(answer), (action, answer.status_code)
        assert traces(rig) == before
    assert (await alice.browser.get("/me")).status_code == 200
    assert csrf_token((await alice.browser.get("/logout")).text) != console_token
