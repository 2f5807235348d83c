"""The topology an operator runs: three `deskgate serve` instances (2 workers each) behind HAProxy
(deploy/haproxy.cfg) on one PostgreSQL database and one Redis, with the JSM emulator and a real OpenID
provider, brought up once for the whole module by `dev/topology up` and taken down by `dev/topology down`.

Customers sign in over plain HTTP as a browser would (`sign_in`); each test uses its own customer."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from deskgate.demo.oidc_peer_http import login_over_http

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "dev" / "topology"
UP_TIMEOUT = 300.0  # seconds: seven processes starting on two cores that other tests keep busy
EMULATOR_AUTH = ("deskgate-bot@example.com", "emulator-api-token")
SESSION_COOKIE = "deskgate_session"


@dataclass(frozen=True)
class Topology:
    dir: Path
    env: dict[str, str]

    @property
    def haproxy(self) -> str:
        return self.env["DESKGATE_URL"]

    @property
    def instances(self) -> list[str]:
        return [self.env[f"DESKGATE_{n}_URL"] for n in (1, 2, 3)]

    @property
    def jsm(self) -> str:
        return self.env["JSM_URL"]

    def pid(self, name: str) -> int:
        return int((self.dir / f"{name}.pid").read_text())

    def faults(self, **plan: Any) -> dict[str, Any]:
        """Change fields of the JSM emulator's fault plan (at once); returns the plan as it now stands."""
        answer = httpx.put(self.jsm + "/__emulator__/faults", json=plan, timeout=5)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def fault_plan(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(self.jsm + "/__emulator__/faults", timeout=5).json()
        return result

    def jsm_issues(self, word: str) -> dict[str, str]:
        """Summary by issue key of every request in JSM whose summary has `word` (Jira's own search)."""
        answer = httpx.get(
            self.jsm + "/rest/api/3/search/jql",
            params={"jql": f'summary ~ "{word}"', "fields": "summary", "maxResults": "1000"},
            auth=EMULATOR_AUTH,
            timeout=10,
        )
        answer.raise_for_status()
        return {issue["key"]: issue["fields"]["summary"] for issue in answer.json()["issues"]}

    def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            connection = await asyncpg.connect(self.env["DATABASE_URL"])
            try:
                return list(await connection.fetch(sql, *args))
            finally:
                await connection.close()

        return asyncio.run(run())


@pytest.fixture(scope="session")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    running = os.environ.get("DESKGATE_TOPOLOGY_DIR")
    if running:  # one left up by hand (dev/topology up DIR), while writing tests: used, not stopped
        lines = (Path(running) / "env").read_text().splitlines()
        yield Topology(Path(running), dict(line.split("=", 1) for line in lines))
        return
    directory = tmp_path_factory.mktemp("topology")
    began = time.monotonic()
    try:
        done = subprocess.run(
            [str(TOPOLOGY), "up", str(directory)], capture_output=True, text=True, timeout=UP_TIMEOUT
        )
        assert done.returncode == 0, f"dev/topology up failed:\n{done.stdout}\n{done.stderr}"
        env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        print(f"\ntopology up in {time.monotonic() - began:.1f} s ({env['INSTANCES_READY_SECONDS']} s to "
              "the three instances ready)")  # fmt: skip
        yield Topology(directory, env)
    finally:
        subprocess.run([str(TOPOLOGY), "down", str(directory)], timeout=120, check=False)


@pytest.fixture
def faults_reset(topology: Topology) -> Iterator[None]:
    yield
    httpx.delete(topology.jsm + "/__emulator__/faults", timeout=5).raise_for_status()


def on(url: str, origin: str) -> str:
    """`url` with its scheme and host:port replaced by `origin`'s: a hop sent to one chosen instance."""
    parts, target = urlsplit(url), urlsplit(origin)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def sign_in(client: httpx.Client, topology: Topology, via: str, user: str) -> None:
    """Sign `user` in with every Deskgate hop sent to `via` (an instance, or HAProxy); the IdP sends the
    browser back to base_url (HAProxy), which is swapped for `via` as well."""
    issuer = topology.env["OIDC_ISSUER"]
    response = client.get(via + "/account")
    for _ in range(10):
        location = response.headers.get("location", "")
        if not response.is_redirect or location.startswith(issuer):
            break
        response = client.get(on(urljoin(str(response.url), location), via))
    assert response.is_redirect and response.headers["location"].startswith(issuer), response.text[:300]
    back = login_over_http(client, issuer, response.headers["location"], user, user)
    assert back.is_redirect and back.headers["location"].startswith(topology.haproxy), back.text[:300]
    done = client.get(on(back.headers["location"], via))
    assert done.status_code == 303, (done.status_code, done.text[:300])
    assert client.get(via + "/me").json()["email"] == f"{user}@topology.example"


def session_cookie(client: httpx.Client) -> str:
    value = client.cookies.get(SESSION_COOKIE)
    assert value, "no session cookie"
    return value
