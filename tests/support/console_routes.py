"""Every console route, found by walking the app's routes: a form added later is covered by the tests that
iterate over these (tests/admin/test_console_guard.py, tests/admin/test_csrf_binding.py) without a new test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from starlette.routing import Route

from deskgate.settings import load_settings
from deskgate.web.app import create_app
from tests.support.inprocess import SECRET_KEY

# Only these are open without an admin session; their POSTs still need the token.
OPEN_WITHOUT_ADMIN = {"/admin/login", "/admin/login/idp/{name}", "/admin/logout", "/admin/setup/{token}"}
# Values for the routes' path parameters: an IdP named "corp" exists in the tests, so that a refusal is
# never a mere 404.
PARAMS = {"name": "corp", "preset": "gluu", "token": "not-a-setup-token", "test_id": "t", "direction": "up"}


def _console_routes() -> Iterator[tuple[str, str]]:
    settings = load_settings(
        base_url="http://127.0.0.1:8080", secret_key=SECRET_KEY, database_url="sqlite:///:memory:"
    )
    for route in create_app(settings).routes:
        if isinstance(route, Route) and route.path.startswith("/admin"):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                yield method, route.path


CONSOLE = sorted(set(_console_routes()))
GUARDED = [(method, path) for method, path in CONSOLE if path not in OPEN_WITHOUT_ADMIN]
STATE_CHANGING = [(method, path) for method, path in CONSOLE if method != "GET"]


def concrete(path: str) -> str:
    """The route's path with its parameters filled in from `PARAMS`."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PARAMS.get(m.group(1), "x"), path)
