"""What every emulator route needs: the store, the site URL, paging, lookups, the experimental check.

A handler that cannot go on raises `Refused` with JSM's answer (bad input, or nothing at the path it
names); the app turns it into that answer, so handlers read as the successful path.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from deskgate.jsm.emulator import render
from deskgate.jsm.emulator.state import Desk, EmulatorStore, Issue

Handler = Callable[[Request], Awaitable[Response]]
EXPERIMENTAL_VALUE = {"cloud": "opt-in", "datacenter": "true"}
T = TypeVar("T")


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def context(request: Request) -> tuple[EmulatorStore, str]:
    """(the store, the site URL as the client reached it)."""
    store: EmulatorStore = request.app.state.store
    return store, str(request.base_url).rstrip("/")


def page_params(request: Request) -> tuple[int, int]:
    """start and limit; JSM caps limit silently (here at the emulator's page cap)."""
    cap: int = request.app.state.page_cap
    try:
        start = int(request.query_params.get("start", "0"))
        limit = int(request.query_params.get("limit", "50"))
    except ValueError:
        raise Refused(render.error(400, "start and limit must be whole numbers.")) from None
    if start < 0 or limit < 1:
        raise Refused(render.error(400, "start must be 0 or more and limit 1 or more."))
    return start, min(limit, cap)


def page_of(request: Request, values: Sequence[Any]) -> JSONResponse:
    """The page of `values` that the query's start and limit ask for, as JSM's PagedDTO."""
    start, limit = page_params(request)
    _, base = context(request)
    return JSONResponse(render.paged(values, start, limit, base, request.url.path))


def found(value: T | None, what: str) -> T:
    """`value`, or JSM's 404 when the path named a `what` that does not exist."""
    if value is None:
        raise Refused(render.error(404, f"The {what} does not exist."))
    return value


def desk_of(request: Request) -> Desk:
    store, _ = context(request)
    return found(store.desk(request.path_params["desk"]), "service desk")


def issue_of(request: Request) -> Issue:
    store, _ = context(request)
    return found(store.issue(request.path_params["key"]), "request")


async def body_json(request: Request) -> Any:
    if "application/json" not in request.headers.get("content-type", ""):
        raise Refused(render.error(415, "Send the body as application/json."))
    try:
        return json.loads(await request.body())
    except ValueError:
        raise Refused(render.error(400, "The body is not valid JSON.")) from None


def experimental(handler: Handler) -> Handler:
    """An operation JSM marks experimental: without the opt-in header it answers 412."""

    @functools.wraps(handler)
    async def checked(request: Request) -> Response:
        store, _ = context(request)
        expected = EXPERIMENTAL_VALUE[store.flavour]
        if request.headers.get("x-experimentalapi", "").lower() != expected:
            return render.error(
                412, f"This API is experimental. Opt in with the header X-ExperimentalApi: {expected}."
            )
        return await handler(request)

    return checked
