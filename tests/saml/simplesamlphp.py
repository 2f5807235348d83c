"""SimpleSAMLphp (Debian `simplesamlphp` 1.19) as a real SAML IdP on loopback, served by `php -S`.

A private configuration directory per run: the Debian defaults with our URLs, a fresh signing key,
one SP (Deskgate's entity for `idp_name`) and `exampleauth:UserPass` accounts. The NameID is the
`mail` attribute (PEERS.md: `saml:AttributeNameID` takes `'attribute' => 'mail'`). Given the SP's
certificate, SimpleSAMLphp can encrypt assertions to it and demand signed AuthnRequests.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from deskgate.identity.saml.settings import ServiceProvider
from tests.saml.hostile_idp import SigningKey
from tests.support.live import free_port

WWW = Path("/usr/share/simplesamlphp/www")
DEBIAN_CONFIG = Path("/etc/simplesamlphp")
ANA = ("ana", "ana-password")


def available() -> str | None:
    """Why SimpleSAMLphp cannot run here, or None when it can."""
    if shutil.which("php") is None:
        return "php is not installed (dev/setup --tests installs php-cli)"
    if not (WWW / "saml2/idp/SSOService.php").exists():
        return "SimpleSAMLphp is not installed (dev/setup --tests installs simplesamlphp)"
    return None


def _sp_remote(sp: ServiceProvider, certificate: str | None, encrypt: bool, signed_requests: bool) -> str:
    email_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    entries = [f"'AssertionConsumerService' => '{sp.acs_url}'", f"'NameIDFormat' => '{email_format}'"]
    # Single logout with Deskgate's /slo (Redirect binding): the IdP signs its messages, and checks ours
    # when it knows our certificate.
    entries += [f"'SingleLogoutService' => '{sp.slo_url}'", "'sign.logout' => true"]
    if certificate is not None:
        entries.append(f"'certData' => '{''.join(certificate.strip().splitlines()[1:-1])}'")
        entries.append("'validate.logout' => true")
    if encrypt:
        entries.append("'assertion.encryption' => true")
    if signed_requests:
        entries.append("'validate.authnrequest' => true")
    return f"<?php\n$metadata['{sp.entity_id}'] = [{', '.join(entries)}];\n"


def _write_config(
    root: Path,
    base: str,
    sp: ServiceProvider,
    *,
    sp_certificate: str | None = None,
    encrypt: bool = False,
    signed_requests: bool = False,
) -> None:
    for sub in ("cert", "metadata", "data", "tmp", "log"):
        (root / sub).mkdir()
    key = SigningKey.generate("SimpleSAMLphp test IdP")
    (root / "cert/idp.key").write_bytes(key.key_pem)
    (root / "cert/idp.crt").write_text(key.cert_pem)
    shutil.copy(DEBIAN_CONFIG / "acl.php", root / "acl.php")
    shutil.copytree(DEBIAN_CONFIG / "attributemap", root / "attributemap")
    (root / "config.php").write_text(
        f"""<?php
require '{DEBIAN_CONFIG}/config.php';
$config['baseurlpath'] = '{base}/';
$config['certdir'] = '{root}/cert/';
$config['loggingdir'] = '{root}/log/';
$config['datadir'] = '{root}/data/';
$config['tempdir'] = '{root}/tmp';
$config['metadatadir'] = '{root}/metadata/';
$config['logging.handler'] = 'file';
$config['secretsalt'] = 'simplesamlphp-test-salt-0123456789';
$config['auth.adminpassword'] = 'simplesamlphp-admin-test';
$config['enable.saml20-idp'] = true;
// Plain HTTP on loopback: secure cookies would be refused, and SameSite=None needs them.
$config['session.cookie.secure'] = false;
$config['session.cookie.samesite'] = 'Lax';
$config['language.cookie.secure'] = false;
$config['language.cookie.samesite'] = 'Lax';
$config['module.enable'] = ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true];
"""
    )
    (root / "authsources.php").write_text(
        f"""<?php
$config = [
    'admin' => ['core:AdminPassword'],
    'example-userpass' => [
        'exampleauth:UserPass',
        '{ANA[0]}:{ANA[1]}' => [
            'uid' => ['ana'], 'mail' => ['ana@lumen.example'], 'givenName' => ['Ana'], 'sn' => ['Costa'],
            'memberOf' => ['staff', 'vpn'],
        ],
    ],
];
"""
    )
    email_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    (root / "metadata/saml20-idp-hosted.php").write_text(
        f"""<?php
$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'example-userpass',
    'saml20.sign.response' => true,
    'saml20.sign.assertion' => true,
    'authproc' => [10 => ['class' => 'saml:AttributeNameID', 'attribute' => 'mail', 'Format' => '{email_format}']],
];
"""
    )
    (root / "metadata/saml20-sp-remote.php").write_text(
        _sp_remote(sp, sp_certificate, encrypt, signed_requests)
    )


@contextmanager
def simplesamlphp(
    root: Path,
    sp: ServiceProvider,
    *,
    sp_certificate: str | None = None,
    encrypt: bool = False,
    signed_requests: bool = False,
) -> Iterator[str]:
    """Run the IdP; yields its base URL (metadata at /saml2/idp/metadata.php). With `sp_certificate`
    (PEM), `encrypt` encrypts assertions to it and `signed_requests` refuses unsigned AuthnRequests."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    _write_config(
        root, base, sp, sp_certificate=sp_certificate, encrypt=encrypt, signed_requests=signed_requests
    )
    log = (root / "php.log").open("wb")
    process = subprocess.Popen(
        # No opcode cache: a test that rewrites config.php is served the new one at the next request
        # (cached, a file changed within opcache.revalidate_freq of its last check is not looked at again).
        [
            "php",
            "-d",
            "opcache.enable=0",
            "-d",
            "opcache.enable_cli=0",
            "-S",
            f"127.0.0.1:{port}",
            "-t",
            str(WWW),
        ],
        env={"SIMPLESAMLPHP_CONFIG_DIR": str(root), "PATH": "/usr/bin:/bin"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(base + "/saml2/idp/metadata.php", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"SimpleSAMLphp did not start: {(root / 'php.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
