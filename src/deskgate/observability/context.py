"""The request being served, as far as logs, the audit log, metrics and the JSM transport need it.

The web layer (`deskgate.web.request_id`) sets it at the start of each request; everything that runs for
that request — a log record, an audit entry, a call to JSM — reads it here, without being handed it.
Work outside any request (background delivery, housekeeping, the CLI) sees None.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar, Token
from dataclasses import dataclass

# An id a load balancer or a client sent is kept only if it is plain: it goes into logs, the audit log and
# a header to JSM, so no spaces, quotes, control characters or anything long. UUIDs, hex ids and HAProxy's
# unique-id formats fit.
INBOUND_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,99}")


@dataclass(slots=True)
class RequestContext:
    request_id: str
    # Which IdP a sign-in callback turned out to be for (set when its outcome is audited), so that the
    # callback's latency is labelled with it.
    idp: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("deskgate_request", default=None)


def new_request_id() -> str:
    """Short, unguessable, easy to read out over the phone (the length of an error id)."""
    return secrets.token_hex(8)


def accepted_request_id(inbound: str | None) -> str:
    """The inbound X-Request-Id when it is plain enough to pass on, else a new one."""
    if inbound is not None and INBOUND_ID.fullmatch(inbound):
        return inbound
    return new_request_id()


def current() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    request = _current.get()
    return request.request_id if request is not None else None


def enter(request: RequestContext) -> Token[RequestContext | None]:
    """Make `request` the current one; returns the token `leave` needs."""
    return _current.set(request)


def leave(token: Token[RequestContext | None]) -> None:
    _current.reset(token)
