"""The portal under load on the topology (dev/topology), with Locust: `python bench/load.py --help`.

    python bench/load.py                      brings a topology up (JSM latency 100 ms), runs, takes it down
    python bench/load.py --topology DIR       on one already up (`dev/topology up DIR --jsm-latency-ms 100`)

`--users` simulated customers (bench/locustfile.py: each signs in for real through the OpenID provider,
then browses, raises requests and comments) are started at `--spawn-rate` a second; once every one has
signed in (timed apart), all of them run for `--duration` seconds, every request through HAProxy. It
prints, per page, requests, errors, p50 and p95; the request rate; the 429s of the product's own limits
(apart: not errors); the resident memory of every `deskgate serve` process (the largest seen while it ran,
sampled each second); and the CPU each part used while browsing (the instances, the JSM emulator, the
OpenID provider, HAProxy, PostgreSQL, Redis, Locust itself, the rest). `--json FILE` writes
the same. Exit status 1 when any request failed or a simulated customer raised an exception.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import deskgate  # noqa: F401 - only: is the project importable from this Python?
except ImportError:  # a plain `python bench/load.py`: run again with the project's virtualenv
    VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
    if VENV_PYTHON.is_file() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606 - the project's own interpreter
    raise

from gevent import monkey

monkey.patch_all()  # before anything opens a socket (Locust's users are greenlets)

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust import between  # noqa: E402
from locust.env import Environment  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import locustfile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIGN_IN_TIMEOUT = 600.0
INSTANCES = ("deskgate1", "deskgate2", "deskgate3")
PAGE_ORDER = (
    "sign-in: to the IdP", "sign-in: IdP form, callback", "sign-in: redirects", "help center",
    "knowledge base search", "my requests", "request page", "create form", "create", "comment",
)  # fmt: skip


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((li for li in status.splitlines() if li.startswith("VmRSS:")), None)
    return int(line.split()[1]) / 1024 if line else None


def serve_processes(directory: Path) -> dict[str, int]:
    """Each instance's main process and its workers (its children, less multiprocessing's helper)."""
    found: dict[str, int] = {}
    mains = {
        int((directory / f"{n}.pid").read_text()): n for n in INSTANCES if (directory / f"{n}.pid").exists()
    }
    for main, name in mains.items():
        found[f"{name} main"] = main
    workers = {name: itertools.count(1) for name in mains.values()}
    for entry in sorted(Path("/proc").iterdir(), key=lambda p: p.name):
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if parent in mains and "resource_tracker" not in command:
            found[f"{mains[parent]} worker {next(workers[mains[parent]])}"] = int(entry.name)
    return found


COMPONENTS = ("deskgate1", "deskgate2", "deskgate3", "jsm", "oidc", "haproxy")
BY_COMMAND = {"postgres": "postgresql", "redis-server": "redis"}  # services the topology shares, by name


def cpu_by_component(directory: Path) -> Counter[str]:
    """CPU seconds used so far by each part of the run: each topology process with its children (from its
    pid file), PostgreSQL and Redis (by command), Locust (this process), and the rest of the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    roots = {
        int((directory / f"{n}.pid").read_text()): n for n in COMPONENTS if (directory / f"{n}.pid").exists()
    }
    roots[os.getpid()] = "locust"
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        parents[pid], names[pid] = int(fields[1]), stat[stat.index("(") + 1 : stat.rindex(")")]
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime

    def component(pid: int) -> str:
        seen, walk = set(), pid
        while walk not in roots and walk in parents and walk not in seen and walk > 1:
            seen.add(walk)
            walk = parents[walk]
        return roots.get(walk) or BY_COMMAND.get(names[pid], "other")

    used: Counter[str] = Counter()
    for pid, count in ticks.items():
        used[component(pid)] += count / tick
    return used


def cpu_share(before: Counter[str], after: Counter[str], seconds: float) -> dict[str, float]:
    """Each component's share of one core over `seconds` (100 = a whole core), largest first."""
    deskgate = sum((after[n] - before[n] for n in COMPONENTS[:3]), 0.0)
    shares = {"deskgate (3 instances)": deskgate} | {
        name: after[name] - before[name] for name in after if name not in COMPONENTS[:3]
    }
    return {
        name: round(100 * used / seconds)
        for name, used in sorted(shares.items(), key=lambda item: -item[1])
        if used > 0
    }


def sample_memory(directory: Path, peaks: dict[str, float], stop: list[bool]) -> None:
    processes = serve_processes(directory)
    while not stop:
        for label, pid in processes.items():
            value = rss_mb(pid)
            if value is not None:
                peaks[label] = max(peaks.get(label, 0.0), value)
        gevent.sleep(1)


