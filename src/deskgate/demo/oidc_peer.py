"""Start a real OpenID Provider on loopback, shaped like Gluu Server, for the demo and the flow tests.

The provider is panva's OpenID-certified npm ``oidc-provider`` driven by ``peers/oidc-provider/server.mjs``;
this module writes its configuration, runs it under Node, waits until discovery answers and stops it
again. It also drives the provider's HTML pages over plain HTTP (login form, logout confirmation) so
flow tests can run without a browser.

    with OidcPeer(clients=[PeerClient("rp", "secret", [callback])], accounts=DEMO_ACCOUNTS) as peer:
        peer.discovery["authorization_endpoint"]  # http://127.0.0.1:PORT/oxauth/restv1/authorize
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import urljoin, urlsplit

import httpx

__all__ = [
    "DEMO_ACCOUNTS",
    "OidcPeer",
    "PeerAccount",
    "PeerClient",
    "PeerStartError",
    "default_peer_dir",
    "ensure_installed",
]

READY_PREFIX = "deskgate-oidc-peer ready issuer="
MAX_HOPS = 20


class PeerStartError(RuntimeError):
    """The provider could not be installed or started; the message carries its output."""


@dataclass
class PeerAccount:
    """A user of the provider: ``id`` is what goes in the login field, and the ``sub`` (unless pairwise)."""

    id: str
    password: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class PeerClient:
    """A relying party registered at the provider; ``extra`` adds any other oidc-provider client metadata.

    A public client has ``client_secret=None`` and ``token_endpoint_auth_method="none"`` (PKCE is then
    required, as at Gluu).
    """

    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    token_endpoint_auth_method: str = "client_secret_post"  # noqa: S105 - a method name, not a secret
    backchannel_logout_uri: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The client as oidc-provider's ``clients`` configuration expects it."""
        public = self.token_endpoint_auth_method == "none"  # noqa: S105 - a method name, not a secret
        if (self.client_secret is None) != public:
            raise ValueError(
                f"client {self.client_id!r}: a client_secret goes with a client_secret_* method, "
                "and none with token_endpoint_auth_method 'none'"
            )
        metadata: dict[str, Any] = {
            "client_id": self.client_id,
            "redirect_uris": self.redirect_uris,
            "post_logout_redirect_uris": self.post_logout_redirect_uris,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
        }
        if self.client_secret is not None:
            metadata["client_secret"] = self.client_secret
        if self.backchannel_logout_uri is not None:
            # Gluu puts `sid` in ID and logout tokens by default; oidc-provider only when asked.
            metadata["backchannel_logout_uri"] = self.backchannel_logout_uri
            metadata["backchannel_logout_session_required"] = True
        return metadata | self.extra


