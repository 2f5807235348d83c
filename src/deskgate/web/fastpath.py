"""`GET /me` answered beneath the framework's routing and exception layers.

It is the hottest route (a portal page or client polls it), and all it does is one session lookup
that the per-worker cache usually answers without I/O. Anything unusual — another method, a failure in
the lookup — goes to the full app, so the error boundary still has the last word.
"""

from __future__ import annotations

import json

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from deskgate.web.context import WebContext

PATH = "/me"
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_UNAUTHENTICATED = b'{"error":"not signed in"}'


class IdentityFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        ctx: WebContext = scope["app"].state.web
        session_id = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                session_id = cookie_parser(value.decode("latin-1")).get(ctx.cookies.session) or session_id
        try:
            user = await ctx.services.sessions.resolve(session_id)
        except Exception:  # the full app answers again, through the error boundary
            await self.app(scope, receive, send)
            return
        if user is None:
            status, body = 401, _UNAUTHENTICATED
        else:
            status = 200
            identity = {
                "idp": user.idp,
                "subject": user.subject,
                "email": user.email,
                "name": user.display_name,
            }
            body = _ENCODER.encode(identity).encode("utf-8")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
