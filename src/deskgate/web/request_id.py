"""One id per request: pure ASGI middleware (no per-request task), the outermost layer of the app.

The id is the inbound ``X-Request-Id`` when a load balancer or client sent a plain one (see
`deskgate.observability.context.INBOUND_ID`), else a new one. It is kept in ``scope["state"]`` (so routes
and the error boundary read ``request.state.request_id``) and in the request context, where log records,
audit entries and the JSM transport find it; the answer carries it back as ``X-Request-Id``.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deskgate.observability import context, metrics
from deskgate.services import CALLBACK_PATH

HEADER = b"x-request-id"


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inbound = None
        for name, value in scope["headers"]:
            if name == HEADER:
                inbound = value.decode("latin-1")
                break
        request_id = context.accepted_request_id(inbound)
        scope.setdefault("state", {})["request_id"] = request_id
        encoded = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *(h for h in message.get("headers", ()) if h[0] != HEADER),
                    encoded,
                ]
            await send(message)

        request = context.RequestContext(request_id)
        token = context.enter(request)
        # The sign-in callback is timed here, around everything the app does for it; the IdP it was for
        # is known once its outcome is recorded (`metrics.sign_in`).
        started = time.perf_counter() if scope["path"] == CALLBACK_PATH else None
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if started is not None and request.idp is not None:  # admin and test sign-ins are not
                metrics.callback_took(request.idp, time.perf_counter() - started)
            context.leave(token)
