"""IdP presets: form values in, a valid ProviderConfig out; bad values reported together."""

from __future__ import annotations

import re

import pytest

from deskgate.identity.presets import PRESETS, Preset, PresetInputError, UnknownPresetError, get_preset
from deskgate.identity.presets.inputs import clean_domain
from deskgate.identity.provider import ProviderConfig

# The SAML presets have their own inputs and tests (tests/saml/test_saml_presets.py).
OIDC_PRESETS = [name for name, preset in PRESETS.items() if preset.protocol != "saml"]
CLIENT = {"client_id": "deskgate-client", "client_secret": "s3cret-value"}
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
URLS = {
    "callback_url": "https://desk.example.org/auth/callback/idp",
    "frontchannel_logout_url": "https://desk.example.org/auth/frontchannel-logout/idp",
    "post_logout_redirect_uri": "https://desk.example.org/signed-out",
    "backchannel_logout_url": "https://desk.example.org/auth/backchannel-logout",
}

# Plausible values for every preset-specific field of every registered preset.
SAMPLE_VALUES: dict[str, dict[str, str]] = {
    "gluu": {"domain": "idp.example.com"},
    "janssen": {"domain": "idp.example.com"},
    "keycloak": {"server": "sso.example.com", "realm": "customers"},
    "entra": {"tenant": TENANT},
    "azure-b2c": {"tenant": "contoso", "tenant_id": TENANT, "policy": "B2C_1_signupsignin"},
    "okta": {"domain": "example.okta.com"},
    "google": {},
    "auth0": {"domain": "example.eu.auth0.com"},
    "cognito": {"region": "eu-west-1", "user_pool_id": "eu-west-1_AbCdEf123"},
    "adfs": {"domain": "sts.example.com"},
    "onelogin": {"subdomain": "example"},
    "pingfederate": {"domain": "sso.example.com:9031"},
    "lemonldap": {"domain": "auth.example.com"},
    "salesforce": {},
    "jumpcloud": {},
    "gitlab": {},
    "github": {},
    "generic-oidc": {"issuer": "https://idp.example.com/"},
    "generic-oauth2": {
        "authorization_endpoint": "https://idp.example.com/oauth/authorize",
        "token_endpoint": "https://idp.example.com/oauth/token",
        "userinfo_endpoint": "https://api.example.com/me",
    },
}


def build(preset: str, **values: str) -> ProviderConfig:
    return get_preset(preset).build(name="idp", title=None, values={**CLIENT, **values})


def errors_of(preset: str, **values: str) -> dict[str, str]:
    with pytest.raises(PresetInputError) as caught:
        get_preset(preset).build(name="idp", title=None, values=values)
    return caught.value.errors


# --- Gluu, the reference preset ---------------------------------------------------------------


def test_gluu_builds_client_secret_post_provider_with_oxauth_endpoints() -> None:
    config = build("gluu", domain="idp.example.com")

    assert config.preset == "gluu"
    assert config.protocol == "oidc"
    assert config.token_endpoint_auth_method == "client_secret_post"
    assert config.scopes == ("openid", "email", "profile")
    assert config.issuer == "https://idp.example.com"
    assert config.discovery is True
    assert config.authorization_endpoint == "https://idp.example.com/oxauth/restv1/authorize"
    assert config.token_endpoint == "https://idp.example.com/oxauth/restv1/token"
    assert config.userinfo_endpoint == "https://idp.example.com/oxauth/restv1/userinfo"
    assert config.jwks_uri == "https://idp.example.com/oxauth/restv1/jwks"
    assert config.end_session_endpoint == "https://idp.example.com/oxauth/restv1/end_session"
    assert config.client_id == "deskgate-client"
    assert config.client_secret is not None
    assert config.client_secret.get_secret_value() == "s3cret-value"
    assert config.title == "Gluu Server 4"


def test_title_and_scopes_can_be_chosen() -> None:
    config = get_preset("gluu").build(
        name="staff",
        title="  Staff login ",
        values={**CLIENT, "domain": "idp.example.com", "scopes": "openid, email  profile email"},
    )

    assert config.title == "Staff login"
    assert config.scopes == ("openid", "email", "profile")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("idp.example.com", "idp.example.com"),
        ("  idp.example.com  ", "idp.example.com"),
        ("https://idp.example.com/", "idp.example.com"),
        ("HTTPS://IDP.Example.COM", "idp.example.com"),
        ("idp.example.com:8443", "idp.example.com:8443"),
        ("idp.example.com.", "idp.example.com"),
    ],
)
def test_domain_is_normalised(typed: str, expected: str) -> None:
    assert clean_domain(typed) == expected
    assert build("gluu", domain=typed).issuer == f"https://{expected}"


