"""How long Deskgate takes to answer each page, server side: every console page and every customer page.

Builds the app in process as the tests do (SQLite in a temporary directory, the JSM emulator in process,
an admin and a customer signed in), warms every page up (caches filled, templates compiled, assets read),
then asks each page N times through httpx's ASGITransport, one at a time, and prints p50 and p95 per page
and the largest p95. Exits 1 when a page's p95 is over the budget (50 ms), or a page does not answer 200.

    .venv/bin/python bench/render.py            # N=50
    .venv/bin/python bench/render.py -n 200 --budget-ms 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.routing import Route

from deskgate.identity.provider import ProviderConfig
from deskgate.jsm.emulator import create_emulator
from deskgate.services import Services
from deskgate.settings import load_settings
from deskgate.web.app import create_app

BASE = "http://127.0.0.1:8080"
SITE = "https://jsm.test"
SECRET_KEY = "render-bench-secret-key-0123456789-abcdef"  # noqa: S105 (a throwaway database)
# Console routes that are not pages: they send the browser elsewhere or download a file.
NOT_PAGES = {"/admin/idps/{name}/test/start", "/admin/audit.csv"}
# Pages whose right answer is not 200: a spent first-admin link says so.
EXPECTED = {"/admin/setup/spent-link": 404}
TEST_RESULT: dict[str, Any] = {  # a passed test sign-in, for the console's test result page
    "ok": True,
    "subject": "u-1",
    "id_token_claims": {"sub": "u-1", "email": "ann@corp.test", "given_name": "Ann", "family_name": "Lee"},
    "userinfo_claims": {"sub": "u-1", "groups": ["staff"]},
    "mapped": {"email": "ann@corp.test", "display_name": "Ann Lee"},
    "verdict": {"allowed": True, "rule": "default", "reason": "no rule refused"},
}
# Pages about one thing named in their query (a user's sessions): the bench's customer.
QUERIES = {"/admin/sessions/revoke-user": "?idp=corp&subject=alice-sub"}
CUSTOMER_PAGES = (
    "/account",
    "/portal",
    "/portal/1",
    "/portal/requests",
    "/portal/requests/ITH-1",
    "/portal/1/create/1",
    "/logged-out",
)


def console_pages(routes: list[object], params: dict[str, str]) -> list[str]:
    paths = sorted(
        r.path
        for r in routes
        if isinstance(r, Route) and r.path.startswith("/admin") and "GET" in (r.methods or ())
    )
    pages = []
    for path in paths:
        if path in NOT_PAGES:
            continue
        query = QUERIES.get(path, "")
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
        pages.append(path + query)
    return pages


async def prepare(services: Services) -> tuple[str, str, dict[str, str]]:
    """The admin's and the customer's session ids, and values for the console's path parameters."""
    await services.admins.create("admin", "admin-password-for-the-bench", replace=True)
    admin, _ = await services.admin_sessions.start(
        idp="deskgate-admin", subject="admin", email=None, display_name="admin", attributes={}
    )
    customer, _ = await services.sessions.start(
        idp="corp", subject="alice-sub", email="alice@example.com", display_name="Alice", attributes={}
    )
    await services.customers.provision(
        idp="corp", subject="alice-sub", email="alice@example.com", display_name="Alice", desk_id="1"
    )
    test_id = await services.connection_tests.save("corp", TEST_RESULT)
    params = {"name": "corp", "preset": "gluu", "test_id": test_id, "token": "spent-link", "desk_id": "1"}
    return admin, customer, params


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(
    client: httpx.AsyncClient, path: str, cookies: dict[str, str], n: int
) -> tuple[list[float], set[int]]:
    timings, statuses = [], set()
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(path, cookies=cookies)
        timings.append((time.perf_counter() - started) * 1000)
        statuses.add(answer.status_code)
    return timings, statuses


async def main(n: int, budget_ms: float, warmup: int) -> int:
    jsm = create_emulator("cloud")
    corp = ProviderConfig(
        name="corp",
        title="Corporate sign-in",
        issuer="https://corp.idp.test",
        client_id="deskgate",
        client_secret=SecretStr("client-secret-0123456789"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            base_url=BASE,
            secret_key=SECRET_KEY,
            database_url=f"sqlite:///{Path(tmp) / 'deskgate.db'}",
            idps=[corp],
            jsm=jsm.connection(SITE),
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=jsm)) as outbound:
            app = create_app(settings, http=outbound)  # the IdP is never reached: the emulator says 404
            async with app.router.lifespan_context(app):
                admin, customer, params = await prepare(app.state.services)
                transport = httpx.ASGITransport(
                    app=app, client=("127.0.0.1", 50000), raise_app_exceptions=False
                )
                async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                    pages = [(p, {"deskgate_admin": admin}) for p in console_pages(app.routes, params)]
                    article = next(a for a in jsm.store.articles if a.desk_id == "1" and a.readable)
                    article_pages = ("/portal?q=password", f"/portal/1/articles/{article.page_id}")
                    pages += [(p, {"deskgate_session": customer}) for p in CUSTOMER_PAGES + article_pages]
                    for path, cookies in pages:  # warm-up: caches, templates, assets
                        await measure(client, path, cookies, warmup)
                    print(f"{'page':<44} {'status':>7} {'p50 ms':>8} {'p95 ms':>8}")
                    worst, failed = 0.0, False
                    for path, cookies in pages:
                        timings, statuses = await measure(client, path, cookies, n)
                        p50, p95 = statistics.median(timings), percentile(timings, 0.95)
                        worst = max(worst, p95)
                        bad = p95 > budget_ms or statuses != {EXPECTED.get(path, 200)}
                        failed |= bad
                        status = ",".join(str(s) for s in sorted(statuses))
                        flag = "  <- over budget or unexpected status" if bad else ""
                        print(f"{path:<44} {status:>7} {p50:8.1f} {p95:8.1f}{flag}")
    print(f"max p95: {worst:.1f} ms over {len(pages)} pages (budget {budget_ms:.0f} ms, N={n})")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50, help="timed requests per page (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first (default 5)")
    parser.add_argument("--budget-ms", type=float, default=50.0, help="largest p95 allowed (default 50)")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.n, args.budget_ms, args.warmup)))
