"""SAML presets build valid SAML IdPs from each source (metadata URL, metadata XML, by hand), fill their
metadata URL templates, and show the SP URLs of the IdP being added in their console steps."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from deskgate.identity.presets import PRESETS, PresetInputError
from deskgate.identity.presets.entries import built_by_preset, expand_entry, provider_from_entry
from deskgate.identity.presets.saml import SamlPreset, sp_urls, split_certificates
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.metadata_source import from_metadata
from deskgate.identity.saml.settings import normalize_certificate
from tests.saml.hostile_idp import SigningKey, sign
from tests.saml.test_metadata_and_ledger import idp_metadata

SAML = [name for name, preset in PRESETS.items() if preset.protocol == "saml"]
KEY = SigningKey.generate("preset test IdP")
OTHER = SigningKey.generate("rolled over")
ENCRYPTION = SigningKey.generate("encryption only")
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
URL_INPUTS = {
    "adfs-saml": (
        {"domain": "sts.example.com"},
        "https://sts.example.com/FederationMetadata/2007-06/FederationMetadata.xml",
    ),
    "entra-saml": (
        {"tenant": TENANT},
        f"https://login.microsoftonline.com/{TENANT}/federationmetadata/2007-06/federationmetadata.xml",
    ),
    "okta-saml": (
        {"domain": "acme.okta.com", "app_id": "0oa1b2"},
        "https://acme.okta.com/app/0oa1b2/sso/saml/metadata",
    ),
    "keycloak-saml": (
        {"server": "https://sso.example.com/auth/", "realm": "customers"},
        "https://sso.example.com/auth/realms/customers/protocol/saml/descriptor",
    ),
    "auth0-saml": (
        {"domain": "acme.eu.auth0.com", "client_id": "abc123"},
        "https://acme.eu.auth0.com/samlp/metadata/abc123",
    ),
    "shibboleth": ({"domain": "idp.example.edu"}, "https://idp.example.edu/idp/shibboleth"),
}


def saml_preset(name: str) -> type[SamlPreset]:
    preset = PRESETS[name]
    assert issubclass(preset, SamlPreset)
    return preset


def test_the_saml_presets_are_registered() -> None:
    assert set(SAML) == {
        "adfs-saml", "entra-saml", "okta-saml", "google-saml", "keycloak-saml", "shibboleth", "gluu-saml",
        "onelogin-saml", "jumpcloud-saml", "pingfederate-saml", "auth0-saml", "generic-saml",
    }  # fmt: skip
    assert all(issubclass(PRESETS[name], SamlPreset) for name in SAML)


@pytest.mark.parametrize("name", SAML)
def test_every_saml_preset_builds_from_metadata_xml(name: str) -> None:
    preset = saml_preset(name)
    xml = idp_metadata(KEY.cert_pem, ENCRYPTION.cert_pem, OTHER.cert_pem).decode()
    config = preset.build(name="corp", title=None, values={"source": "xml", "metadata_xml": xml})
    assert config.protocol == "saml" and config.preset == name and config.title == preset.title
    assert config.saml is not None
    assert config.saml.entity_id == "https://idp.example/saml"
    # Both certificates: a rollover in progress keeps working.
    assert config.saml.signing_certificates == (
        normalize_certificate(KEY.cert_pem),
        normalize_certificate(OTHER.cert_pem),
    )
    assert config.saml.name_id_format == preset.name_id_format
    assert config.saml.metadata_url is None


@pytest.mark.parametrize("name", SAML)
def test_every_saml_preset_builds_by_hand(name: str) -> None:
    values = {
        "source": "manual",
        "entity_id": "https://idp.example/saml",
        "sso_url": "https://idp.example/sso",
        "signing_certificates": KEY.cert_pem + "\n" + OTHER.cert_pem,
        "name_id_format": "",
    }
    config = PRESETS[name].build(name="corp", title="Corp", values=values)
    assert config.saml is not None and len(config.saml.signing_certificates) == 2
    assert config.saml.name_id_format is None  # emptied: the IdP chooses


@pytest.mark.parametrize("name", SAML)
def test_every_saml_preset_help_names_this_idps_sp_urls(name: str) -> None:
    urls = sp_urls("https://desk.example.org", "corp")
    text = PRESETS[name].render_help(**urls)
    assert not re.search(r"\{(sp_entity_id|acs_url|slo_url|sp_metadata_url)\}", text)
    assert urls["acs_url"] in text and "https://desk.example.org/saml/corp/acs" in text
    assert urls["sp_entity_id"] in text
    assert re.match(r"1\. ", text)


@pytest.mark.parametrize("name", sorted(URL_INPUTS))
def test_metadata_url_templates(name: str) -> None:
    inputs, expected = URL_INPUTS[name]
    preset = PRESETS[name]
    assert isinstance(preset, type) and issubclass(preset, SamlPreset)
    assert preset.metadata_url_for(inputs) == expected
    # A URL typed by the admin wins over the template.
    assert (
        preset.metadata_url_for({**inputs, "metadata_url": "https://x.example/md"}) == "https://x.example/md"
    )


def test_entra_with_the_application_id_asks_for_that_apps_metadata() -> None:
    preset = PRESETS["entra-saml"]
    assert issubclass(preset, SamlPreset)
    url = preset.metadata_url_for({"tenant": TENANT, "app_id": TENANT})
    assert url is not None and url.endswith(f"federationmetadata.xml?appid={TENANT}")


def test_the_url_source_records_the_url_and_keeps_the_fetched_settings() -> None:
    xml = idp_metadata(KEY.cert_pem).decode()
    values = {"source": "url", "domain": "sts.example.com", "metadata_xml": xml}
    config = PRESETS["adfs-saml"].build(name="corp", title=None, values=values)
    assert config.saml is not None
    assert config.saml.metadata_url == URL_INPUTS["adfs-saml"][1]
    assert config.saml.metadata_checked_at is not None
    # Without the document (not fetched), nothing is built.
    with pytest.raises(PresetInputError) as refused:
        PRESETS["adfs-saml"].build(
            name="corp", title=None, values={"source": "url", "domain": "sts.example.com"}
        )
    assert "was not read" in refused.value.errors["metadata_url"]


def test_every_problem_is_reported_by_field() -> None:
    with pytest.raises(PresetInputError) as refused:
        PRESETS["generic-saml"].build(name="Bad Name", title=None, values={"source": "manual"})
    assert set(refused.value.errors) == {"name", "entity_id", "sso_url", "signing_certificates"}
    values = {"source": "manual", "entity_id": "x", "sso_url": "ftp://x", "signing_certificates": "nope"}
    with pytest.raises(PresetInputError) as refused:
        PRESETS["generic-saml"].build(name="corp", title=None, values=values)
    assert set(refused.value.errors) == {"sso_url", "signing_certificates"}
    with pytest.raises(PresetInputError) as refused:
        PRESETS["generic-saml"].build(
            name="corp", title=None, values={"source": "xml", "metadata_xml": "<x/>"}
        )
    assert "not SAML metadata" in refused.value.errors["metadata_xml"]
    with pytest.raises(PresetInputError) as refused:
        PRESETS["generic-saml"].build(name="corp", title=None, values={"source": "carrier-pigeon"})
    assert "source" in refused.value.errors


def test_an_unsigned_document_with_a_pin_is_refused_on_the_pin_field() -> None:
    values = {
        "source": "xml",
        "metadata_xml": idp_metadata(KEY.cert_pem).decode(),
        "metadata_pin": KEY.cert_pem,
    }
    with pytest.raises(PresetInputError) as refused:
        PRESETS["generic-saml"].build(name="corp", title=None, values=values)
    assert "not signed" in refused.value.errors["metadata_pin"]


def test_a_settings_file_entry_builds_through_the_saml_preset() -> None:
    entry = {
        "name": "corp",
        "preset": "okta-saml",
        "source": "xml",
        "metadata_xml": idp_metadata(KEY.cert_pem).decode(),
        "enabled": False,
    }
    config = provider_from_entry(entry)
    assert config.protocol == "saml" and not config.enabled and config.saml is not None


@given(
    st.lists(st.sampled_from([KEY.cert_pem, OTHER.cert_pem]), min_size=1, max_size=4),
    st.sampled_from(["\n", "\n\n", "  \n"]),
)
def test_certificates_pasted_together_are_split(certs: list[str], glue: str) -> None:
    assert split_certificates(glue.join(certs)) == tuple(c.strip() for c in certs)


def test_a_settings_file_entry_with_its_own_saml_settings_is_not_built_by_the_preset() -> None:
    saml = {
        "entity_id": "https://idp.example/saml",
        "sso_url": "https://idp.example/sso",
        "signing_certificates": [KEY.cert_pem],
    }
    entry = {"name": "corp", "title": "Corp", "preset": "okta-saml", "protocol": "saml", "saml": saml}
    assert not built_by_preset(entry)
    config = ProviderConfig.model_validate(expand_entry(entry))
    assert (
        config.preset == "okta-saml"
        and config.saml is not None
        and config.saml.sso_url == "https://idp.example/sso"
    )


@given(st.binary(max_size=3000) | st.text(max_size=3000).map(str.encode), st.booleans())
def test_any_metadata_document_is_read_or_refused_never_crashes(data: bytes, pinned: bool) -> None:
    """Hostile or broken metadata ends in a refusal the form can show, whatever it holds; with a pin,
    always in SamlRejected, since nothing unsigned gets as far as the settings' validation."""
    choices = {"metadata_pin": KEY.cert_pem} if pinned else {}
    expected = (SamlRejected,) if pinned else (SamlRejected, ValidationError)
    with contextlib.suppress(*expected):
        from_metadata(data, choices=choices)


def test_a_signed_document_wrapping_another_entity_is_refused() -> None:
    """The pinned key's signature must cover the whole document, not one entity inside an aggregate."""
    entity = etree.fromstring(idp_metadata(KEY.cert_pem).replace(b"entityID=", b'ID="e1" entityID='))
    standalone = etree.tostring(sign(entity, KEY))
    outer = etree.Element("{urn:oasis:names:tc:SAML:2.0:metadata}EntitiesDescriptor")
    outer.append(etree.fromstring(standalone))
    with pytest.raises(SamlRejected) as refused:
        from_metadata(etree.tostring(outer), choices={"metadata_pin": KEY.cert_pem})
    assert refused.value.check == "metadata_signature"
    # The same entity signed on its own is accepted: the refusal is about where the signature is.
    assert from_metadata(standalone, choices={"metadata_pin": KEY.cert_pem}).entity_id