@pytest.mark.parametrize(
    ("typed", "complaint"),
    [
        ("https://idp.example.com/oxauth", "path"),
        ("idp.example.com/identity", "path"),
        ("user@idp.example.com", "user name"),
        ("https://admin:pw@idp.example.com", "user name"),
        ("idp.example .com", "spaces"),
        ("idp.example.com?x=1", "query"),
        ("http://idp.example.com", "https"),
        ("ftp://idp.example.com", "https"),
        ("idp_example.com", "host name"),
        ("idp.example.com:99999", "port"),
    ],
)
def test_bad_domains_are_refused_with_a_reason(typed: str, complaint: str) -> None:
    errors = errors_of("gluu", **CLIENT, domain=typed)

    assert set(errors) == {"domain"}
    assert complaint in errors["domain"]


def test_empty_domain_is_required() -> None:
    errors = errors_of("gluu", **CLIENT, domain="   ")

    assert errors == {"domain": "Gluu host name is required"}


def test_every_missing_field_is_reported_at_once() -> None:
    errors = errors_of("gluu")

    assert set(errors) == {"domain", "client_id", "client_secret"}
    assert all("required" in message for message in errors.values())


def test_problems_of_different_kinds_are_reported_together() -> None:
    with pytest.raises(PresetInputError) as caught:
        get_preset("azure-b2c").build(
            name="Not A Slug",
            title=None,
            values={
                "tenant": "contoso.onmicrosoft.com",
                "tenant_id": "common",
                "policy": "signin",
                "scopes": "email",
            },
        )

    errors = caught.value.errors
    assert set(errors) == {"name", "tenant", "tenant_id", "policy", "client_id", "client_secret", "scopes"}
    assert "openid" in errors["scopes"]
    assert "tenant_id" in str(caught.value)


def test_oauth2_preset_does_not_require_openid_scope() -> None:
    config = build("github", scopes="read:user")

    assert config.scopes == ("read:user",)


# --- Other vendors' quirks --------------------------------------------------------------------


def test_github_is_plain_oauth2_read_from_the_user_api() -> None:
    config = build("github")

    assert config.protocol == "oauth2"
    assert config.discovery is False
    assert config.issuer is None
    assert config.authorization_endpoint == "https://github.com/login/oauth/authorize"
    assert config.token_endpoint == "https://github.com/login/oauth/access_token"
    assert config.userinfo_endpoint == "https://api.github.com/user"
    assert config.subject_claim == "id"
    assert config.scopes == ("read:user", "user:email")
    assert config.mapping.display_name == ("name", "login")


def test_entra_issuer_uses_the_tenant_guid() -> None:
    config = build("entra", tenant=TENANT.upper())

    assert config.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert config.mapping.email == ("email", "preferred_username", "upn")


@pytest.mark.parametrize("tenant", ["common", "organizations", "contoso.onmicrosoft.com"])
def test_entra_refuses_tenants_whose_issuer_would_not_match(tenant: str) -> None:
    assert set(errors_of("entra", **CLIENT, tenant=tenant)) == {"tenant"}


def test_azure_b2c_issuer_and_policy_endpoints() -> None:
    config = build("azure-b2c", tenant="contoso", tenant_id=TENANT, policy="B2C_1_signupsignin")
    base = "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin"

    assert config.issuer == f"https://contoso.b2clogin.com/{TENANT}/v2.0/"
    assert config.discovery is False
    assert config.authorization_endpoint == f"{base}/oauth2/v2.0/authorize"
    assert config.token_endpoint == f"{base}/oauth2/v2.0/token"
    assert config.jwks_uri == f"{base}/discovery/v2.0/keys"
    assert config.end_session_endpoint == f"{base}/oauth2/v2.0/logout"


def test_cognito_issuer_and_optional_hosted_logout() -> None:
    without = build("cognito", region="eu-west-1", user_pool_id="eu-west-1_AbCdEf123")
    with_domain = build(
        "cognito",
        region="eu-west-1",
        user_pool_id="eu-west-1_AbCdEf123",
        hosted_domain="https://example.auth.eu-west-1.amazoncognito.com/",
    )

    assert without.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    assert without.end_session_endpoint is None
    assert with_domain.end_session_endpoint == "https://example.auth.eu-west-1.amazoncognito.com/logout"


def test_cognito_refuses_a_malformed_pool_id() -> None:
    errors = errors_of("cognito", **CLIENT, region="eu-west-1", user_pool_id="AbCdEf123")

    assert set(errors) == {"user_pool_id"}


