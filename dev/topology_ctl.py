"""Several Deskgate instances behind HAProxy, as an operator runs them, on this machine (dev/topology).

    dev/topology up DIR [--workers 2] [--jsm-latency-ms 0]
    dev/topology start DIR NAME     start one stopped process again (e.g. deskgate3 after a kill -9)
    dev/topology replace DIR NAME [--src SRC]
                                    stop one instance gracefully and start it again on the code in SRC
                                    (another version's src/ directory; default: this checkout's)
    dev/topology down DIR           stop everything (SIGTERM, then SIGKILL) and drop the database

`up` starts, each in its own process group with its log (NAME.log) and pid (NAME.pid) in DIR: a fresh
PostgreSQL database on the local server, a key prefix of its own on the local Redis, the JSM emulator
(`deskgate jsm-sandbox`), the tests' OpenID provider (dev/topology_peer.py), the Deskgate instances
(three `deskgate serve`, as deploy/haproxy.cfg names three servers, all started at once on the fresh database, with one settings file: DIR/deskgate.yaml)
and HAProxy with deploy/haproxy.cfg. `up --src SRC` runs the instances on another version's code (its
src/ directory first on PYTHONPATH, with this checkout's virtualenv), as a rolling upgrade starts. It returns once HAProxy reports every instance up, and prints the
addresses as KEY=VALUE lines (also written to DIR/env). Everything listens on free loopback ports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis
import yaml

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_DSN = os.environ.get("DESKGATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DESKGATE_TEST_REDIS", "redis://127.0.0.1:6379/0")
START_TIMEOUT = 120.0  # several servers importing and migrating at once on two busy cores
STOP_TIMEOUT = 15.0  # `deskgate serve` drains for 2 s first
CLIENT_ID = "deskgate-topology"
ADMIN_USER = "admin"
EMULATOR_ACCOUNT = {"email": "deskgate-bot@example.com", "api_token": "emulator-api-token"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_env(**extra: str) -> dict[str, str]:
    # The settings file is the whole configuration: no DESKGATE_* of the caller may override it.
    keep = {k: v for k, v in os.environ.items() if not k.startswith("DESKGATE_")}
    if "DESKGATE_OIDC_PEER_DIR" in os.environ:
        keep["DESKGATE_OIDC_PEER_DIR"] = os.environ["DESKGATE_OIDC_PEER_DIR"]
    return keep | {"PYTHONUNBUFFERED": "1"} | extra


class Topology:
    """The state of one topology directory: what runs (DIR/state.json) and how to start it again."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory.resolve()
        self.state_file = self.dir / "state.json"
        self.state: dict[str, Any] = (
            json.loads(self.state_file.read_text()) if self.state_file.exists() else {"processes": {}}
        )

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state, indent=2))

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        """Start NAME in its own process group (a kill of the group ends its workers too)."""
        with (self.dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - fixed arguments
                args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        (self.dir / f"{name}.pid").write_text(f"{process.pid}\n")
        self.state["processes"][name] = {"pid": process.pid, "args": args, "env": env}
        self.save()

    def start_again(self, name: str) -> None:
        spec = self.state["processes"][name]
        if alive(spec["pid"]):
            raise SystemExit(f"topology: {name} is still running (pid {spec['pid']})")
        self.spawn(name, spec["args"], spec["env"])

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop_all(self) -> None:
        processes = self.state["processes"]
        for name in reversed(list(processes)):  # HAProxy first, the JSM emulator last
            # The main process only, as systemd's KillMode=mixed does: `deskgate serve` drains, then stops
            # its workers. Workers told directly stop at once, and the server starts new ones meanwhile.
            with contextlib.suppress(ProcessLookupError):
                os.kill(processes[name]["pid"], signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(alive(p["pid"]) for p in processes.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for name, spec in processes.items():
            if alive(spec["pid"]):
                print(f"topology: {name} did not stop within {STOP_TIMEOUT:.0f} s; killed", file=sys.stderr)
            _signal_group(spec["pid"], signal.SIGKILL)  # its workers too, should any outlive it
            (self.dir / f"{name}.pid").unlink(missing_ok=True)


def alive(pid: int) -> bool:
    """Running (a zombie that nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def wait_for(what: str, check: Any, topology: Topology, name: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    pid = topology.state["processes"][name]["pid"]
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        if not alive(pid):
            raise SystemExit(f"topology: {name} exited while starting:\n{topology.log_tail(name)}")
        time.sleep(0.1)
    raise SystemExit(f"topology: {what} not ready within {timeout:.0f} s:\n{topology.log_tail(name)}")


def answers(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == httpx.codes.OK


def haproxy_up(stats_url: str, servers: list[str]) -> bool:
    csv = httpx.get(stats_url + "/;csv", timeout=2).text
    rows = [line.split(",") for line in csv.splitlines() if line.startswith("deskgate,")]
    status = {row[1]: row[17] for row in rows}  # pxname, svname, … status is the 18th column
    return all(status.get(server) == "UP" for server in servers)


async def _pg(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def instance_env(src: Path | None) -> dict[str, str]:
    """The environment of a `deskgate serve` instance: this checkout's code, or the one in `src`."""
    env = {k: v for k, v in child_env().items() if k != "PYTHONPATH"}
    return env | {"PYTHONPATH": str(src.resolve())} if src else env


def up(topology: Topology, workers: int, jsm_latency_ms: int, src: Path | None = None) -> dict[str, str]:
    began = time.monotonic()
    if any(alive(p["pid"]) for p in topology.state["processes"].values()):
        raise SystemExit(f"topology: {topology.dir} is running already (dev/topology down {topology.dir})")
    token = secrets.token_hex(5)
    database = f"deskgate_topology_{token}"
    asyncio.run(_pg(f'CREATE DATABASE "{database}"'))
    database_url = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"
    topology.state.update(database=database, redis_prefix=f"deskgate-topology-{token}:session:", processes={})
    topology.save()
    ports = {name: free_port() for name in ("haproxy", "stats", "jsm", "oidc")}
    base_url = f"http://127.0.0.1:{ports['haproxy']}"
    jsm_url, stats_url = f"http://127.0.0.1:{ports['jsm']}", f"http://127.0.0.1:{ports['stats']}"
    python = [sys.executable, "-m", "deskgate.cli"]
    client_secret = secrets.token_urlsafe(24)

    # The peers first: every instance reads the IdP's discovery document and JSM when it starts serving.
    topology.spawn(
        "jsm", [*python, "jsm-sandbox", "--port", str(ports["jsm"]), "--latency-ms", str(jsm_latency_ms)],
        child_env(),
    )  # fmt: skip
    peer = [sys.executable, str(ROOT / "dev" / "topology_peer.py"), "--port", str(ports["oidc"])]
    peer += [
        "--base-url",
        base_url,
        "--client-id",
        CLIENT_ID,
        "--client-secret-env",
        "TOPOLOGY_CLIENT_SECRET",
    ]
    topology.spawn("oidc", peer, child_env(TOPOLOGY_CLIENT_SECRET=client_secret))
    issuer = f"http://127.0.0.1:{ports['oidc']}"
    wait_for("the JSM emulator", lambda: answers(jsm_url + "/__emulator__/faults"), topology, "jsm")
    discovery = issuer + "/.well-known/openid-configuration"
    wait_for("the OpenID provider", lambda: answers(discovery), topology, "oidc")

    config = topology.dir / "deskgate.yaml"
    settings = {
        "base_url": base_url,
        "secret_key": secrets.token_urlsafe(36),
        "database_url": database_url,
        "session_store": "redis",
        "redis_url": REDIS_URL,
        "redis_key_prefix": topology.state["redis_prefix"],
        "trusted_proxies": ["127.0.0.1"],
        "idps": [
            {
                "name": "topology",
                "title": "Topology IdP",
                "issuer": issuer,
                "client_id": CLIENT_ID,
                "client_secret": client_secret,
                "token_endpoint_auth_method": "client_secret_post",
            }
        ],
        "jsm": {"site_url": jsm_url, "deployment": "cloud", **EMULATOR_ACCOUNT},
    }
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    config.chmod(0o600)

    # All at once on the fresh database: they race to migrate and seed it (the start-up lock's job).
    instance_urls = {}
    for n in (1, 2, 3):
        port = free_port()
        instance_urls[f"deskgate{n}"] = f"http://127.0.0.1:{port}"
        serve = [*python, "serve", "--config", str(config), "--port", str(port), "--workers", str(workers)]
        topology.spawn(f"deskgate{n}", [*serve, "--drain-seconds", "2"], instance_env(src))
    for name, url in instance_urls.items():
        wait_for(name, lambda url=url: answers(url + "/readyz"), topology, name)
    instances_ready = time.monotonic() - began

    admin_password = secrets.token_urlsafe(18)
    subprocess.run(  # noqa: S603 - fixed arguments
        [*python, "admin", "create", ADMIN_USER, "--password-env", "TOPOLOGY_ADMIN_PASSWORD", "--config", str(config)],
        cwd=ROOT, env=instance_env(src) | {"TOPOLOGY_ADMIN_PASSWORD": admin_password}, check=True,
        capture_output=True,
    )  # fmt: skip

    servers = {
        f"DESKGATE_SERVER_{n}": url.removeprefix("http://") for n, url in enumerate(instance_urls.values(), 1)
    }
    haproxy_env = child_env(
        DESKGATE_LISTEN=f"127.0.0.1:{ports['haproxy']}", DESKGATE_HAPROXY_STATS=f"127.0.0.1:{ports['stats']}",
        **servers,
    )  # fmt: skip
    topology.spawn(
        "haproxy",
        [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
        haproxy_env,
    )
    wait_for("HAProxy", lambda: haproxy_up(stats_url, list(instance_urls)), topology, "haproxy")

    env = {
        "DESKGATE_URL": base_url,
        **{f"DESKGATE_{n}_URL": url for n, url in enumerate(instance_urls.values(), 1)},
        "HAPROXY_STATS_URL": stats_url,
        "JSM_URL": jsm_url,
        "OIDC_ISSUER": issuer,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": topology.state["redis_prefix"],
        "CONFIG": str(config),
        "ADMIN_USER": ADMIN_USER,
        "ADMIN_PASSWORD": admin_password,
        "INSTANCES_READY_SECONDS": f"{instances_ready:.1f}",
        "UP_SECONDS": f"{time.monotonic() - began:.1f}",
    }
    (topology.dir / "env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return env


def start(topology: Topology, name: str) -> None:
    """Start one process of the topology again and wait until it serves (and HAProxy sees it)."""
    topology.start_again(name)
    if name.startswith("deskgate"):
        wait_serving(topology, name)


def replace(topology: Topology, name: str, src: Path | None) -> None:
    """Stop instance NAME as systemd would (SIGTERM to the main process: it drains, HAProxy takes it out
    of rotation first) and start it again on the code in `src` (None: this checkout's)."""
    spec = topology.state["processes"][name]
    with contextlib.suppress(ProcessLookupError):
        os.kill(spec["pid"], signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while alive(spec["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(spec["pid"]):
        raise SystemExit(f"topology: {name} did not stop within {STOP_TIMEOUT:.0f} s")
    _signal_group(spec["pid"], signal.SIGKILL)  # a worker that outlived it, if any
    topology.spawn(name, spec["args"], instance_env(src))
    wait_serving(topology, name)


def wait_serving(topology: Topology, name: str) -> None:
    """Until instance NAME is ready and HAProxy has it back in rotation (only it: whether the others stay
    in rotation meanwhile is for the caller to judge)."""
    env = dict(line.split("=", 1) for line in (topology.dir / "env").read_text().splitlines())
    url = env[f"DESKGATE_{name.removeprefix('deskgate')}_URL"]
    wait_for(name, lambda: answers(url + "/readyz"), topology, name)
    wait_for("HAProxy", lambda: haproxy_up(env["HAPROXY_STATS_URL"], [name]), topology, "haproxy")


def down(topology: Topology) -> None:
    topology.stop_all()
    database, prefix = topology.state.get("database"), topology.state.get("redis_prefix")
    if database:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    if prefix:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
    topology.state_file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="dev/topology", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up_command = commands.add_parser("up", help="start everything in DIR")
    up_command.add_argument("dir", type=Path)
    up_command.add_argument("--workers", type=int, default=2)
    up_command.add_argument(
        "--jsm-latency-ms", type=int, default=0, help="added to every JSM call (100: WAN)"
    )
    up_command.add_argument("--src", type=Path, help="run the instances on the code in SRC (a src/ dir)")
    start_command = commands.add_parser("start", help="start one stopped process again")
    start_command.add_argument("dir", type=Path)
    start_command.add_argument("name")
    replace_command = commands.add_parser("replace", help="restart one instance on other code")
    replace_command.add_argument("dir", type=Path)
    replace_command.add_argument("name")
    replace_command.add_argument("--src", type=Path, help="the code to run (a src/ dir); default: this one")
    down_command = commands.add_parser("down", help="stop everything and drop the database")
    down_command.add_argument("dir", type=Path)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    topology = Topology(args.dir)
    if args.command == "up":
        try:
            env = up(topology, args.workers, args.jsm_latency_ms, args.src)
        except BaseException:
            down(topology)
            raise
        print("".join(f"{k}={v}\n" for k, v in env.items()), end="")
    elif args.command == "start":
        start(topology, args.name)
    elif args.command == "replace":
        replace(topology, args.name, args.src)
    else:
        down(topology)


if __name__ == "__main__":
    main()
