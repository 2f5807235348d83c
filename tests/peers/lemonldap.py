"""LemonLDAP::NG 2.16 (Debian) as a real OpenID Provider on loopback, for tests.

It is the peer that does OIDC *front-channel* logout: when a user logs out, the portal's logout page
embeds ``<iframe src="FRONTCHANNEL_LOGOUT_URI?iss=...&sid=...">``.

How it runs, without root and without the FastCGI server (which refuses to run as root):

* the Debian demo configuration ``/var/lib/lemonldap-ng/conf/lmConf-1.json`` (``authentication: Demo``,
  users dwho/rtyler/msmith, password = login) is copied into a private directory and overridden;
* a private ``lemonldap-ng.ini`` points at that directory and at private caches; the portal finds it
  through the ``LLNG_DEFAULTCONFFILE`` environment variable (read by ``Lemonldap::NG::Common::Conf``);
* a two-line PSGI wrapper around ``Lemonldap::NG::Portal::Main`` (what Debian's
  ``/usr/share/lemonldap-ng/portal/htdocs/index.psgi`` does) adds ``/static`` and ``/javascript``
  serving (Debian's Apache/nginx configs alias those), and ``plackup`` (Debian ``libplack-perl``,
  single-process ``HTTP::Server::PSGI``) serves it on 127.0.0.1.

Quirks of 2.16 that callers must know: an RP gets a front-channel logout only if it has *redeemed its
code* at the token endpoint during that SSO session (that is when the portal records it as connected);
the front-channel ``sid`` is the user id (``dwho``), ID tokens carry no ``sid``; the token endpoint
accepts both ``client_secret_post`` and ``client_secret_basic`` for every confidential client (there
is no per-client setting); the issuer is the portal URL, *with* its trailing slash.

Given ``saml_sp_metadata`` (an SP's metadata XML), the same portal is also a SAML 2.0 IdP (Debian
``liblasso-perl``): entity id and metadata at ``/saml/metadata``, SSO at ``/saml/singleSignOn``,
single logout at ``/saml/singleLogout`` (Redirect and POST), a fresh signing key pair and certificate,
signed responses and assertions, the SP's signed AuthnRequests and logout messages checked against its
metadata, the e-mail as NameID, and mail/cn/givenName/sn sent as attributes. Its own logout (portal
``?logout=1``) sends each SAML SP of the session a signed LogoutRequest through an ``<iframe>`` of the
logout page (HTTP-Redirect), as it does for OIDC front-channel logout.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

DEMO_CONFIG = Path("/var/lib/lemonldap-ng/conf/lmConf-1.json")
PORTAL_HTDOCS = Path("/usr/share/lemonldap-ng/portal/htdocs")
PORTAL_TEMPLATES = Path("/usr/share/lemonldap-ng/portal/templates")
JAVASCRIPT_LIBS = Path("/usr/share/javascript")  # Debian's web server configs alias /javascript/ here
RP_CONF_KEY = "deskgate"
KEY_ID = "deskgate-test-sig"
AUTH_METHODS = ("client_secret_post", "client_secret_basic")

# Demo users only have uid, cn ("Doctor Who") and mail; given/family names are macros over cn.
RP_MACROS = {"givenName": "(split(/ /, $cn, 2))[0]", "familyName": "(split(/ /, $cn, 2))[1]"}
RP_CLAIMS = {
    "email": "mail",
    "name": "cn",
    "given_name": "givenName",
    "family_name": "familyName",
    "preferred_username": "uid",
}

# SAML: the session variable sent → "mandatory;Name;NameFormat;FriendlyName" (LemonLDAP::NG's format);
# givenName and sn are per-SP macros over cn, as the OIDC claims above.
SAML_SP_CONF_KEY = "deskgate"
SAML_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
SAML_ATTRIBUTES = {
    name: f"{int(name == 'mail')};{name};{SAML_BASIC}" for name in ("mail", "cn", "givenName", "sn")
}
SAML_MACROS = {"givenName": "(split(/ /, $cn, 2))[0]", "sn": "(split(/ /, $cn, 2))[1]"}

PSGI_APP = f"""\
use Plack::Builder;
use Lemonldap::NG::Portal::Main;
my $portal = Lemonldap::NG::Portal::Main->run({{}});
builder {{
    enable "Static", path => qr{{^/static/}}, root => "{PORTAL_HTDOCS}/";
    enable "Static", path => sub {{ s{{^/javascript/}}{{/}} }}, root => "{JAVASCRIPT_LIBS}/";
    $portal;
}};
"""

INI = """\
[all]
logLevel = {log_level}
checkTime = 1
[configuration]
type = File
dirName = {conf_dir}
prettyPrint = 1
localStorage = Cache::FileCache
localStorageOptions = {{ 'namespace' => 'lemonldap-ng-config', 'default_expires_in' => 600, \\
    'directory_umask' => '007', 'cache_root' => '{cache_dir}', 'cache_depth' => 3 }}
