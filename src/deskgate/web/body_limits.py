"""Request bodies limited while they stream in, before a route or Starlette's form parser sees them.

Starlette spools a multipart upload to a temporary file as it parses it and reads a urlencoded form into
memory whole, before the route can look at either: without a limit in front, a 1 GiB upload lands on disk
before it is refused, and an endpoint open to anyone reads whatever it is sent. `BodyLimits` gives each
request the limit of its kind (`kind_of`: a small declarative table of path templates and methods) and

- answers 413 at once when the Content-Length announces more, without reading a byte of the body;
- otherwise counts the bytes as `receive()` hands them over and, as soon as the count passes the limit,
  raises `BodyLimitExceeded` from `receive()` instead of handing them on: a route never sees more than
  its limit. The middleware catches the exception and answers 413 — once, whatever the route did with it.

The 413 is the error boundary's own page (JSON for API callers), with an error id (`BodyTooLarge`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Literal

from starlette.requests import Request
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deskgate.errors import DeskgateError
from deskgate.services import (
    BACKCHANNEL_LOGOUT_PATH,
    CALLBACK_PATH,
    FRONTCHANNEL_LOGOUT_PATH,
    POST_LOGOUT_PATH,
)
from deskgate.settings import Settings
from deskgate.web.admin_backup import MAX_UPLOAD_BYTES as MAX_CONFIG_BYTES
from deskgate.web.console import LOGIN_PATH
from deskgate.web.errors import error_id_of, error_response
from deskgate.web.portal.common import MAX_FILE_BYTES, MAX_FILES

log = logging.getLogger("deskgate.web")

Kind = Literal["anonymous", "form", "upload", "config_import"]
# A request with one of these methods carries no form, whatever its path: the smallest limit.
BODYLESS_METHODS = frozenset({"GET", "HEAD"})
# An upload form's other fields (a JSM description holds 32,767 characters, up to 4 bytes each in UTF-8)
# and the multipart boundaries and part headers around every field and file.
UPLOAD_SLACK_BYTES = 1024 * 1024
# The import form's CSRF token and mode, and the multipart framing around them and the file.
CONFIG_IMPORT_SLACK_BYTES = 64 * 1024

MESSAGES: dict[Kind, str] = {
    "anonymous": "This request is too large.",
    "form": "This form is too large to send.",
    "upload": f"The attachments are too large: attach at most {MAX_FILES} files of up to "
    f"{MAX_FILE_BYTES / 1_048_576:g} MB each.",
    "config_import": f"This file is too large to be a configuration export "
    f"(at most {MAX_CONFIG_BYTES // 1024} KB).",
}


class BodyLimitExceeded(Exception):
    """Raised by the counted `receive()` when the body passes its limit.

    Not a DeskgateError on purpose: no route's ``except DeskgateError`` and no exception handler turns it
    into some other answer on its way out to `BodyLimits`, which answers 413 itself."""


class BodyTooLarge(DeskgateError):
    """The refusal as a person sees it: the error page with its id, status 413."""

    status_code = 413
    user_message = "This request is too large."


@dataclass(frozen=True, slots=True)
class Rule:
    """Requests to `path` (a route template as `Route` spells it) get `kind`'s limit; `methods` None: all."""

    path: str
    kind: Kind
    methods: frozenset[str] | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = re.split(r"\{[^}]*\}", self.path)  # each {param} stands for one path segment
        object.__setattr__(self, "pattern", re.compile("[^/]+".join(re.escape(part) for part in parts)))

    def matches(self, method: str, path: str) -> bool:
        return (self.methods is None or method in self.methods) and self.pattern.fullmatch(path) is not None


