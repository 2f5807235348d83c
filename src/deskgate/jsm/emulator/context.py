"""What every emulator route needs: the store, the site URL, paging parameters, the experimental check."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from deskgate.jsm.emulator import render
from deskgate.jsm.emulator.state import EmulatorStore

Handler = Callable[[Request], Awaitable[Response]]
EXPERIMENTAL_VALUE = {"cloud": "opt-in", "datacenter": "true"}


class BadInput(Exception):
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
        raise BadInput(render.error(400, "start and limit must be whole numbers.")) from None
    if start < 0 or limit < 1:
        raise BadInput(render.error(400, "start must be 0 or more and limit 1 or more."))
    return start, min(limit, cap)


async def body_json(request: Request) -> Any:
    if "application/json" not in request.headers.get("content-type", ""):
        raise BadInput(render.error(415, "Send the body as application/json."))
    try:
        return json.loads(await request.body())
    except ValueError:
        raise BadInput(render.error(400, "The body is not valid JSON.")) from None


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
