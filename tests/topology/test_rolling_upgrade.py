"""A rolling upgrade on the topology: three instances of the previous version (built from git: the newest
commit whose migrations are an older point of this version's line) serve a migrated database; the first
instance replaced by this version migrates it while the others still run the previous code, an instance of
the previous version restarts on the newer schema, and then the rest are replaced one by one. A customer
browses through HAProxy all along: no page fails, the old instances stay ready, the session survives."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deskgate.store import compat
from tests.flow.browserless import csrf_token
from tests.topology.conftest import ROOT, TOPOLOGY, UP_TIMEOUT, Topology, sign_in

pytestmark = pytest.mark.topology

VERSIONS = "src/deskgate/store/migrations/versions"
VENDOR = "src/deskgate/web/static/vendor"  # generated (./dev/setup), not in git: the same for both
REPLACE_TIMEOUT = 180.0
_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = (None|\"([^\"]+)\")", re.MULTILINE)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def _migration_line(commit: str) -> list[str] | None:
    """The revisions of `commit`'s migrations, oldest first; None when they do not form one line."""
    parent_of: dict[str, str | None] = {}
    for path in _git("ls-tree", "--name-only", f"{commit}:{VERSIONS}").split():
        if not re.fullmatch(r"\d{4}_\w+\.py", path):
            continue
        text = _git("show", f"{commit}:{VERSIONS}/{path}")
        revision, down = _REVISION.search(text), _DOWN.search(text)
        assert revision and down, path
        parent_of[revision.group(1)] = down.group(2)
    children = [r for r in parent_of if r not in parent_of.values()]
    if len(children) != 1:
        return None
    line = [children[0]]
    while (parent := parent_of[line[-1]]) is not None:
        line.append(parent)
    return list(reversed(line)) if len(line) == len(parent_of) else None


def previous_version() -> tuple[str, str]:
    """The newest commit before this version's last migration (commit, its head revision): its line of
    migrations is a strict beginning of this version's."""
    ours = list(compat.code_revisions())
    for commit in _git("rev-list", "HEAD", "--", VERSIONS).split():
        candidate = _git("rev-parse", f"{commit}^").strip()
        line = _migration_line(candidate)
        if line and len(line) < len(ours) and ours[: len(line)] == line:
            return candidate, line[-1]
    raise AssertionError("no earlier version in git history")


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Topology, Path, str]]:
    """The topology with all three instances on the previous version; its src/ directory; its head."""
    commit, old_head = previous_version()
    old = tmp_path_factory.mktemp("previous")
    archive = subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    shutil.copytree(ROOT / VENDOR, old / VENDOR, dirs_exist_ok=True)
    directory = tmp_path_factory.mktemp("upgrade")
    try:
        done = subprocess.run(
            [str(TOPOLOGY), "up", str(directory), "--src", str(old / "src")],
            capture_output=True, text=True, timeout=UP_TIMEOUT,
        )  # fmt: skip
        assert done.returncode == 0, f"dev/topology up failed:\n{done.stdout}\n{done.stderr}"
        env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        print(f"\nprevious version: {commit[:10]} (migrations up to {old_head})")
        yield Topology(directory, env), old / "src", old_head
    finally:
        subprocess.run([str(TOPOLOGY), "down", str(directory)], timeout=120, check=False)


