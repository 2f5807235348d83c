"""Several instances, one truth: what a customer and an admin do on one instance holds on every other one,
through HAProxy and directly. The kill -9 test comes last: it leaves two instances running."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from deskgate.crypto import digest
from deskgate.portal.connection import CACHE_SECONDS as CONNECTION_CACHE_SECONDS
from tests.flow.browserless import csrf_token
from tests.topology.conftest import (
    ROOT,
    SESSION_COOKIE,
    Topology,
    session_cookie,
    sign_in,
)

pytestmark = pytest.mark.topology

REVOCATION_SECONDS = 1.0  # session_cache_seconds: the promise
CREATE = "/portal/1/create/1"
CREATE_PATH = "/rest/servicedeskapi/request"
DELIVERY_TIMEOUT = 90.0  # a failed try waits 15-30 s (DeliveryPolicy), a lapsed lease 15 s, plus the poll


def test_a_customer_signed_in_on_one_instance_is_served_by_every_other(topology: Topology) -> None:
    first, *others = topology.instances
    with httpx.Client(timeout=30) as browser:
        sign_in(browser, topology, first, "customer1")
        for url in [*others, topology.haproxy]:
            me = browser.get(url + "/me")
            assert me.status_code == 200 and me.json()["email"] == "customer1@topology.example", url
            portal = browser.get(url + "/portal")
            assert portal.status_code == 200 and "IT Help" in portal.text, (url, portal.status_code)
    with httpx.Client(timeout=30) as stranger:  # and without the cookie, nobody is served
        for url in topology.instances:
            assert stranger.get(url + "/me").status_code == 401
            assert stranger.get(url + "/portal").is_redirect


def _refused_everywhere_within(topology: Topology, cookie: str, act: Callable[[], None]) -> dict[str, float]:
    """Serve the session on every instance (both workers cache it), `act`, then ask every instance until
    REVOCATION_SECONDS + 0.5 s have passed. Returns, per instance, how long after `act` returned it last
    served the session; fails when one served it after REVOCATION_SECONDS."""
    clients = {
        url: httpx.Client(base_url=url, timeout=10, cookies={SESSION_COOKIE: cookie})
        for url in topology.instances
    }
    try:
        for client in clients.values():
            for _ in range(6):
                assert client.get("/me").status_code == 200
        act()
        done = time.monotonic()
        last_served = dict.fromkeys(clients, 0.0)
        while time.monotonic() - done < REVOCATION_SECONDS + 0.5:
            for url, client in clients.items():
                asked = time.monotonic()
                status = client.get("/me").status_code
                assert status in (200, 401), status
                if status == 200:
                    last_served[url] = asked - done
        for url, client in clients.items():
            assert client.get("/me").status_code == 401, url
        late = {url: at for url, at in last_served.items() if at > REVOCATION_SECONDS}
        assert not late, f"served after {REVOCATION_SECONDS} s: {late}"
        return last_served
    finally:
        for client in clients.values():
            client.close()


def test_a_logout_on_one_instance_is_refused_by_every_instance_within_1_s(topology: Topology) -> None:
    first = topology.instances[0]
    with httpx.Client(base_url=first, timeout=30) as browser:
        sign_in(browser, topology, first, "customer2")
        cookie = session_cookie(browser)

        def log_out() -> None:
            form = browser.get("/logout")
            out = browser.post("/logout", data={"csrf_token": csrf_token(form.text)})
            assert out.status_code == 303 and out.headers["location"].startswith(topology.env["OIDC_ISSUER"])

        served = _refused_everywhere_within(topology, cookie, log_out)
    print(f"\nlogout: last served {', '.join(f'{s:.2f} s' for s in served.values())} after it")


def test_an_admin_revocation_on_one_instance_is_refused_by_every_instance_within_1_s(
    topology: Topology,
) -> None:
    first, second, _ = topology.instances
    with httpx.Client(timeout=30) as browser, httpx.Client(base_url=second, timeout=30) as admin:
        sign_in(browser, topology, first, "customer3")
        cookie = session_cookie(browser)
        form = admin.get("/admin/login")
        credentials = {"username": topology.env["ADMIN_USER"], "password": topology.env["ADMIN_PASSWORD"]}
        assert admin.post(
            "/admin/login", data={"csrf_token": csrf_token(form.text), **credentials}
        ).is_redirect
        listed = admin.get("/admin/sessions", params={"q": "customer3"})
        assert listed.status_code == 200 and digest(cookie) in listed.text
        token = csrf_token(listed.text)

        def revoke() -> None:
            form = {"csrf_token": token, "session": digest(cookie), "q": "customer3", "page": "1"}
            assert admin.post("/admin/sessions/revoke", data=form).status_code == 303

        served = _refused_everywhere_within(topology, cookie, revoke)
    print(f"\nrevocation: last served {', '.join(f'{s:.2f} s' for s in served.values())} after it")


def _count_calls(topology: Topology, method: str, path: str) -> Callable[[], int]:
    """Count the JSM calls of `method` on paths containing `path` from now on: a `timeouts` fault of 0 s
    changes nothing but its own counter, which the emulator reports."""
    start = 1_000_000
    topology.faults(server_errors=0, timeouts=start, timeout_seconds=0.0, method=method, path=path)
    return lambda: start - int(topology.fault_plan()["timeouts"])


def _delivered(topology: Topology, tag: str, timeout: float = DELIVERY_TIMEOUT) -> dict[str, str]:
    """Wait until every stored submission tagged `tag` is delivered; summary by issue key."""
    deadline = time.monotonic() + timeout
    while True:
        rows = topology.query(
            "SELECT summary, state, issue_key FROM submissions WHERE summary LIKE $1", f"%{tag}%"
        )
        if rows and all(row["state"] == "done" for row in rows):
            keys = {row["issue_key"]: row["summary"] for row in rows}
            assert len(keys) == len(rows), "two submissions share an issue"
            return keys
        assert not any(row["state"] == "failed" for row in rows), [dict(row) for row in rows]
        assert time.monotonic() < deadline, f"not delivered in {timeout:.0f} s: {[dict(r) for r in rows]}"
        time.sleep(0.5)


def _submit(browser: httpx.Client, token: str, summary: str) -> httpx.Response:
    data = {"csrf_token": token, "summary": summary, "description": "Sent during the topology test."}
    return browser.post(CREATE, data=data)


@pytest.mark.usefixtures("faults_reset")
def test_submissions_stored_while_jsm_is_down_are_delivered_exactly_once(topology: Topology) -> None:
    tag = f"outage{secrets.token_hex(4)}"
    summaries = {f"Printer {n} is out of toner {tag}" for n in range(10)}
    with httpx.Client(base_url=topology.haproxy, timeout=30) as browser:
        sign_in(browser, topology, topology.haproxy, "customer4")
        token = csrf_token(browser.get(CREATE).text)
        # JSM refuses every new request (503): each is stored, its first try fails, the customer is told
        # it is on its way. Through HAProxy, so the ten land on all three instances.
        topology.faults(server_errors=1_000_000, method="POST", path=CREATE_PATH)
        for summary in sorted(summaries):
            answer = _submit(browser, token, summary)
            assert answer.status_code == 303 and "notice=pending" in answer.headers["location"], answer.text[
                :300
            ]
    refused = 1_000_000 - int(topology.fault_plan()["server_errors"])
    stored = topology.query("SELECT state FROM submissions WHERE summary LIKE $1", f"%{tag}%")
    assert [row["state"] for row in stored] == ["pending"] * 10
    assert topology.jsm_issues(tag) == {}
    began = time.monotonic()
    creates = _count_calls(topology, "POST", CREATE_PATH)  # JSM is back (server_errors 0)
    delivered = _delivered(topology, tag)
    took = time.monotonic() - began
    time.sleep(2)  # every instance's delivery loop has had another round (SUBMISSION_POLL_INTERVAL)
    assert set(delivered.values()) == summaries
    assert topology.jsm_issues(tag) == delivered  # each once in JSM, under the key Deskgate stored
    assert creates() == 10  # and sent once each after JSM came back
    print(f"\noutage: {refused} tries refused during it; all 10 delivered {took:.1f} s after JSM came back")


@pytest.mark.usefixtures("faults_reset")
def test_jira_refresh_reaches_the_catalogue_cache_of_every_instance(topology: Topology) -> None:
    with httpx.Client(timeout=30) as browser:
        sign_in(browser, topology, topology.haproxy, "customer6")
        cookies = {SESSION_COOKIE: session_cookie(browser)}

    def browse(url: str, times: int = 12) -> None:
        for _ in range(times):  # a new connection each time: both workers of the instance answer some
            assert httpx.get(url + "/portal", cookies=cookies, timeout=30).status_code == 200

    def desk_fetches() -> dict[str, int]:
        fetched = {}
        for url in topology.instances:
            count = _count_calls(topology, "GET", "/rest/servicedeskapi/servicedesk")
            browse(url)
            fetched[url] = count()
        return fetched

    for url in topology.instances:
        browse(url, 20)
    # Warm: the portal is served from each worker's cache. The topology outlives a test, so an entry an
    # earlier test filled may reach its TTL in between (or a worker got no warming request): it is fetched
    # once more, then served from the cache again. A round without any fetch must come, and soon.
    rounds = [desk_fetches()]
    while set(rounds[-1].values()) != {0} and len(rounds) < 4:
        rounds.append(desk_fetches())
    assert set(rounds[-1].values()) == {0}, f"JSM desk lists fetched per instance, round by round: {rounds}"
    command = [sys.executable, "-m", "deskgate.cli", "jira", "refresh", "--config", topology.env["CONFIG"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKGATE_")}
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    time.sleep(CONNECTION_CACHE_SECONDS + 0.5)  # every worker rereads the connection row by then
    after = desk_fetches()
    assert all(after.values()), f"JSM desk lists fetched per instance after the refresh: {after}"


LOAD_USERS = 30


def test_simulated_customers_sign_in_browse_raise_and_comment_without_one_error(
    topology: Topology, tmp_path: Path
) -> None:
    """bench/load.py (Locust) at a CI size: every customer signs in through the provider, then browses,
    raises requests and comments, all through HAProxy; not one request may fail."""

    def stored() -> int:
        rows = topology.query("SELECT count(*) AS n FROM submissions WHERE summary LIKE 'Laptop 9__-_ will%'")
        return int(rows[0]["n"])

    before = stored()
    result_file = tmp_path / "load.json"
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--topology", str(topology.dir)]
    command += ["--users", str(LOAD_USERS), "--spawn-rate", "10", "--duration", "20", "--think", "0.5", "1.5"]
    command += ["--first-customer", "901", "--json", str(result_file)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    print(f"\n{done.stdout}")
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-3000:]}"
    result = json.loads(result_file.read_text())
    assert (result["errors"], result["exceptions"], result["rate_limited_429"]) == (0, [], {})
    assert result["signed_in"] == {"ok": LOAD_USERS}
    assert result["sign_in"]["sign-in: IdP form, callback"]["requests"] == LOAD_USERS
    pages = result["pages"]
    for page in ("help center", "knowledge base search", "my requests", "request page", "create", "comment"):
        assert pages[page]["requests"] > 0, page
    assert stored() - before == result["requests_raised"] > 0  # each raised request was stored, once
    workers = [label for label in result["rss_mb"] if " worker " in label]
    assert len(workers) == 6 and all(result["rss_mb"][label] > 0 for label in workers), result["rss_mb"]
    # Where the CPU went while browsing: the instances, and the peers they called, each found by its tree.
    cpu = result["cpu_percent"]
    parts = ("deskgate (3 instances)", "jsm", "locust", "postgresql")
    assert all(cpu.get(part, 0) > 0 for part in parts), cpu


@pytest.mark.usefixtures("faults_reset")
def test_kill_9_of_one_instance_loses_no_session_and_no_submission(topology: Topology) -> None:
    tag = f"crash{secrets.token_hex(4)}"
    with httpx.Client(base_url=topology.haproxy, timeout=30) as browser:
        sign_in(browser, topology, topology.haproxy, "customer5")
        token = csrf_token(browser.get(CREATE).text)
        cookies = httpx.Cookies(browser.cookies)
    creates = _count_calls(topology, "POST", CREATE_PATH)
    stop = threading.Event()
    pages: list[tuple[str, int]] = []
    cut: list[str] = []  # answers the killed instance had begun to send: no proxy can retry those
    posts: dict[str, int] = {}

    def browse() -> None:
        with httpx.Client(base_url=topology.haproxy, cookies=cookies, timeout=30) as client:
            while not stop.is_set():
                for path in ("/me", "/portal", "/portal/requests"):
                    try:
                        pages.append((path, client.get(path).status_code))
                    except httpx.RemoteProtocolError as exc:  # headers came, the body never did
                        cut.append(path)
                        print(f"{path}: {exc!r}")
                    except httpx.HTTPError as exc:
                        pages.append((path, -1))
                        print(f"{path}: {exc!r}")

    def submit() -> None:
        with httpx.Client(base_url=topology.haproxy, cookies=cookies, timeout=30) as client:
            for n in range(9):  # one a second, under the customer's submission limit (10 an hour)
                summary = f"Request {n} made while an instance dies {tag}"
                try:
                    posts[summary] = _submit(client, token, summary).status_code
                except httpx.RemoteProtocolError:  # sent to the instance as it died: no answer, like a 502
                    posts[summary] = -1
                if stop.wait(0.9):
                    break

    threads = [threading.Thread(target=browse) for _ in range(3)] + [threading.Thread(target=submit)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        os.killpg(topology.pid("deskgate3"), signal.SIGKILL)  # the instance and its workers, at once
        killed_at = len(pages)
        time.sleep(5)  # HAProxy takes it out after inter 1 s x fall 2
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    failed = [(path, status) for path, status in pages if status != 200]
    assert not failed, f"{len(failed)} of {len(pages)} pages failed: {failed[:10]}"
    # Only a page the instance was in the middle of sending when it died may be lost, one per client at most.
    assert len(cut) <= 3, cut
    assert pages[killed_at:], "nothing was browsed after the kill"
    for url in [topology.haproxy, *topology.instances[:2]]:  # the session outlived its instance
        assert httpx.get(url + "/me", cookies=cookies, timeout=30).status_code == 200
    told_stored = {summary for summary, status in posts.items() if status == 303}
    assert told_stored and set(posts.values()) <= {303, 502, 503, -1}, posts
    delivered = _delivered(topology, tag)
    assert told_stored <= set(delivered.values())  # none the customer was told about is lost
    assert topology.jsm_issues(tag) == delivered  # and none is in JSM twice, or without its record
    print(
        f"\nkill -9: {len(pages)} pages, none failed; {len(posts)} submissions ({len(told_stored)} told "
        f"stored), {len(delivered)} delivered with {creates()} create calls"
    )
