"""Start a real OpenID Provider on loopback, shaped like Gluu Server, for the demo and the flow tests.

The provider is panva's OpenID-certified npm ``oidc-provider`` driven by ``peers/oidc-provider/server.mjs``;
this module installs it, writes its configuration, runs it under Node, waits until discovery answers and
stops it again. Its neighbours hold the rest, re-exported here so callers import from one place:

- ``oidc_peer_config``: ``PeerClient``, ``PeerAccount``, ``PeerPages``, ``DEMO_ACCOUNTS`` and the
  configuration file;
- ``oidc_peer_http``: driving the provider's HTML pages (login form, logout confirmation) over plain
  HTTP, so flow tests can run without a browser (``OidcPeer.login_over_http`` and friends).

    with OidcPeer(clients=[PeerClient("rp", "secret", [callback])], accounts=DEMO_ACCOUNTS) as peer:
        peer.discovery["authorization_endpoint"]  # http://127.0.0.1:PORT/oxauth/restv1/authorize
"""

from __future__ import annotations

import collections
import json
import logging
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NoReturn, Self
from urllib.parse import urlsplit

import httpx

from deskgate.demo.oidc_peer_config import (
    DEMO_ACCOUNTS,
    PeerAccount,
    PeerClient,
    PeerPages,
    peer_config,
    signing_key,
)
from deskgate.demo.oidc_peer_http import complete_logout_over_http, login_over_http

__all__ = [
    "DEMO_ACCOUNTS",
    "OidcPeer",
    "PeerAccount",
    "PeerClient",
    "PeerPages",
    "PeerStartError",
    "default_peer_dir",
    "ensure_installed",
]

READY_PREFIX = "deskgate-oidc-peer ready issuer="
START_ATTEMPTS = 3

log = logging.getLogger("deskgate.demo")


class PeerStartError(RuntimeError):
    """The provider could not be installed or started; the message carries its output."""


class PeerStuck(PeerStartError):
    """The provider is running but never said it listens (`start` tries again)."""


