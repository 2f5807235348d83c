"""Deskgate against Apache + mod_auth_openidc, in one run, on loopback: `python bench/run.py --help`.

Starts the real OP (oidc-provider), Apache with mod_auth_openidc and Deskgate (under granian, and under
uvicorn for information), all at once; logs in through each; then times complete sequential logins hop by
hop, one RP after the other, and, in interleaved rounds, runs wrk against each protected resource with a
valid session cookie. Prints p50/p95 per hop, the callback ratio and the whole-share ratio (Deskgate's
requests / mod_auth_openidc's, the OP's own left out). Exit 0, or with --check 1 when a ratio is above 1.0.
See bench/README.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import deskgate  # noqa: F401 - only: is the project importable from this Python?
except ImportError:  # a plain `python bench/run.py`: run again with the project's virtualenv
    VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
    if VENV_PYTHON.is_file() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606 - the project's own interpreter
    raise

import argparse
import asyncio
import contextlib
import functools
import json
import secrets
import shutil
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import cpu
import httpx
from floor import CALLBACK_PATH as FLOOR_CALLBACK
from floor import COOKIE as FLOOR_COOKIE
from measure import (
    Login,
    LoginStats,
    backchannel_calls,
    login_once,
    measure_backchannel,
    run_logins,
    run_wrk,
)
from report import report
from servers import (
    APACHE_PROTECTED_FILE,
    APACHE_REDIRECT_PATH,
    FACTORY,
    BenchError,
    Process,
    deskgate_command,
    ensure_tools,
    free_port,
    start_apache,
    start_deskgate,
)

from deskgate.demo.oidc_peer import DEMO_ACCOUNTS, OidcPeer, PeerClient
from deskgate.services import CALLBACK_PATH, build_services
from deskgate.settings import load_settings

SERVERS = ("granian", "uvicorn")
BENCH = Path(__file__).resolve().parent
PROFILE_DIR_ENV = "DESKGATE_BENCH_PROFILE_DIR"  # read by bench/profiled.py


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--duration", type=int, default=10, help="seconds per measured wrk run; 0 skips wrk (default 10)")
    add("--warmup", type=int, default=1, help="seconds of wrk before each measured run (default 1)")
    add(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds over all RPs; medians are reported (default 3)",
    )
    add("--connections", type=int, default=50, help="wrk connections (default 50)")
    add("--threads", type=int, default=2, help="wrk threads (default 2)")
    add("--workers", type=int, default=2, help="Deskgate worker processes (default 2)")
    add("--logins", type=int, default=200, help="timed sequential logins per RP, interleaved (default 200)")
    add("--login-warmup", type=int, default=4, help="untimed logins per RP first (default 4)")
    add("--login-concurrency", type=int, default=0, help="clients for concurrent logins; 0 (default) skips")
    add("--backchannel-samples", type=int, default=20, help="token+userinfo samples; 0 skips (default 20)")
    add(
        "--servers",
        default=",".join(SERVERS),
        help="Deskgate servers; the first is compared (default granian,uvicorn)",
    )
    add("--granian-args", default="", help="extra granian options, e.g. '--task-impl rust'")
    add("--database", help="Deskgate's database URL (e.g. postgresql://…; default: a SQLite file)")
    add(
        "--floor",
        action="store_true",
        help="also time a bare Python RP (bench/floor.py: two calls to the OP, no checks) under granian",
    )
    add("--profile", type=Path, help="profile Deskgate's callback with pyinstrument, write it in this dir")
    add("--check", action="store_true", help="exit 1 when the callback or whole-share ratio is above 1.0")
    add("--json", type=Path, help="also write the results to this file")
    add("--no-install", action="store_true", help="fail instead of apt-get installing missing tools")
    args = parser.parse_args(argv)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not args.servers or any(s not in SERVERS for s in args.servers):
        parser.error("--servers takes granian and/or uvicorn")
    if min(args.connections, args.threads, args.workers, args.logins, args.rounds) < 1:
        parser.error("--connections, --threads, --workers, --logins and --rounds must be ≥ 1")
    if args.duration < 0:
        parser.error("--duration must be ≥ 0")
    return args


@dataclass
class Target:
    """One relying party under test, and what was measured of it."""

    key: str
    label: str
    resource: str
    login_start: str
    cookie_name: str
    stranger_statuses: tuple[int, ...]
    process: Process
    cookie: str = ""
    wrk_runs: list[dict[str, Any]] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)
    login_seconds: float = 0.0
    concurrent_logins: list[Login] = field(default_factory=list)
    concurrent_seconds: float = 0.0
    backchannel_calls: list[str] = field(default_factory=list)

    def check(self) -> None:
        """200 with the session cookie, and the RP's refusal without it."""
        with_cookie = httpx.get(self.resource, headers={"Cookie": self.cookie}, timeout=10)
        if with_cookie.status_code != httpx.codes.OK:
            raise BenchError(
                f"{self.label}: {self.resource} with the session answered {with_cookie.status_code}"
            )
        stranger = httpx.get(self.resource, timeout=10)
        if stranger.status_code not in self.stranger_statuses:
            raise BenchError(
                f"{self.label}: {self.resource} without a session answered {stranger.status_code}"
            )
        if self.process.popen.poll() is not None:
            raise BenchError(f"{self.label} exited:\n{self.process.output()}")