[portal]
staticPrefix = /static
templateDir = {templates}
languages = en
[handler]
status = 0
useRedirectOnError = 1
"""


class LemonLdapPeer:
    """A running LemonLDAP::NG portal with one OIDC relying party, ``deskgate``."""

    def __init__(
        self,
        *,
        rp_client_id: str,
        rp_client_secret: str,
        redirect_uris: list[str],
        post_logout_redirect_uris: list[str],
        frontchannel_logout_uri: str,
        port: int = 0,
        workdir: Path | None = None,
        auth_method: str = "client_secret_post",
        log_level: str = "warn",
        saml_sp_metadata: str | None = None,
    ) -> None:
        if auth_method not in AUTH_METHODS:
            raise ValueError(f"LemonLDAP::NG 2.16 supports only {AUTH_METHODS}, not {auth_method!r}")
        self.rp_client_id = rp_client_id
        self.rp_client_secret = rp_client_secret
        self.redirect_uris = list(redirect_uris)
        self.post_logout_redirect_uris = list(post_logout_redirect_uris)
        self.frontchannel_logout_uri = frontchannel_logout_uri
        self.auth_method = auth_method
        self.log_level = log_level
        self.port = port or _free_port()
        self.portal_url = f"http://127.0.0.1:{self.port}/"
        self.issuer = self.portal_url
        self.discovery_url = f"{self.portal_url}.well-known/openid-configuration"
        self.saml_sp_metadata = saml_sp_metadata
        self.saml_metadata_url = f"{self.portal_url}saml/metadata"
        self.saml_sso_url = f"{self.portal_url}saml/singleSignOn"
        self.saml_slo_url = f"{self.portal_url}saml/singleLogout"
        self._own_workdir = workdir is None
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise RuntimeError("peer not started")
        return self._workdir

    @property
    def log_path(self) -> Path:
        return self.workdir / "plackup.log"

    def start(self) -> None:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="lemonldap-peer-"))
        self._workdir.mkdir(parents=True, exist_ok=True)
        ini, psgi = self._write_files()
        env = {**os.environ, "LLNG_DEFAULTCONFFILE": str(ini)}
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    *("plackup", "-E", "deployment", "-s", "HTTP::Server::PSGI"),
                    *("--host", "127.0.0.1", "--port", str(self.port), str(psgi)),
                ],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready(timeout=30.0)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def output(self) -> str:
        """What the portal wrote to stdout/stderr so far (its logger writes to stderr)."""
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, RuntimeError):
            return ""

    def login_over_http(
        self, client: httpx.Client, authorize_url: str, user: str, password: str
    ) -> httpx.Response:
        """Log in with plain HTTP; return the (unfollowed) redirect to the RP's redirect_uri.

        Submits the login form with every hidden field the portal put in it (CSRF ``token``, the saved
        OIDC request parameters), then follows portal-internal redirects and submits any further
        form (consent, confirmation) until the portal redirects to the ``redirect_uri``.
        """
        redirect_uri = parse_qs(urlsplit(authorize_url).query)["redirect_uri"][0]
        response = client.get(authorize_url, follow_redirects=False)
        credentials = {"user": user, "password": password}
        for _ in range(10):
            location = response.headers.get("location")
            if response.is_redirect and location is not None:
                target = urljoin(str(response.url), location)
                if target.split("?")[0].split("#")[0] == redirect_uri:
                    return response
                response = client.get(target, follow_redirects=False)
                continue
            form = _find_form(response.text, wanted="password" if credentials else None)
            if response.status_code != 200 or form is None:
                raise AssertionError(
                    f"LemonLDAP::NG login stuck at {response.status_code} {response.url}:\n"
                    f"{response.text[:3000]}\n--- portal log ---\n{self.output()[-3000:]}"
                )
            fields = {**form.fields, **credentials}
            credentials = {}
            action = urljoin(str(response.url), form.action).split("#")[0]
            if form.method == "get":
                response = client.get(action, params=fields, follow_redirects=False)
            else:
                response = client.post(action, data=fields, follow_redirects=False)
        raise AssertionError(f"LemonLDAP::NG login did not reach {redirect_uri}: {response.url}")

    # -- internals -----------------------------------------------------------------------------

    def _write_files(self) -> tuple[Path, Path]:
        conf_dir = self.workdir / "conf"
        conf_dir.mkdir(exist_ok=True)
        for sub in ("cache", "sessions/lock", "psessions/lock", "notifications"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        conf = self._build_config(json.loads(DEMO_CONFIG.read_text()))
        (conf_dir / "lmConf-1.json").write_text(json.dumps(conf, indent=2))
        ini = self.workdir / "lemonldap-ng.ini"
        ini.write_text(
            INI.format(
                log_level=self.log_level,
                conf_dir=conf_dir,
                cache_dir=self.workdir / "cache",
                templates=PORTAL_TEMPLATES,
            )
        )
        psgi = self.workdir / "portal.psgi"
        psgi.write_text(PSGI_APP)
        return ini, psgi

    def _build_config(self, demo: dict[str, Any]) -> dict[str, Any]:
        conf = copy.deepcopy(demo)
        work = self.workdir
        private_pem, public_pem = _rsa_key_pair()
        conf.update(
            {
                "portal": self.portal_url,
                "domain": "127.0.0.1",
                # Left empty, 2.16 picks Lax, but None as soon as a SAML issuer is enabled, and Chromium
                # drops a SameSite=None cookie that isn't Secure (we are on plain http).
                "sameSite": "Lax",
                "https": 0,
                "securedCookie": 0,
                "locationRules": {"127.0.0.1": {"default": "accept"}},
                "exportedHeaders": {},
                "reloadUrls": {},
                "notification": 0,
                "globalStorageOptions": {
                    **demo["globalStorageOptions"],
                    "Directory": str(work / "sessions"),
                    "LockDirectory": str(work / "sessions/lock"),
                },
                "persistentStorageOptions": {
                    "Directory": str(work / "psessions"),
                    "LockDirectory": str(work / "psessions/lock"),
                },
                "localSessionStorageOptions": {
                    **demo["localSessionStorageOptions"],
                    "cache_root": str(work / "cache"),
                },
                "notificationStorageOptions": {"dirName": str(work / "notifications")},
                "issuerDBOpenIDConnectActivation": 1,
                "oidcServiceMetaDataIssuer": self.issuer,
                "oidcServicePrivateKeySig": private_pem,
                "oidcServicePublicKeySig": public_pem,
                "oidcServiceKeyIdSig": KEY_ID,
                "oidcServiceIgnoreScopeForClaims": 1,
                "oidcRPMetaDataOptions": {
                    RP_CONF_KEY: {
                        "oidcRPMetaDataOptionsDisplayName": "Deskgate",
                        "oidcRPMetaDataOptionsClientID": self.rp_client_id,
                        "oidcRPMetaDataOptionsClientSecret": self.rp_client_secret,
                        "oidcRPMetaDataOptionsPublic": 0,
                        "oidcRPMetaDataOptionsRedirectUris": " ".join(self.redirect_uris),
                        "oidcRPMetaDataOptionsPostLogoutRedirectUris": " ".join(
                            self.post_logout_redirect_uris
                        ),
                        "oidcRPMetaDataOptionsLogoutUrl": self.frontchannel_logout_uri,
                        "oidcRPMetaDataOptionsLogoutType": "front",
                        "oidcRPMetaDataOptionsLogoutSessionRequired": 1,
                        "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
                        "oidcRPMetaDataOptionsIDTokenForceClaims": 1,
                        "oidcRPMetaDataOptionsBypassConsent": 1,
                        "oidcRPMetaDataOptionsRequirePKCE": 0,
                    }
                },
                "oidcRPMetaDataExportedVars": {RP_CONF_KEY: RP_CLAIMS},
                "oidcRPMetaDataMacros": {RP_CONF_KEY: RP_MACROS},
            }
        )
        if self.saml_sp_metadata is not None:
            conf.update(self._saml_config())
        return conf

    def _saml_config(self) -> dict[str, Any]:
        private_pem, certificate_pem = _rsa_key_and_certificate("LemonLDAP::NG test IdP")
        return {
            "issuerDBSAMLActivation": 1,
            "samlEntityID": self.saml_metadata_url,
            "samlServicePrivateKeySig": private_pem,
            "samlServicePrivateKeySigPwd": "",
            # A certificate (not a bare public key): the metadata then carries an X509Certificate.
            "samlServicePublicKeySig": certificate_pem,
            "samlServiceSignatureMethod": "RSA_SHA256",
            "samlSPMetaDataXML": {SAML_SP_CONF_KEY: {"samlSPMetaDataXML": self.saml_sp_metadata}},
            "samlSPMetaDataOptions": {
                SAML_SP_CONF_KEY: {
                    "samlSPMetaDataOptionsNameIDFormat": "email",
                    "samlSPMetaDataOptionsSignSSOMessage": 1,
                    "samlSPMetaDataOptionsCheckSSOMessageSignature": 1,
                    "samlSPMetaDataOptionsSignSLOMessage": 1,
                    "samlSPMetaDataOptionsCheckSLOMessageSignature": 1,
                    "samlSPMetaDataOptionsSignatureMethod": "RSA_SHA256",
                    "samlSPMetaDataOptionsEncryptionMode": "none",
                    "samlSPMetaDataOptionsEnableIDPInitiatedURL": 0,
                    "samlSPMetaDataOptionsForceUTF8": 1,
                    "samlSPMetaDataOptionsOneTimeUse": 0,
                    "samlSPMetaDataOptionsNotOnOrAfterTimeout": 72000,
                    "samlSPMetaDataOptionsSessionNotOnOrAfterTimeout": 72000,
                }
            },
            "samlSPMetaDataExportedAttributes": {SAML_SP_CONF_KEY: SAML_ATTRIBUTES},
            "samlSPMetaDataMacros": {SAML_SP_CONF_KEY: SAML_MACROS},
        }

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    code = None if self._process is None else self._process.returncode
                    raise RuntimeError(f"plackup exited with {code}:\n{self.output()}")
                try:
                    response = client.get(self.discovery_url)
                except httpx.TransportError as exc:
                    last_error = repr(exc)
                else:
                    if response.status_code == 200:
                        return
                    last_error = f"{response.status_code}: {response.text[:500]}"
                time.sleep(0.2)
        raise RuntimeError(
            f"LemonLDAP::NG did not answer {self.discovery_url} within {timeout:.0f}s "
            f"({last_error}):\n{self.output()}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rsa_key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # PKCS#1 ("BEGIN RSA PRIVATE KEY") is what Crypt::OpenSSL::RSA reads on every version.
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def _rsa_key_and_certificate(name: str) -> tuple[str, str]:
    """A PKCS#1 private key and a self-signed certificate for it (what Lasso and xmlsec read)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return private_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


class _Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method
        self.fields: dict[str, str] = {}
        self.has_password = False


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._current: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = _Form(attributes.get("action", ""), attributes.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag in ("input", "button") and self._current is not None:
            name = attributes.get("name")
            kind = attributes.get("type", "text").lower()
            if name == "password":
                self._current.has_password = True
            if name and kind in ("hidden", "text", "password", "submit") and name not in self._current.fields:
                self._current.fields[name] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def find_form(html: str, *, password: bool = False) -> _Form | None:
    """The login form (with a password field) when ``password``, else the first form of the page."""
    return _find_form(html, wanted="password" if password else None)


def _find_form(html: str, wanted: str | None) -> _Form | None:
    """The login form (with a password field) when ``wanted``, else the first form of the page."""
    parser = _FormParser()
    parser.feed(html)
    if wanted == "password":
        return next((form for form in parser.forms if form.has_password), None)
    return parser.forms[0] if parser.forms else None