@pytest.mark.parametrize(
    ("server", "issuer"),
    [
        ("sso.example.com", "https://sso.example.com/realms/customers"),
        ("https://sso.example.com/", "https://sso.example.com/realms/customers"),
        ("https://sso.example.com/auth/", "https://sso.example.com/auth/realms/customers"),
        ("http://localhost:8080", "http://localhost:8080/realms/customers"),
    ],
)
def test_keycloak_issuer(server: str, issuer: str) -> None:
    assert build("keycloak", server=server, realm="customers").issuer == issuer


def test_keycloak_refuses_realm_that_would_change_the_url() -> None:
    errors = errors_of("keycloak", **CLIENT, server="sso.example.com", realm="a/../master")

    assert set(errors) == {"realm"}


@pytest.mark.parametrize(
    ("server", "issuer"),
    [
        ("", "https://example.okta.com"),
        ("default", "https://example.okta.com/oauth2/default"),
        ("aus1a2b3c4D5e6F7g8", "https://example.okta.com/oauth2/aus1a2b3c4D5e6F7g8"),
    ],
)
def test_okta_org_or_custom_authorization_server(server: str, issuer: str) -> None:
    assert build("okta", domain="example.okta.com", authorization_server=server).issuer == issuer


def test_auth0_issuer_keeps_its_trailing_slash() -> None:
    assert build("auth0", domain="example.eu.auth0.com").issuer == "https://example.eu.auth0.com/"


def test_adfs_asks_for_its_own_client_as_resource() -> None:
    config = build("adfs", domain="sts.example.com")

    assert config.issuer == "https://sts.example.com/adfs"
    assert config.extra_authorize_params == {"resource": "deskgate-client"}
    assert "allatclaims" in config.scopes


def test_defaulted_fields_need_not_be_sent() -> None:
    assert build("salesforce").issuer == "https://login.salesforce.com"
    assert build("gitlab").issuer == "https://gitlab.com"
    assert build("gitlab", domain="git.example.com").issuer == "https://git.example.com"


def test_generic_oidc_keeps_the_issuer_exactly() -> None:
    assert (
        build("generic-oidc", issuer=" https://idp.example.com/tenant/ ").issuer
        == "https://idp.example.com/tenant/"
    )


@pytest.mark.parametrize(
    "issuer", ["idp.example.com", "https://idp.example.com/?a=1", "http://idp.example.com"]
)
def test_generic_oidc_refuses_unusable_issuers(issuer: str) -> None:
    assert set(errors_of("generic-oidc", **CLIENT, issuer=issuer)) == {"issuer"}


def test_generic_oauth2_takes_endpoints_and_subject_from_the_form() -> None:
    config = build(
        "generic-oauth2",
        authorization_endpoint="https://idp.example.com/oauth/authorize",
        token_endpoint="https://idp.example.com/oauth/token",
        userinfo_endpoint="https://api.example.com/me",
        subject_claim="data.uid",
        end_session_endpoint="https://idp.example.com/logout",
    )

    assert config.protocol == "oauth2"
    assert config.discovery is False
    assert config.userinfo_endpoint == "https://api.example.com/me"
    assert config.subject_claim == "data.uid"
    assert config.end_session_endpoint == "https://idp.example.com/logout"
    assert config.scopes == ()


def test_unknown_preset_has_a_clear_error() -> None:
    with pytest.raises(UnknownPresetError, match="unknown preset 'nope'") as caught:
        get_preset("nope")

    assert isinstance(caught.value, KeyError)
    assert "gluu" in str(caught.value)


def test_a_template_typo_fails_when_the_preset_is_declared() -> None:
    with pytest.raises(TypeError, match="unknown"):

        class Broken(Preset):
            name = "broken"
            title = "Broken"
            description = "Misspelt placeholder."
            setup_help = "1. Nothing."
            issuer = "https://{domian}"


def test_provider_config_complaints_come_back_as_input_errors() -> None:
    class NoEndpoints(Preset):
        name = "no-endpoints"
        title = "No endpoints"
        description = "Discovery off but no endpoints declared."
        setup_help = "1. Nothing."
        discovery = False

    with pytest.raises(PresetInputError) as caught:
        NoEndpoints.build(name="idp", title=None, values=CLIENT)

    assert set(caught.value.errors) == {"config"}
    assert "authorization_endpoint" in caught.value.errors["config"]


# --- Every registered preset ------------------------------------------------------------------


def test_sample_values_cover_every_preset() -> None:
    assert set(SAMPLE_VALUES) == set(OIDC_PRESETS)


