"""`deskgate idp test` on SAML IdPs (SimpleSAMLphp as the real IdP, and IdPs that cannot work), and SAML
IdPs through `deskgate config export` and `import` unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.metadata_source import from_metadata
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from tests.saml.hostile_idp import SigningKey
from tests.saml.simplesamlphp import available, simplesamlphp
from tests.support.live import free_port
from tests.unit.test_cli import BASE_URL, SECRET_KEY, invoke, save_idp, with_services, write_config

SP = ServiceProvider.for_idp(BASE_URL, "ssp")


@pytest.fixture
def config_file(db_url: str, tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "deskgate.yaml", base_url=BASE_URL, secret_key=SECRET_KEY, database_url=db_url
    )


def certificate(not_after: datetime) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old IdP key")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=365))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def saml_idp(saml: SamlIdpSettings, name: str = "ssp") -> ProviderConfig:
    return ProviderConfig(name=name, title="SimpleSAMLphp", preset="generic-saml", protocol="saml", saml=saml)


@pytest.mark.peer
def test_idp_test_passes_for_a_working_saml_idp(config_file: Path, tmp_path: Path) -> None:
    missing = available()
    if missing:
        pytest.skip(missing)  # a failure under CI=true (tests/conftest.py)
    (tmp_path / "ssp").mkdir()
    with simplesamlphp(tmp_path / "ssp", SP) as base:
        url = base + "/saml2/idp/metadata.php"
        metadata = httpx.get(url).content
        settings = from_metadata(metadata, choices={"metadata_url": url})
        save_idp(config_file, saml_idp(settings))
        result = invoke("idp", "test", "ssp", "--config", str(config_file))
        assert result.exit_code == 0, result.output
        lines = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:] if line.strip()}
        assert lines == {"metadata": "ok", "certificates": "ok", "sso_url": "ok"}
        listed = invoke("idp", "list", "--config", str(config_file))
        assert url in listed.stdout and "saml" in listed.stdout


def test_idp_test_fails_for_an_expired_certificate_and_an_unreachable_idp(config_file: Path) -> None:
    port = free_port()  # nothing listens there
    settings = SamlIdpSettings(
        entity_id="https://gone.example/saml",
        sso_url=f"http://127.0.0.1:{port}/sso",
        signing_certificates=(certificate(datetime.now(UTC) - timedelta(days=2)),),
        metadata_url=f"http://127.0.0.1:{port}/metadata",
    )
    save_idp(config_file, saml_idp(settings, "gone"))
    result = invoke("idp", "test", "gone", "--config", str(config_file))
    assert result.exit_code == 1
    assert "Failed: metadata, certificates, sso_url." in result.stderr
    assert "expired on" in result.stdout


def test_idp_test_warns_of_a_certificate_expiring_soon_but_passes_it(config_file: Path) -> None:
    soon = certificate(datetime.now(UTC) + timedelta(days=10))
    settings = SamlIdpSettings(
        entity_id="https://soon.example/saml",
        sso_url=f"http://127.0.0.1:{free_port()}/sso",
        signing_certificates=(soon,),
    )
    save_idp(config_file, saml_idp(settings, "soon"))
    result = invoke("idp", "test", "soon", "--config", str(config_file))
    assert result.exit_code == 1  # the SSO URL is down
    assert "Failed: sso_url." in result.stderr
    certificates = next(line for line in result.stdout.splitlines() if line.startswith("certificates"))
    assert certificates.split()[1] == "ok"
    assert "1 of 1 signing certificate(s) valid today" in certificates
    assert "(in 9 days)" in certificates


def test_saml_idps_survive_export_and_import(config_file: Path, tmp_path: Path) -> None:
    key, pin = SigningKey.generate(), SigningKey.generate("metadata signer")
    settings = SamlIdpSettings(
        entity_id="https://idp.example/saml",
        sso_url="https://idp.example/sso",
        signing_certificates=(key.cert_pem, SigningKey.generate("next").cert_pem),
        signed="both",
        name_id_format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        metadata_url="https://idp.example/metadata",
        metadata_pin=pin.cert_pem,
        metadata_checked_at=datetime(2026, 12, 1, 8, 30, tzinfo=UTC),
        metadata_error="https://idp.example/metadata answered HTTP 503",
    )
    original = saml_idp(settings, "corp").model_copy(update={"draft": True})
    save_idp(config_file, original)
    exported = invoke("config", "export", "--config", str(config_file))
    assert exported.exit_code == 0, exported.output
    document = yaml.safe_load(exported.stdout)
    assert document["idps"][0]["saml"]["metadata_url"] == "https://idp.example/metadata"
    export_file = tmp_path / "export.yaml"
    export_file.write_text(exported.stdout)
    fresh = write_config(
        tmp_path / "fresh.yaml",
        base_url=BASE_URL,
        secret_key=SECRET_KEY,
        database_url=f"sqlite:///{tmp_path}/fresh.db",
    )
    imported = invoke("config", "import", str(export_file), "--config", str(fresh))
    assert imported.exit_code == 0, imported.output
    assert with_services(fresh, lambda s: s.providers.get("corp")) == original