def run(
    directory: Path, users: int, spawn_rate: float, duration: float, first: int, think: tuple[float, float]
) -> dict[str, Any]:
    env_file = dict(line.split("=", 1) for line in (directory / "env").read_text().splitlines())
    locustfile.start_numbering(first)
    locustfile.Customer.wait_time = between(*think)
    environment = Environment(user_classes=[locustfile.Customer], host=env_file["DESKGATE_URL"])
    runner = environment.create_local_runner()
    peaks: dict[str, float] = {}
    stop: list[bool] = []
    sampler = gevent.spawn(sample_memory, directory, peaks, stop)
    began = time.monotonic()
    runner.start(users, spawn_rate=spawn_rate)
    # Every customer signs in first (timed on its own); the measured run starts once all have.
    while sum(locustfile.SIGN_INS.values()) < users and time.monotonic() - began < SIGN_IN_TIMEOUT:
        gevent.sleep(0.2)
    signing_in = time.monotonic() - began
    sign_in = pages(environment, lambda name: name.startswith("sign-in"))
    warm_up_errors = error_kinds(environment)
    environment.stats.reset_all()
    measured, cpu_before = time.monotonic(), cpu_by_component(directory)
    gevent.sleep(duration)
    cpu_after = cpu_by_component(directory)
    runner.quit()
    elapsed = time.monotonic() - measured
    stop.append(True)
    sampler.join()
    stats = environment.stats
    return {
        "users": users,
        "think_s": list(think),
        "customers": f"customer{first}..customer{first + users - 1}",
        "signed_in": dict(locustfile.SIGN_INS),
        "sign_in_s": round(signing_in, 1),
        "sign_in": sign_in,
        "duration_s": round(elapsed, 1),
        "requests": stats.total.num_requests,
        "errors": stats.total.num_failures + warm_up_errors.total(),
        "error_kinds": dict(warm_up_errors + error_kinds(environment)),
        "exceptions": [str(e["msg"]) for e in runner.exceptions.values()],
        "requests_per_s": round(stats.total.num_requests / elapsed, 1),
        "rate_limited_429": dict(locustfile.LIMITED),
        "requests_raised": locustfile.CREATED["requests"],
        "pages": pages(environment, lambda name: True),
        "rss_mb": {label: round(value) for label, value in sorted(peaks.items())},
        "cpu_percent": cpu_share(cpu_before, cpu_after, elapsed),
        "cores": os.cpu_count(),
    }


def error_kinds(environment: Environment) -> Counter[str]:
    """How many requests failed with each message, whichever page (Locust keeps them by page too)."""
    kinds: Counter[str] = Counter()
    for entry in environment.stats.errors.values():
        kinds[str(entry.error)] += entry.occurrences
    return kinds


def pages(environment: Environment, wanted: Callable[[str], bool]) -> dict[str, dict[str, int]]:
    """Requests, errors and response times of each page (Locust's request name) that is `wanted`."""
    result = {}
    for (name, _method), entry in sorted(
        environment.stats.entries.items(), key=lambda item: _order(item[0][0])
    ):
        if entry.num_requests and wanted(name):
            result[name] = {
                "requests": entry.num_requests,
                "errors": entry.num_failures,
                "p50_ms": round(entry.get_response_time_percentile(0.5) or 0),
                "p95_ms": round(entry.get_response_time_percentile(0.95) or 0),
                "max_ms": round(entry.max_response_time or 0),
            }
    return result


def _order(name: str) -> int:
    return PAGE_ORDER.index(name) if name in PAGE_ORDER else len(PAGE_ORDER)


def report(result: dict[str, Any]) -> str:
    head = f"{'page':<30}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"

    def table(pages: dict[str, dict[str, int]]) -> list[str]:
        return [
            f"{name:<30}{p['requests']:>9}{p['errors']:>8}{p['p50_ms']:>9}{p['p95_ms']:>9}{p['max_ms']:>9}"
            for name, p in pages.items()
        ]

    lines = [
        f"{result['users']} customers ({result['customers']}) through HAProxy, "
        f"{result['think_s'][0]}-{result['think_s'][1]} s between pages",
        f"sign-in of every customer (all started, then browsing as they finish): {result['sign_in_s']} s, "
        f"{result['signed_in']}",
        head,
        *table(result["sign_in"]),
        f"then all of them for {result['duration_s']} s:",
        head,
        *table(result["pages"]),
    ]
    verdict = "ok" if not result["errors"] and not result["exceptions"] else "FAILED"
    lines.append(
        f"{result['requests']} requests, {result['requests_per_s']} req/s; errors: {result['errors']} ({verdict}); "
        f"429 from the product's limits: {sum(result['rate_limited_429'].values())}"
    )
    lines += [f"  error: {kind} x{count}" for kind, count in result["error_kinds"].items()]
    lines += [f"  exception: {text}" for text in result["exceptions"]]
    memory = ", ".join(f"{k} {v}" for k, v in result["rss_mb"].items())
    lines.append(f"memory (largest RSS during the run, MB): {memory}")
    cpu = ", ".join(f"{k} {v}" for k, v in result["cpu_percent"].items())
    lines.append(
        f"CPU while browsing (% of one core; {result['cores']} cores = {100 * result['cores']}): {cpu}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", type=Path, help="a topology already up (dev/topology up DIR)")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--spawn-rate", type=float, default=25.0, help="users started a second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds, spawning included")
    parser.add_argument(
        "--think", type=float, nargs=2, default=(1.5, 3.5), metavar=("MIN", "MAX"),
        help="seconds a customer waits between pages",
    )  # fmt: skip
    parser.add_argument("--first-customer", type=int, default=101, help="customer<N> of the first user")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    if args.first_customer + args.users - 1 > 1000:
        parser.error("the topology's OpenID provider knows customer1..customer1000")
    own = None
    directory = args.topology
    if directory is None:
        own = Path(tempfile.mkdtemp(prefix="deskgate-load-"))
        topology = [str(ROOT / "dev" / "topology")]
        up = [*topology, "up", str(own), "--jsm-latency-ms", "100"]
        subprocess.run(up, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - fixed arguments
        directory = own
    try:
        result = run(
            directory.resolve(), args.users, args.spawn_rate, args.duration, args.first_customer, args.think
        )
    finally:
        if own is not None:
            subprocess.run([*topology, "down", str(own)], check=False)  # noqa: S603
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    sys.exit(1 if result["errors"] or result["exceptions"] else 0)


if __name__ == "__main__":
    main()
