"""The error boundary titles a page by the kind of failure and leads where it helps: only a failed
sign-in is a "Sign-in problem" with the way back to `/login`; JSM being away is not (issue 9)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from deskgate.errors import DeskgateError, LoginError, NotFound
from deskgate.jsm import JsmRateLimited, JsmUnavailable
from deskgate.portal.connection import JsmNotConnected
from deskgate.web import assets
from deskgate.web.context import TEMPLATES
from deskgate.web.errors import error_response

TEMPLATES_ = Jinja2Templates(directory=str(TEMPLATES))
assets.install(TEMPLATES_.env.globals, assets.StaticAssets.load())


def page(exc: DeskgateError, path: str = "/account") -> tuple[int, str]:
    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
    response = error_response(TEMPLATES_, Request(scope), exc)
    return response.status_code, bytes(response.body).decode()


def test_a_failed_sign_in_is_a_sign_in_problem_leading_to_sign_in() -> None:
    status, text = page(LoginError("state", "expired"), "/plugins/servlet/oauth/callback")
    assert status == 400 and "<title>Sign-in problem" in text and 'href="/login"' in text


def test_jsm_away_is_named_and_leads_to_the_help_center_not_to_sign_in() -> None:
    for exc in (JsmUnavailable("down"), JsmRateLimited("busy", retry_after=25), JsmNotConnected()):
        status, text = page(exc)
        assert status == 503
        assert "<title>Help desk unavailable" in text and "Sign-in problem" not in text
        assert "/login" not in text and 'href="/portal">Back to the help center' in text


def test_other_failures_offer_no_sign_in_either() -> None:
    for exc in (DeskgateError("boom"), NotFound("nothing")):
        _, text = page(exc)
        assert "Sign-in problem" not in text and "/login" not in text