def default_peer_dir() -> Path:
    """The repository's ``peers/oidc-provider``, or ``$DESKGATE_OIDC_PEER_DIR`` when set."""
    override = os.environ.get("DESKGATE_OIDC_PEER_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "peers" / "oidc-provider"


def ensure_installed(peer_dir: Path, *, npm: str = "npm") -> None:
    """Install the provider from the lock file (``npm ci``) unless it is there already."""
    if (peer_dir / "node_modules" / "oidc-provider" / "package.json").is_file():
        return
    if not (peer_dir / "package-lock.json").is_file():
        raise PeerStartError(f"no package-lock.json in {peer_dir}: is this the oidc-provider peer?")
    try:
        subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=peer_dir,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except FileNotFoundError as exc:
        raise PeerStartError(f"cannot run {npm!r}: is Node.js installed?") from exc
    except subprocess.CalledProcessError as exc:
        raise PeerStartError(f"npm ci failed in {peer_dir}:\n{exc.stdout}{exc.stderr}") from exc
    except subprocess.TimeoutExpired as exc:
        raise PeerStartError(f"npm ci timed out in {peer_dir}") from exc


class OidcPeer:
    """A running oidc-provider; use it as a context manager, or call ``start()`` and ``stop()``.

    ``issuer``, ``origin`` and ``discovery`` are known once started. The provider's request log (method,
    path, status; never a secret) is kept in ``output`` for assertions and error messages.
    """

    def __init__(
        self,
        *,
        clients: Sequence[PeerClient],
        accounts: Sequence[PeerAccount],
        gluu_paths: bool = True,
        claims_in_id_token: bool = True,
        pairwise: bool = False,
        port: int = 0,
        peer_dir: Path | None = None,
        test_admin: bool = True,
        node: str = "node",
        issuer_path: str = "",
        scope_claims: Mapping[str, Sequence[str]] | None = None,
        ttl: Mapping[str, int] | None = None,
        startup_timeout: float = 20.0,  # per attempt (see START_ATTEMPTS); it starts in about 1 s
        tls: tuple[Path, Path] | None = None,
        pages: PeerPages | None = None,
    ) -> None:
        self.peer_dir = peer_dir or default_peer_dir()
        self.node = node
        self.startup_timeout = startup_timeout
        self.config: dict[str, Any] = peer_config(
            clients=clients,
            accounts=accounts,
            gluu_paths=gluu_paths,
            claims_in_id_token=claims_in_id_token,
            pairwise=pairwise,
            port=port,
            test_admin=test_admin,
            issuer_path=issuer_path,
            scope_claims=scope_claims,
            ttl=ttl,
            tls=tls,
            pages=pages,
        )
        # (certificate, key) PEM files: the provider speaks https, and this launcher trusts that certificate.
        self._verify: ssl.SSLContext | bool = True
        if tls is not None:
            self._verify = ssl.create_default_context(cafile=str(tls[0]))
        self.issuer = ""
        self.origin = ""
        self.discovery: dict[str, Any] = {}
        self._output: collections.deque[str] = collections.deque(maxlen=5000)
        self._ready = threading.Event()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._config_dir: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Run the provider and return once its discovery document answers (or raise PeerStartError).

        Node has been seen, rarely, to print its start-up notice and then never listen: a provider that is
        still running but silent when the time is up is stopped and started again, up to START_ATTEMPTS
        times. One that exits (a bad configuration) fails at once.
        """
        if self._process is not None:
            raise RuntimeError("the peer is already running")
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._start_once()
                return
            except PeerStuck as exc:
                if attempt == START_ATTEMPTS:  # its output holds every attempt's lines
                    raise PeerStartError(f"{exc}\n(started {START_ATTEMPTS} times)") from exc
                log.warning("oidc-provider peer did not start (attempt %d); trying again", attempt)

    def _start_once(self) -> None:
        ensure_installed(self.peer_dir)
        self._config_dir = Path(tempfile.mkdtemp(prefix="deskgate-oidc-peer-"))
        config_path = self._config_dir / "config.json"
        config_path.write_text(json.dumps(self.config), encoding="utf-8")
        try:
            self._process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                [self.node, "server.mjs", str(config_path)],
                cwd=self.peer_dir,
                stdin=subprocess.PIPE,  # its closing tells the provider we are gone
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                encoding="utf-8",
                errors="replace",  # a stray byte must not stop the reader: a full pipe would block Node
                bufsize=1,
            )
        except FileNotFoundError as exc:
            self._remove_config()
            raise PeerStartError(f"cannot run {self.node!r}: is Node.js installed?") from exc
        self._reader = threading.Thread(
            target=self._read_output, args=(self._process.stdout,), name="oidc-peer-output", daemon=True
        )
        self._reader.start()
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the provider (SIGTERM, then SIGKILL after 5 s) and clean up; safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if self._reader is not None:
                self._reader.join(timeout=5)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        self._reader = None
        self._ready.clear()
        self._remove_config()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def output(self) -> list[str]:
        """The lines the provider printed so far (start-up notices, then one line per request)."""
        return list(self._output)

    def _read_output(self, stdout: IO[str]) -> None:
        for raw in stdout:
            line = raw.rstrip("\n")
            self._output.append(line)
            if line.startswith(READY_PREFIX) and not self._ready.is_set():
                self.issuer = line.removeprefix(READY_PREFIX)
                self._ready.set()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not self._ready.wait(timeout=0.05):
            if self._process is None or self._process.poll() is not None:
                self._fail("exited during start-up")
            if time.monotonic() > deadline:
                self._fail(f"did not start within {self.startup_timeout:.0f} s", stuck=True)
        parts = urlsplit(self.issuer)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        while True:
            try:
                response = httpx.get(discovery_url, timeout=2, verify=self._verify)
                if response.status_code == httpx.codes.OK:
                    self.discovery = response.json()
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self._fail(f"did not answer {discovery_url} within {self.startup_timeout:.0f} s")
            time.sleep(0.05)

    def _fail(self, what: str, *, stuck: bool = False) -> NoReturn:
        if self._reader is not None and self._process is not None and self._process.poll() is not None:
            self._reader.join(timeout=2)  # collect everything it printed before dying
        output = "\n".join(self._output) or "(no output)"
        reading = self._reader is not None and self._reader.is_alive()
        error = PeerStuck if stuck else PeerStartError
        raise error(
            f"oidc-provider peer in {self.peer_dir} {what} (its output is {'still' if reading else 'no longer'} "
            f"read). Its output:\n{output}"
        )

    def _remove_config(self) -> None:
        if self._config_dir is not None:
            shutil.rmtree(self._config_dir, ignore_errors=True)
            self._config_dir = None

    # -- test helpers ------------------------------------------------------------------------------

    def rotate_keys(self) -> str:
        """Make a new RS256 key sign from now on, keeping the old ones in JWKS; returns the new kid."""
        url = f"{self.origin}/__test__/rotate-keys"
        try:
            response = httpx.post(url, json={"key": signing_key("RS256")}, timeout=10, verify=self._verify)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self._fail(f"did not rotate its keys ({exc!r})")
        kid: str = response.json()["kid"]
        return kid

    def login_over_http(
        self, client: httpx.Client, authorize_url: str, login: str, password: str
    ) -> httpx.Response:
        """Sign in through this provider's login form and stop when leaving it (see ``oidc_peer_http``)."""
        return login_over_http(client, self.origin, authorize_url, login, password)

    def complete_logout_over_http(self, client: httpx.Client, end_session_url: str) -> httpx.Response:
        """Go through RP-initiated logout at this provider, confirmation form included (see ``oidc_peer_http``)."""
        return complete_logout_over_http(client, self.origin, end_session_url)