DEMO_ACCOUNTS: tuple[PeerAccount, ...] = (
    PeerAccount(
        "demo",
        "demo",
        {
            "email": "demo@example.com",
            "email_verified": True,
            "given_name": "Demo",
            "family_name": "Customer",
            "name": "Demo Customer",
            "preferred_username": "demo",
            "groups": ["customers"],
        },
    ),
    PeerAccount(
        "alice",
        "alice",
        {
            "email": "alice@example.org",
            "email_verified": True,
            "given_name": "Alice",
            "family_name": "Liddell",
            "name": "Alice Liddell",
            "preferred_username": "alice",
            "groups": ["customers", "agents"],
        },
    ),
)


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
        startup_timeout: float = 15.0,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.peer_dir = peer_dir or default_peer_dir()
        self.node = node
        self.startup_timeout = startup_timeout
        self.config: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": port,
            "issuer_path": issuer_path,
            "gluu_paths": gluu_paths,
            "claims_in_id_token": claims_in_id_token,
            "pairwise": pairwise,
            "test_admin": test_admin,
            "exit_with_stdin": True,
            "clients": [client.metadata() for client in clients],
            "accounts": {a.id: {"password": a.password, "claims": a.claims} for a in accounts},
        }
        if scope_claims is not None:
            self.config["scope_claims"] = {scope: list(claims) for scope, claims in scope_claims.items()}
        if ttl is not None:
            self.config["ttl"] = dict(ttl)
        # (certificate, key) PEM files: the provider speaks https, and this launcher trusts that certificate.
        self._verify: ssl.SSLContext | bool = True
        if tls is not None:
            self.config["tls"] = {"cert": str(tls[0]), "key": str(tls[1])}
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
        """Run the provider and return once its discovery document answers (or raise PeerStartError)."""
        if self._process is not None:
            raise RuntimeError("the peer is already running")
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
                text=True,
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
                self._fail(f"did not start within {self.startup_timeout:.0f} s")
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

    def _fail(self, what: str) -> None:
        if self._reader is not None and self._process is not None and self._process.poll() is not None:
            self._reader.join(timeout=2)  # collect everything it printed before dying
        output = "\n".join(self._output) or "(no output)"
        raise PeerStartError(f"oidc-provider peer in {self.peer_dir} {what}. Its output:\n{output}")

    def _remove_config(self) -> None:
        if self._config_dir is not None:
            shutil.rmtree(self._config_dir, ignore_errors=True)
            self._config_dir = None

    # -- test helpers ------------------------------------------------------------------------------

    def rotate_keys(self) -> str:
        """Make a new RS256 key sign from now on, keeping the old ones in JWKS; returns the new kid."""
        response = httpx.post(f"{self.origin}/__test__/rotate-keys", timeout=10, verify=self._verify)
        response.raise_for_status()
        kid: str = response.json()["kid"]
        return kid

    def login_over_http(
        self, client: httpx.Client, authorize_url: str, login: str, password: str
    ) -> httpx.Response:
        """Sign in through the provider's HTML login form, as a browser would, and stop when leaving it.

        Returns the redirect that leaves the provider (normally the 303 to the RP's callback, with
        ``code`` or ``error``), or the page where the journey stopped: the login page again with
        "Invalid username or password." after a wrong password, or an error page. With a live SSO
        session no form is shown and the redirect comes straight back. ``client`` keeps the provider's
        cookies, so a second call with it is a single sign-on.
        """
        response = self._follow(client, client.get(authorize_url, follow_redirects=False))
        if response.is_redirect:
            return response
        form = _find_form(response, lambda f: "password" in f.fields)
        if form is None:
            return response
        data = form.fields | {"login": login, "password": password}
        return self._follow(client, client.post(form.action, data=data, follow_redirects=False))

    def complete_logout_over_http(self, client: httpx.Client, end_session_url: str) -> httpx.Response:
        """Go through RP-initiated logout: open ``end_session_url`` and submit the confirmation form.

        Returns the redirect that leaves the provider (to ``post_logout_redirect_uri``), or its "signed
        out" page when no such URI was given. Back-channel logout requests have been sent when it returns.
        """
        response = self._follow(client, client.get(end_session_url, follow_redirects=False))
        form = None if response.is_redirect else _find_form(response, lambda f: f.method == "post")
        if form is None or not self._is_own(form.action):
            return response
        return self._follow(client, client.post(form.action, data=form.fields, follow_redirects=False))

    def _is_own(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def _follow(self, client: httpx.Client, response: httpx.Response) -> httpx.Response:
        """Follow redirects while they stay on the provider; return the first one that leaves it."""
        for _ in range(MAX_HOPS):
            if not response.is_redirect:
                return response
            target = urljoin(str(response.url), response.headers["location"])
            if not self._is_own(target):
                return response
            response = client.get(target, follow_redirects=False)
        raise RuntimeError(f"more than {MAX_HOPS} redirects inside the provider")


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    """Collects each form's action, method and named input values (enough for the provider's pages)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.forms: list[_Form] = []
        self._open: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open = _Form(
                action=urljoin(self.base_url, attributes.get("action") or self.base_url),
                method=(attributes.get("method") or "get").lower(),
            )
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attributes.get("name"):
            self._open.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def _find_form(response: httpx.Response, wanted: Callable[[_Form], bool]) -> _Form | None:
    if "html" not in response.headers.get("content-type", ""):
        return None
    parser = _FormParser(str(response.url))
    parser.feed(response.text)
    parser.close()
    return next((form for form in parser.forms if wanted(form)), None)
