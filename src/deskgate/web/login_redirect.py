"""The last step of starting a sign-in, the same for every protocol: keep the pending sign-in, bind it to
this browser, send the browser to the IdP."""

from __future__ import annotations

import secrets

from starlette.responses import RedirectResponse, Response

from deskgate.login.states import PendingLogin
from deskgate.web.context import WebContext
from deskgate.web.security import NO_STORE, set_cookie


async def send_to_idp(
    ctx: WebContext, key: str, pending: PendingLogin, url: str, *, page: Response | None = None
) -> Response:
    """Store `pending` under `key` (OIDC's state, SAML's RelayState) and redirect to `url`.

    The browser binding is minted afresh at every start, never taken over from the browser: a value planted
    there (or left by an earlier sign-in) would otherwise bind this sign-in to a browser someone else also
    knows the value of."""
    binding = secrets.token_urlsafe(32)
    await ctx.services.login_states.put(key, binding, pending)
    # `page` instead of the redirect: a form that POSTs to the IdP (SAML's HTTP-POST binding)
    response = page or RedirectResponse(url, status_code=302, headers=NO_STORE)
    set_cookie(
        response,
        ctx.cookies.login,
        binding,
        https=ctx.https,
        max_age=ctx.services.settings.login_state_seconds,
    )
    return response