class Bench:
    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
        self.args = args
        self.stack = stack
        self.workdir = Path(tempfile.mkdtemp(prefix="deskgate-bench-"))
        stack.callback(shutil.rmtree, self.workdir, ignore_errors=True)
        self.account = DEMO_ACCOUNTS[0]
        self.apache_port = free_port()
        self.deskgate_ports = {server: free_port() for server in args.servers}
        self.floor_port = free_port()
        self.secrets = {name: secrets.token_urlsafe(24) for name in ("apache", "deskgate", "floor")}
        self.peer = OidcPeer(
            clients=[
                PeerClient("apache", self.secrets["apache"], [self._apache_url(APACHE_REDIRECT_PATH)]),
                PeerClient(
                    "deskgate", self.secrets["deskgate"], [self._deskgate_callback(s) for s in args.servers]
                ),
                PeerClient("floor", self.secrets["floor"], [self._floor_url(FLOOR_CALLBACK)]),
            ],
            accounts=DEMO_ACCOUNTS,
        )
        self.targets: list[Target] = []

    def print_logs(self) -> None:
        for target in self.targets:
            if output := target.process.output().strip():
                print(f"--- {target.label}, the end of its log:\n{output}", file=sys.stderr)
        error_log = self.workdir / "apache" / "error.log"
        if error_log.is_file():
            print(f"--- Apache error.log:\n{error_log.read_text(errors='replace')[-3000:]}", file=sys.stderr)

    def _apache_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.apache_port}{path}"

    def _floor_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.floor_port}{path}"

    def _deskgate_callback(self, server: str) -> str:
        return f"http://127.0.0.1:{self.deskgate_ports[server]}{CALLBACK_PATH}"

    # -- start-up ------------------------------------------------------------------------------------

    def start(self) -> None:
        print(f"starting the OP (oidc-provider); work dir {self.workdir}", flush=True)
        self.stack.enter_context(self.peer)
        print(f"  OP at {self.peer.issuer}", flush=True)
        print(f"starting Apache + mod_auth_openidc on :{self.apache_port}", flush=True)
        apache = start_apache(
            self.workdir,
            self.apache_port,
            discovery_url=f"{self.peer.issuer}/.well-known/openid-configuration",
            client_id="apache",
            client_secret=self.secrets["apache"],
            passphrase=secrets.token_urlsafe(32),
        )
        self.stack.callback(apache.stop)
        resource = self._apache_url(APACHE_PROTECTED_FILE)
        self.targets.append(
            Target(
                "apache",
                "Apache + mod_auth_openidc",
                resource,
                resource,
                "mod_auth_openidc_session",
                (302,),
                apache,
            )
        )
        for server in self.args.servers:
            self.targets.append(self._start_deskgate(server))
        if self.args.floor:
            self.targets.append(self._start_floor())
        for target in self.targets:
            for _ in range(self.args.login_warmup):
                login_once(self.peer, target.login_start, self.account, target.cookie_name)
            target.backchannel_calls = backchannel_calls(self.peer, functools.partial(self._sign_in, target))
            target.check()
            print(f"  {target.label}: signed in; its session works on {target.resource}", flush=True)

    def _sign_in(self, target: Target) -> None:
        _login, value = login_once(self.peer, target.login_start, self.account, target.cookie_name)
        target.cookie = f"{target.cookie_name}={value}"

    def _start_deskgate(self, server: str) -> Target:
        port = self.deskgate_ports[server]
        base = f"http://127.0.0.1:{port}"
        data_dir = self.workdir / f"deskgate-{server}"
        data_dir.mkdir()
        idp = {
            "name": "bench",
            "title": "Bench OP",
            "issuer": self.peer.issuer,
            "client_id": "deskgate",
            "client_secret": self.secrets["deskgate"],
            "token_endpoint_auth_method": "client_secret_post",
            "scopes": ["openid", "email", "profile"],
        }
        env = {
            "DESKGATE_BASE_URL": base,
            "DESKGATE_SECRET_KEY": secrets.token_urlsafe(48),
            "DESKGATE_DATABASE_URL": self.args.database or f"sqlite:///{data_dir / 'deskgate.db'}",
            "DESKGATE_IDPS": json.dumps([idp]),
            "DESKGATE_LOG_LEVEL": "WARNING",
        }
        asyncio.run(_prepare_database(env))  # once, here: workers starting together would all migrate
        print(f"starting Deskgate under {server} on :{port} ({self.args.workers} workers)", flush=True)
        extra = self.args.granian_args.split() if server == "granian" else []
        factory = FACTORY
        if self.args.profile:
            factory = "profiled:app"
            env |= {PROFILE_DIR_ENV: str(self.args.profile.resolve() / server), "PYTHONPATH": str(BENCH)}
        process = start_deskgate(
            server, self.workdir, port, workers=self.args.workers, env=env, extra_args=extra, factory=factory
        )
        self.stack.callback(process.stop)
        # /me answers 401 to a stranger (it is an API); a login starts where a protected page sends one.
        return Target(f"deskgate-{server}", f"Deskgate ({server})", base + "/me", base + "/login?next=/me",
                      "deskgate_session", (401,), process)  # fmt: skip

    def _start_floor(self) -> Target:
        env = {
            "FLOOR_BASE_URL": self._floor_url(""),
            "FLOOR_ISSUER": self.peer.issuer,
            "FLOOR_CLIENT_ID": "floor",
            "FLOOR_CLIENT_SECRET": self.secrets["floor"],
            "PYTHONPATH": str(BENCH),
        }
        print(
            f"starting the bare Python RP under granian on :{self.floor_port} ({self.args.workers} workers)"
        )
        command = deskgate_command("granian", self.floor_port, self.args.workers, factory="floor:app")
        process = Process(
            "floor", command, self.workdir / "floor.log", env=os.environ | env, cwd=self.workdir
        )
        process.wait_until_answering(self._floor_url("/me"))
        self.stack.callback(process.stop)
        return Target("floor", "bare Python RP (floor)", self._floor_url("/me"), self._floor_url("/login"),
                      FLOOR_COOKIE, (401,), process)  # fmt: skip

    # -- measurements --------------------------------------------------------------------------------

    def measure(self) -> dict[str, Any]:
        args = self.args
        load_before = os.getloadavg()
        for round_no in range(args.rounds if args.duration > 0 else 0):
            # Each round starts with the next RP, so no RP is always measured first (or last).
            order = (
                self.targets[round_no % len(self.targets) :] + self.targets[: round_no % len(self.targets)]
            )
            for target in order:
                self._wrk(target, round_no)
        # Sequential logins one RP after the other, each time starting with the next: a change in the
        # machine's load touches every RP alike.
        for number in range(args.logins):
            shift = number % len(self.targets)
            for target in self.targets[shift:] + self.targets[:shift]:
                logins, seconds = run_logins(
                    self.peer, target.login_start, self.account, target.cookie_name, count=1
                )
                target.logins += logins
                target.login_seconds += seconds
            if (number + 1) % 50 == 0:
                print(f"  sequential logins: {number + 1}/{args.logins} per RP", flush=True)
        if args.login_concurrency > 0:
            for target in self.targets:
                logins, seconds = run_logins(
                    self.peer,
                    target.login_start,
                    self.account,
                    target.cookie_name,
                    count=max(args.logins // 4, args.login_concurrency),
                    concurrency=args.login_concurrency,
                )
                target.concurrent_logins += logins
                target.concurrent_seconds += seconds
        backchannel = None
        if args.backchannel_samples > 0:
            backchannel = measure_backchannel(
                self.peer,
                client_id="deskgate",
                client_secret=self.secrets["deskgate"],
                redirect_uri=self._deskgate_callback(args.servers[0]),
                account=self.account,
                count=args.backchannel_samples,
            )
        for target in self.targets:
            target.check()
        return {
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "cpus": os.cpu_count(),
            "backchannel": backchannel.as_dict() if backchannel else None,
            "targets": {t.key: self._summary(t) for t in self.targets},
        }

    def _wrk(self, target: Target, round_no: int) -> None:
        args = self.args
        target.check()
        if args.warmup > 0:
            run_wrk(
                target.resource,
                target.cookie,
                threads=args.threads,
                connections=args.connections,
                duration=args.warmup,
            )
        groups = [t.process.popen.pid for t in self.targets]  # each leads its own process group
        before = cpu.snapshot(groups)
        result = run_wrk(
            target.resource,
            target.cookie,
            threads=args.threads,
            connections=args.connections,
            duration=args.duration,
        )
        others = cpu.others_share(before, cpu.snapshot(groups))
        target.check()  # the session held for the whole run
        if result.non_2xx_3xx:
            raise BenchError(
                f"{target.label}: {result.non_2xx_3xx} non-2xx answers under wrk:\n{result.output}"
            )
        target.wrk_runs.append(result.as_dict() | {"round": round_no + 1, "others_cpu_share": others})
        noise = f" (other processes used {others:.0%} of the CPUs meanwhile)" if others is not None else ""
        print(
            f"  round {round_no + 1}/{args.rounds} {target.label}: {result.requests_per_second:,.0f} req/s{noise}",
            flush=True,
        )

    def _summary(self, target: Target) -> dict[str, Any]:
        rps = [run["requests_per_second"] for run in target.wrk_runs]
        concurrent = (
            LoginStats.of(target.concurrent_logins, self.args.login_concurrency, target.concurrent_seconds)
            if target.concurrent_logins
            else None
        )
        return {
            "label": target.label,
            "resource": target.resource,
            "login_start": target.login_start,
            "requests_per_second_median": statistics.median(rps) if rps else None,
            "requests_per_second_runs": rps,
            "latency_ms_median": (
                statistics.median(run["latency_avg_ms"] for run in target.wrk_runs) if rps else None
            ),
            "wrk_runs": target.wrk_runs,
            "logins_sequential": LoginStats.of(target.logins, 1, target.login_seconds).as_dict(),
            "logins_concurrent": concurrent.as_dict() if concurrent else None,
            "backchannel_calls_per_login": target.backchannel_calls,
        }


async def _prepare_database(env: dict[str, str]) -> None:
    settings = load_settings(
        base_url=env["DESKGATE_BASE_URL"],
        secret_key=env["DESKGATE_SECRET_KEY"],
        database_url=env["DESKGATE_DATABASE_URL"],
        idps=json.loads(env["DESKGATE_IDPS"]),
    )
    services = await build_services(settings)
    await services.aclose()


def _terminate(signum: int, _frame: FrameType | None) -> None:
    print(f"stopping on signal {signum}: stopping the servers, removing the work dir", file=sys.stderr)
    raise SystemExit(128 + signum)  # unwinds the ExitStack: every process stopped, every temp dir removed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    started = time.monotonic()
    try:
        ensure_tools(install=not args.no_install, wrk=args.duration > 0)
        with contextlib.ExitStack() as stack:
            bench = Bench(args, stack)
            try:
                bench.start()
                results = bench.measure()
            except BenchError:
                bench.print_logs()  # before the ExitStack stops the servers and removes their logs
                raise
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    ratios = report(results, args)
    print(f"(whole run: {time.monotonic() - started:.0f} s; everything stopped and removed)")
    if args.profile:
        print(f"callback profiles (one per worker): {args.profile.resolve()}/*/callback-*.txt")
    if args.json:
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        document = {"settings": settings, "results": results, "ratios": ratios}
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"results written to {args.json}")
    if args.check and not ratios["met"]:
        print("--check: a ratio is above 1.0", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
