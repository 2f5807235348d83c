"""The processes the benchmark runs: Apache + mod_auth_openidc, and Deskgate under granian or uvicorn.

Each runs in its own process group, so that stopping it also stops its workers (Apache children, granian
workers) and nothing else. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

# What `deskgate serve` runs in every worker: settings from DESKGATE_* (and DESKGATE_CONFIG, unset here).
FACTORY = "deskgate.web.asgi:app_from_environment"
APACHE_MODULES = Path("/usr/lib/apache2/modules")
APT_PACKAGES = ("apache2", "libapache2-mod-auth-openidc", "wrk")
APACHE_PROTECTED_FILE = "/protected/index.json"
APACHE_REDIRECT_PATH = "/protected/redirect_uri"
# Small, like Deskgate's /me answer, so that both sides move about the same number of bytes.
STATIC_BODY = '{"idp":"bench","subject":"demo","email":"demo@example.com","name":"Demo Customer"}\n'


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or did not start; the message says what and why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_tools(*, install: bool, wrk: bool = True) -> None:
    """apache2, mod_auth_openidc and (unless `wrk` is False) wrk: present, or installed with apt-get (as
    root) when allowed."""
    missing = _missing_tools(wrk=wrk)
    if not missing:
        return
    if not install:
        raise BenchError(f"missing: {', '.join(missing)} (apt-get install -y {' '.join(APT_PACKAGES)})")
    if os.geteuid() != 0:
        raise BenchError(
            f"missing {', '.join(missing)} and not root: apt-get install -y {' '.join(APT_PACKAGES)}"
        )
    print(f"installing {' '.join(APT_PACKAGES)} (missing: {', '.join(missing)})", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", *APT_PACKAGES]):
        subprocess.run(command, check=True, env=env, timeout=900)  # noqa: S603 - fixed arguments
    if still := _missing_tools(wrk=wrk):
        raise BenchError(f"still missing after apt-get: {', '.join(still)}")


def tool(name: str) -> str:
    """The absolute path of a program on PATH (apache2 lives in /usr/sbin)."""
    path = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if path is None:
        raise BenchError(f"{name} is not installed")
    return path


def _missing_tools(*, wrk: bool) -> list[str]:
    missing = []
    for name in ("apache2", "wrk") if wrk else ("apache2",):
        try:
            tool(name)
        except BenchError:
            missing.append(name)
    if not (APACHE_MODULES / "mod_auth_openidc.so").is_file():
        missing.append("mod_auth_openidc")
    return missing


class Process:
    """A child in its own process group, its output in a log file; `stop()` ends the whole group."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("wb")
        self.popen = subprocess.Popen(  # noqa: S603 - arguments built here, no shell
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )

    def output(self, limit: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def wait_until_answering(self, url: str, *, timeout: float = 120.0) -> None:
        """Generous: two workers importing the app and migrating take a while on a busy shared machine.
        A server that never answers is stopped here: its caller has not registered it for stopping yet."""
        try:
            self._wait_until_answering(url, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_until_answering(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.popen.returncode}:\n{self.output()}")
            try:
                httpx.get(url, timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise BenchError(f"{self.name} did not answer {url} within {timeout:.0f} s:\n{self.output()}")

    def stop(self, *, grace: float = 10.0) -> None:
        """SIGTERM to the group, SIGKILL after `grace` seconds; safe to call twice."""
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait(timeout=5)
        # Workers that outlived their parent are still in the group (its id is the leader's pid).
        self._signal_group(signal.SIGKILL)
        self._log_file.close()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)


# -- Apache + mod_auth_openidc --------------------------------------------------------------------------


def apache_config(
    root: Path, port: int, *, discovery_url: str, client_id: str, client_secret: str, passphrase: str
) -> str:
    """A self-contained httpd.conf: mpm_event, mod_auth_openidc with server-side sessions in shared memory."""
    modules = "\n".join(
        f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so"
        for name in ("mpm_event", "authn_core", "authz_core", "authz_user", "mime")
    )
    user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    return f"""\
ServerRoot {root}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {root}/httpd.pid
DefaultRuntimeDir {root}/run
Mutex file:{root}/run default
ErrorLog {root}/error.log
LogLevel warn
{modules}
LoadModule auth_openidc_module {APACHE_MODULES}/mod_auth_openidc.so
{user}
TypesConfig /etc/mime.types

# Debian's mpm_event defaults, and unlimited keep-alive requests (generous to Apache under wrk).
StartServers 2
MinSpareThreads 25
MaxSpareThreads 75
ThreadLimit 64
ThreadsPerChild 25
MaxRequestWorkers 150
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5

DocumentRoot {root}/htdocs
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory {root}/htdocs>
    Require all granted
</Directory>

OIDCProviderMetadataURL {discovery_url}
OIDCClientID {client_id}
OIDCClientSecret {client_secret}
OIDCProviderTokenEndpointAuth client_secret_post
OIDCRedirectURI http://127.0.0.1:{port}{APACHE_REDIRECT_PATH}
OIDCCryptoPassphrase {passphrase}
OIDCScope "openid email profile"
OIDCSessionType server-cache
OIDCCacheType shm
# Room for every login of a run (the default 500 entries would evict the session wrk is using).
OIDCCacheShmMax 5000
OIDCSSLValidateServer Off

<Location /protected/>
    AuthType openid-connect
    Require valid-user
</Location>
"""


def start_apache(
    workdir: Path, port: int, *, discovery_url: str, client_id: str, client_secret: str, passphrase: str
) -> Process:
    root = workdir / "apache"
    (root / "run").mkdir(parents=True)
    (root / "htdocs" / "protected").mkdir(parents=True)
    (root / "htdocs" / "protected" / "index.json").write_text(STATIC_BODY)
    conf = root / "httpd.conf"
    conf.write_text(
        apache_config(
            root,
            port,
            discovery_url=discovery_url,
            client_id=client_id,
            client_secret=client_secret,
            passphrase=passphrase,
        )
    )
    conf.chmod(0o600)  # it holds the client secret and the crypto passphrase
    # Children run as www-data: they must reach the document root (the temp dirs are 0700 by default).
    for path in (workdir, root, root / "htdocs", root / "htdocs" / "protected"):
        path.chmod(0o755)
    apache2 = tool("apache2")
    check = subprocess.run(  # noqa: S603 - fixed arguments
        [apache2, "-f", str(conf), "-t"], capture_output=True, text=True, timeout=30, check=False
    )
    if check.returncode != 0:
        raise BenchError(f"apache2 -t refused the configuration:\n{check.stdout}{check.stderr}")
    process = Process("apache2", [apache2, "-f", str(conf), "-DFOREGROUND"], root / "stdout.log")
    process.wait_until_answering(f"http://127.0.0.1:{port}/")
    return process


# -- Deskgate ------------------------------------------------------------------------------------------


def deskgate_command(
    server: str, port: int, workers: int, extra: Sequence[str] = (), factory: str = FACTORY
) -> list[str]:
    """The server as `deskgate serve` runs it: the same factory, and the same options where there are any."""
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
            *extra, factory,
        ]  # fmt: skip
    if server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
            "--no-proxy-headers", "--no-access-log", *extra, factory,
        ]  # fmt: skip
    raise ValueError(f"unknown server {server!r}")


def start_deskgate(
    server: str,
    workdir: Path,
    port: int,
    *,
    workers: int,
    env: Mapping[str, str],
    extra_args: Sequence[str] = (),
    factory: str = FACTORY,
) -> Process:
    process = Process(
        f"deskgate ({server})",
        deskgate_command(server, port, workers, extra_args, factory),
        workdir / f"deskgate-{server}.log",
        # Only the settings given here: none of the caller's DESKGATE_* (or DESKGATE_CONFIG) leaks in.
        env={k: v for k, v in os.environ.items() if not k.startswith("DESKGATE_")} | dict(env),
        cwd=workdir,
    )
    process.wait_until_answering(f"http://127.0.0.1:{port}/me")
    return process