POST = frozenset({"POST"})
# First match wins; a request no rule names is a "form". Every path here must stay a real route: the tests
# compare this table with the app's routes, so a renamed route cannot quietly fall back to another limit.
RULES: tuple[Rule, ...] = (
    # Open to anyone, so a few KB: what an IdP posts back (form_post), a logout token, a sign-in form.
    Rule(CALLBACK_PATH, "anonymous"),
    Rule(BACKCHANNEL_LOGOUT_PATH, "anonymous"),
    Rule(FRONTCHANNEL_LOGOUT_PATH, "anonymous"),
    Rule(POST_LOGOUT_PATH, "anonymous"),
    Rule("/logout", "anonymous"),
    Rule("/login", "anonymous"),
    Rule(LOGIN_PATH, "anonymous"),
    Rule("/admin/logout", "anonymous"),
    Rule("/admin/setup/{token}", "anonymous"),
    Rule("/admin/login/idp/{name}", "anonymous"),
    # The portal's multipart forms with attachments: the files the route will take, and the rest.
    Rule("/portal/{desk_id}/create/{request_type_id}", "upload", POST),
    Rule("/portal/requests/{key}/comment", "upload", POST),
    # The console's configuration import: one YAML file of at most MAX_CONFIG_BYTES.
    Rule("/admin/backup/import", "config_import", POST),
)


def kind_of(method: str, path: str) -> Kind:
    if method in BODYLESS_METHODS:
        return "anonymous"
    return next((rule.kind for rule in RULES if rule.matches(method, path)), "form")


@dataclass(frozen=True, slots=True)
class Limits:
    """Bytes per kind. The two an operator tunes come from settings; the others follow the file limits the
    routes enforce, so a form the route would accept is never refused here."""

    anonymous: int
    form: int
    upload: int = MAX_FILES * MAX_FILE_BYTES + UPLOAD_SLACK_BYTES
    config_import: int = MAX_CONFIG_BYTES + CONFIG_IMPORT_SLACK_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(anonymous=settings.body_limit_anonymous_bytes, form=settings.body_limit_form_bytes)

    def of(self, kind: Kind) -> int:
        limit: int = getattr(self, kind)
        return limit


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # A malformed value is the server's to refuse; an absurdly long one is left to the count
            # (int() refuses over 4,300 digits, and no body worth reading has 19).
            return int(value) if value.isdigit() and len(value) <= 18 else None
    return None


class BodyLimits:
    """Pure ASGI middleware: every request body held to its kind's limit (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limits: Limits, templates: Jinja2Templates) -> None:
        self.app = app
        self.limits = limits
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = kind_of(scope["method"], scope["path"].removeprefix(scope.get("root_path", "")))
        limit = self.limits.of(kind)
        announced = _content_length(scope)
        if announced is not None and announced > limit:
            await self._refuse(scope, receive, send, kind, f"Content-Length {announced}")
            return
        received = 0
        exceeded = False  # the body passed the limit: the route gets no more of it
        started = False  # the route's answer began going out: a 413 can no longer replace it
        refused = False  # our 413 went out

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:  # a route that caught the exception and reads again still gets nothing
                raise BodyLimitExceeded(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyLimitExceeded(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, refused
            if refused:  # the rest of an answer our 413 replaced
                return
            if message["type"] == "http.response.start" and exceeded:
                # The route caught the refusal and answered anyway (a broad `except`): the 413 wins.
                refused = True
                await self._refuse(scope, receive, send, kind, f"more than {limit} bytes streamed")
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception as exc:
            # Our exception, or what the route made of it (a task group wraps it in an ExceptionGroup).
            if not exceeded:
                raise
            if refused:
                return
            if started:
                # Nothing sensible can follow a begun answer: the server cuts the connection, which is
                # what an over-long body deserves. Logged here, so the cut has an explanation.
                log.warning(
                    "error_id=%s %s %s: body over the %s-byte limit after the answer began; connection cut",
                    error_id_of(exc),
                    scope["method"],
                    scope["path"],
                    limit,
                )
                return
            await self._refuse(scope, receive, send, kind, f"more than {limit} bytes streamed")
        else:
            if exceeded and not started and not refused:  # the route swallowed it and answered nothing
                await self._refuse(scope, receive, send, kind, f"more than {limit} bytes streamed")

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, kind: Kind, what: str) -> None:
        limit = self.limits.of(kind)
        refusal = BodyTooLarge(f"{what}, over the {limit}-byte {kind} limit", user_message=MESSAGES[kind])
        response = error_response(self.templates, Request(scope), refusal, retry_url=None)
        if scope.get("http_version") in ("1.0", "1.1"):  # HTTP/2 forbids the header (streams end alone)
            # The rest of the body is never read: closing beats the server reading it only to drop it.
            response.headers["Connection"] = "close"
        await response(scope, receive, send)
