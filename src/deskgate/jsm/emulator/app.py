"""`create_emulator`: an in-memory JSM as a Starlette app, Cloud or Data Center flavoured.

    app = create_emulator("cloud")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    client = JsmClient(http, app.connection("http://jsm.test"))
    app.faults.rate_limits = 2            # or PUT /__emulator__/faults {"rate_limits": 2}
    app.roles.jira_administrator = False  # or PUT /__emulator__/roles {"jira_administrator": false}

The service account authenticates as JSM does it: HTTP Basic email:API token on Cloud, a Bearer personal
access token on Data Center; anything else gets 401.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deskgate.jsm.connection import JsmConnection
from deskgate.jsm.emulator import (
    attachments,
    knowledge,
    organizations,
    platform,
    request_actions,
    servicedesk,
)
from deskgate.jsm.emulator.context import Refused
from deskgate.jsm.emulator.faults import ADMIN_PREFIX, Asgi, FaultMiddleware, FaultPlan, Receive, Scope, Send
from deskgate.jsm.emulator.permissions import ServiceAccountRoles
from deskgate.jsm.emulator.render import error
from deskgate.jsm.emulator.seed import seed as seed_demo
from deskgate.jsm.emulator.state import EmulatorFlavour, EmulatorStore, User


@dataclass(frozen=True)
class ServiceAccountCredentials:
    email: str = "deskgate-bot@example.com"
    username: str = "deskgate-bot"
    api_token: str = "emulator-api-token"  # noqa: S105 - a fixed sandbox credential, printed on start
    personal_access_token: str = "emulator-personal-access-token"  # noqa: S105


class AuthMiddleware:
    def __init__(self, app: Asgi, flavour: EmulatorFlavour, credentials: ServiceAccountCredentials) -> None:
        self.app = app
        if flavour == "cloud":
            pair = f"{credentials.email}:{credentials.api_token}".encode()
            self.expected = "Basic " + base64.b64encode(pair).decode()
        else:
            self.expected = "Bearer " + credentials.personal_access_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"").decode("latin-1")
        if not hmac.compare_digest(given.encode(), self.expected.encode()):
            detail = _why_refused(given)
            await error(401, f"Client must be authenticated to access this resource. ({detail})")(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def _why_refused(given: str) -> str:
    if not given:
        return "no credentials"
    if given.startswith("Basic "):
        try:
            base64.b64decode(given[6:], validate=True)
        except (binascii.Error, ValueError):
            return "malformed Basic credentials"
    return "wrong credentials"


class EmulatorApp(Starlette):
    """The emulator; its in-process handles are `store`, `faults`, `roles`, `calls` and `credentials`, and
    `delete_issue` (what a Jira admin may do to keys behind the portal's back)."""

    store: EmulatorStore
    faults: FaultPlan
    roles: ServiceAccountRoles
    calls: list[tuple[str, str]]
    credentials: ServiceAccountCredentials
    flavour: EmulatorFlavour

    def connection(self, site_url: str, **overrides: object) -> JsmConnection:
        """A JsmConnection for this emulator's service account at `site_url`."""
        values: dict[str, object] = {"site_url": site_url, "deployment": self.flavour}
        if self.flavour == "cloud":
            values |= {"email": self.credentials.email, "api_token": SecretStr(self.credentials.api_token)}
        else:
            values["personal_access_token"] = SecretStr(self.credentials.personal_access_token)
        return JsmConnection.model_validate(values | overrides)

    def delete_issue(self, key: str) -> None:
        """As an admin deleting the issue in Jira: its key answers 404 from now on, drops out of search and
        is never given out again (the project's key counter goes on), which leaves a gap in the keys."""
        issue = self.store.issue(key)
        if issue is None:
            raise KeyError(key)
        self.store.issues.remove(issue)
        self.store.index.pop(issue.id, None)


async def _settings_endpoint(request: Request) -> Response:
    """GET, PUT (some fields) or DELETE (back to the defaults) the fault plan or the service account's
    roles, by the path's last segment."""
    name = request.url.path.rsplit("/", 1)[-1]
    settings: FaultPlan | ServiceAccountRoles = getattr(request.app.state, name)
    if request.method == "DELETE":
        settings.reset()
    elif request.method in ("PUT", "POST"):
        try:
            values = json.loads(await request.body() or b"{}")
            if not isinstance(values, dict):
                raise ValueError(f"send a JSON object of {name} settings")
            settings.update(values)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(asdict(settings))


async def _calls_endpoint(request: Request) -> Response:
    """How many calls the emulator has answered (admin calls aside): for a benchmark that runs it in a
    process of its own, where `EmulatorApp.calls` cannot be read."""
    return JSONResponse({"count": len(request.app.state.calls)})


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return exc.response


def create_emulator(
    flavour: EmulatorFlavour = "cloud",
    *,
    seed: bool = True,
    faults: FaultPlan | None = None,
    page_cap: int = 50,
    credentials: ServiceAccountCredentials | None = None,
    roles: ServiceAccountRoles | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> EmulatorApp:
    """A fresh emulator. `page_cap` is the silent server-side cap of `limit` on paged lists; `roles` what
    the service account may do (everything by default); `clock` (seconds) times the search index's lag
    (`FaultPlan.search_lag_seconds`), so that tests can move it instead of sleeping."""
    credentials = credentials or ServiceAccountCredentials()
    service_account = User(
        account_id="557058:deskgate-bot",
        username=credentials.username,
        email=credentials.email,
        display_name="Deskgate service account",
        account_type="atlassian",
    )
    store = EmulatorStore(
        flavour=flavour, service_account=service_account, users=[service_account], clock=clock
    )
    if seed:
        seed_demo(store)
    routes = [
        *servicedesk.ROUTES,
        *attachments.ROUTES,
        *organizations.ROUTES,
        *request_actions.ROUTES,
        *platform.routes(flavour),
        *knowledge.routes(flavour),
        Route(f"{ADMIN_PREFIX}/faults", _settings_endpoint, methods=["GET", "PUT", "POST", "DELETE"]),
        Route(f"{ADMIN_PREFIX}/roles", _settings_endpoint, methods=["GET", "PUT", "POST", "DELETE"]),
        Route(f"{ADMIN_PREFIX}/calls", _calls_endpoint, methods=["GET"]),
    ]
    app = EmulatorApp(routes=routes, exception_handlers={Refused: _refused})
    plan, granted = faults or FaultPlan(), roles or ServiceAccountRoles()
    calls: list[tuple[str, str]] = []
    app.state.store, app.state.faults, app.state.roles, app.state.page_cap = store, plan, granted, page_cap
    app.state.calls = calls
    app.store, app.faults, app.roles, app.calls = store, plan, granted, calls
    app.credentials, app.flavour = credentials, flavour
    # Outermost first: faults (latency, injected failures) → authentication → routes.
    app.add_middleware(AuthMiddleware, flavour=flavour, credentials=credentials)
    app.add_middleware(FaultMiddleware, plan=plan, calls=calls)
    return app