def _replace(topology: Topology, name: str, src: Path | None = None) -> float:
    began = time.monotonic()
    command = [str(TOPOLOGY), "replace", str(topology.dir), name, *(["--src", str(src)] if src else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=REPLACE_TIMEOUT)
    assert done.returncode == 0, f"{name}:\n{done.stdout}\n{done.stderr}"
    return time.monotonic() - began


def _errors(topology: Topology) -> str:
    """What the instances logged about failed requests (for the failure message)."""
    found = []
    for log in sorted(topology.dir.glob("deskgate*.log")):
        lines = log.read_text(errors="replace").splitlines()
        for n, line in enumerate(lines):
            if "Traceback" in line or " 500 " in line or "ERROR" in line:
                found.append(
                    f"{log.stem}: " + "\n".join(lines[n : n + 30] if "Traceback" in line else [line])
                )
    return "\n".join(found[:20])


def _schema(topology: Topology) -> str:
    return str(topology.query("SELECT version_num FROM alembic_version")[0]["version_num"])


def test_a_rolling_upgrade_keeps_serving(upgrade: tuple[Topology, Path, str]) -> None:
    topology, old_src, old_head = upgrade
    assert old_head != compat.head()
    assert _schema(topology) == old_head  # the previous version migrated the fresh database (to its head)
    with httpx.Client(base_url=topology.haproxy, timeout=30) as browser:
        sign_in(browser, topology, topology.haproxy, "customer1")
        token = csrf_token(browser.get("/portal/1/create/1").text)  # a form opened before the upgrade
        cookies = httpx.Cookies(browser.cookies)  # the session's and the form's (CSRF) cookies
    stop = threading.Event()
    pages: list[tuple[str, int]] = []
    ready: dict[str, list[tuple[bool, str]]] = {url: [] for url in topology.instances}
    migrated = threading.Event()
    old = set(topology.instances)  # instances running the previous version

    def browse() -> None:
        with httpx.Client(base_url=topology.haproxy, cookies=cookies, timeout=30) as client:
            while not stop.is_set():
                for path in ("/me", "/portal", "/portal/requests"):
                    try:
                        pages.append((path, client.get(path).status_code))
                    except httpx.HTTPError as exc:
                        pages.append((path, -1))
                        print(f"{path}: {exc!r}")

    def watch_readiness() -> None:  # what HAProxy asks each instance while it runs the previous version
        while not stop.wait(0.2):
            for url in list(old):
                try:
                    answer = httpx.get(url + "/readyz", timeout=5)
                except httpx.HTTPError:
                    continue  # being replaced: not listening (HAProxy redispatches)
                if url in old:
                    ready[url].append((migrated.is_set(), answer.text))

    threads = [threading.Thread(target=browse) for _ in range(2)] + [threading.Thread(target=watch_readiness)]
    for thread in threads:
        thread.start()
    took = {}
    try:
        time.sleep(2)
        # The first instance of this version migrates the shared schema under the running old ones.
        old.discard(topology.instances[0])
        took["deskgate1 (migrates)"] = _replace(topology, "deskgate1")
        assert _schema(topology) == compat.head()
        migrated.set()
        time.sleep(3)  # old instances serve on the newer schema, their readiness watched
        # An instance of the previous version restarts on the newer, compatible schema (it used to stop:
        # "Can't locate revision").
        took["deskgate3 (previous again)"] = _replace(topology, "deskgate3", old_src)
        assert (
            f"newer than this version's {old_head} and compatible"
            in (topology.dir / "deskgate3.log").read_text()
        )
        time.sleep(2)
        for n in (2, 3):
            old.discard(topology.instances[n - 1])
            took[f"deskgate{n}"] = _replace(topology, f"deskgate{n}")
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    failed = [(path, status) for path, status in pages if status != 200]
    assert not failed, f"{len(failed)} of {len(pages)} pages failed: {failed[:10]}\n{_errors(topology)}"
    # Before and after the migration, every old instance was ready, except while it drained to restart.
    answers = {text for said in ready.values() for _, text in said}
    assert answers <= {"ready", "not ready: draining"}, answers
    old_after = [url for url in topology.instances[1:] if any(m and t == "ready" for m, t in ready[url])]
    assert old_after == topology.instances[1:], ready  # both old ones served the migrated schema
    assert _schema(topology) == compat.head()
    for url in [topology.haproxy, *topology.instances]:  # the session outlived every instance it met
        assert httpx.get(url + "/me", cookies=cookies, timeout=30).status_code == 200
    with httpx.Client(base_url=topology.haproxy, cookies=cookies, timeout=30) as client:  # and the form
        summary = f"Raised after the upgrade {secrets.token_hex(4)}"
        data = {"csrf_token": token, "summary": summary, "description": "After a rolling upgrade."}
        assert client.post("/portal/1/create/1", data=data).status_code == 303
    print(
        f"\nrolling upgrade: {len(pages)} pages, none failed; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in took.items())
    )