@pytest.mark.parametrize("name", OIDC_PRESETS)
def test_every_preset_is_described(name: str) -> None:
    preset = PRESETS[name]

    assert preset.name == name
    assert preset.title.strip()
    assert preset.description.strip()
    assert len(preset.setup_help.strip()) > 200
    names = [field.name for field in preset.form_fields()]
    assert len(names) == len(set(names))
    assert names[-3:] == ["client_id", "client_secret", "scopes"]
    assert all(field.label and field.help for field in preset.form_fields())


@pytest.mark.parametrize("name", OIDC_PRESETS)
def test_every_preset_builds_a_valid_provider(name: str) -> None:
    preset = PRESETS[name]

    config = preset.build(name="idp", title="Sign in", values={**CLIENT, **SAMPLE_VALUES[name]})

    assert isinstance(config, ProviderConfig)
    assert config.preset == name
    assert config.protocol == preset.protocol
    assert config.token_endpoint_auth_method == preset.token_endpoint_auth_method
    assert config.scopes == preset.default_scopes
    if config.protocol == "oidc":
        assert config.issuer is not None
        assert config.issuer.startswith("https://")
    for url in (
        config.authorization_endpoint,
        config.token_endpoint,
        config.userinfo_endpoint,
        config.jwks_uri,
    ):
        assert url is None or url.startswith("https://")


@pytest.mark.parametrize("name", OIDC_PRESETS)
def test_every_preset_help_names_the_urls_and_auth_method(name: str) -> None:
    preset = PRESETS[name]

    text = preset.render_help(**URLS)

    assert not re.search(r"\{\w*\}", text)
    assert URLS["callback_url"] in text
    assert preset.token_endpoint_auth_method in text
    assert re.match(r"1\. ", text), "help is a numbered list"


# What each vendor's console calls its logout settings, as its documentation says (sources beside each
# preset's help). Every phrase must appear in the rendered help.
LOGOUT_SETTINGS: dict[str, tuple[str, ...]] = {
    "keycloak": (
        f"Valid post logout redirect URIs {URLS['post_logout_redirect_uri']}",
        f"Backchannel logout URL {URLS['backchannel_logout_url']}",
        "Backchannel logout session required On",
        f"Front-channel logout URL {URLS['frontchannel_logout_url']}",
        "Front-channel logout session required On",
        "Front channel logout Off",
    ),
    "janssen": (
        f"Front Channel Logout URI {URLS['frontchannel_logout_url']}",
        "Front Channel Logout Session Required on",
        f"Back Channel Logout URI {URLS['backchannel_logout_url']}",
        "Back Channel Logout Session Required on",
        f"Post Logout Redirect URIs {URLS['post_logout_redirect_uri']}",
    ),
    "gluu": (f"Front Channel Logout URI: {URLS['frontchannel_logout_url']}", "Logout Session Required on"),
    "auth0": (
        f"Allowed Logout URLs {URLS['post_logout_redirect_uri']}",
        f"Back-Channel Logout URI to {URLS['backchannel_logout_url']}",
    ),
    "entra": (f"Front-channel logout URL to {URLS['frontchannel_logout_url']}",),
    "onelogin": (f"Post Logout Redirect URI {URLS['post_logout_redirect_uri']}",),
    "okta": (f"Sign-out redirect URIs: {URLS['post_logout_redirect_uri']}",),
    "generic-oidc": (
        f"Front-channel logout URI, if supported: {URLS['frontchannel_logout_url']}",
        f"Back-channel logout URI, if supported: {URLS['backchannel_logout_url']}",
    ),
}


@pytest.mark.parametrize("name", list(LOGOUT_SETTINGS))
def test_help_names_the_vendors_logout_settings(name: str) -> None:
    text = " ".join(PRESETS[name].render_help(**URLS).split())

    for phrase in LOGOUT_SETTINGS[name]:
        assert phrase in text


def test_keycloak_help_never_asks_for_a_groups_scope() -> None:
    text = " ".join(PRESETS["keycloak"].render_help(**URLS).split())

    assert "Group Membership" in text
    assert "invalid_scope" in text  # says why the scopes stay as they are
    assert "groups" not in PRESETS["keycloak"].default_scopes


@pytest.mark.parametrize("name", ["state", "nonce", "redirect_uri", "code_challenge", "response_type"])
def test_extra_authorize_params_cannot_override_the_flow(name: str) -> None:
    with pytest.raises(ValueError, match="set by Deskgate itself"):
        ProviderConfig(
            name="x",
            title="X",
            issuer="https://x.test",
            client_id="c",
            client_secret="s",
            extra_authorize_params={name: "attacker"},
        )
