"""The last step of starting a sign-in, the same for every protocol: seal the pending sign-in into this
browser's login cookie, send the browser to the IdP."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from deskgate.login.states import PendingLogin
from deskgate.web.context import WebContext
from deskgate.web.security import NO_STORE, set_cookie


async def send_to_idp(
    ctx: WebContext, key: str, pending: PendingLogin, url: str, *, page: Response | None = None
) -> Response:
    """Seal `pending` for `key` (OIDC's state, SAML's RelayState) into the login cookie and redirect to `url`.

    The cookie is made afresh at every start and replaces any earlier one: the last sign-in a browser
    started is the one it can finish (nothing is written to the database until the callback)."""
    sealed = ctx.services.login_states.seal(key, pending)
    # `page` instead of the redirect: a form that POSTs to the IdP (SAML's HTTP-POST binding)
    response = page or RedirectResponse(url, status_code=302, headers=NO_STORE)
    set_cookie(
        response,
        ctx.cookies.login,
        sealed,
        https=ctx.https,
        max_age=ctx.services.settings.login_state_seconds,
    )
    return response
