"""How one identity provider is configured: the data every protocol adapter reads."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from deskgate.identity.filters import ClaimRule, FilterRules
from deskgate.identity.mapping import AttributeMapping
from deskgate.identity.saml.settings import SamlIdpSettings

Protocol = Literal["oidc", "oauth2", "saml"]
ClientAuthMethod = Literal["client_secret_post", "client_secret_basic", "none"]
# What the IdP's front-channel logout request carries, hence which sessions it may end (see
# deskgate.login.frontchannel, which documents each value): the URL is public, so a request may only end
# the sessions it names in a way an outsider cannot forge.
FrontChannelLogout = Literal["discover", "iss_and_sid", "sid_only", "sid_or_subject", "cookie", "off"]

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Asymmetric algorithms only: an HMAC ID token keyed with the client secret is refused, and `none` never passes.
DEFAULT_SIGNING_ALGS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
ALLOWED_SIGNING_ALGS = frozenset(DEFAULT_SIGNING_ALGS)
# What the flow's security rests on is never the admin's to change through extra parameters.
RESERVED_AUTHORIZE_PARAMS = frozenset(
    {
        "state",
        "nonce",
        "redirect_uri",
        "response_type",
        "client_id",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "response_mode",
        "prompt",
        "request",
        "request_uri",
    }
)


class AdminAccess(BaseModel):
    """Who may sign in to the admin console through this IdP (absent: nobody may).

    The rules alone decide: the IdP's customer `filters` play no part in an admin sign-in, so a rule
    written here is the whole admission test. The rules are evaluated like ``filters.claim_rules`` (a
    matching deny rule refuses, then at least one allow rule must match), and at least one allow rule is
    required, so turning admin access on never admits everyone the IdP vouches for.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    claim_rules: tuple[ClaimRule, ...] = Field(
        min_length=1, description="Evaluated like filters.claim_rules; at least one allow rule."
    )

    @model_validator(mode="after")
    def _one_allow_rule(self) -> AdminAccess:
        if not any(rule.effect == "allow" for rule in self.claim_rules):
            raise ValueError(
                "admin access needs at least one allow rule (deny rules alone would admit everyone)"
            )
        return self


class ProviderConfig(BaseModel):
    """One IdP as the admin registered it. Secrets stay `SecretStr` until the moment they are sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Short identifier used in URLs and the CLI (lowercase, digits, dashes).")
    title: str = Field(description="Label on the login button.")
    preset: str = "generic-oidc"
    protocol: Protocol = "oidc"
    enabled: bool = True
    draft: bool = Field(
        default=False,
        description="Added in the console and not yet proven to work: customers are not offered it (nor sent "
        "to it) until a test sign-in passes or an admin makes it live anyway. A file entry is live unless "
        "it says draft: true.",
    )
    order: int = 0

    issuer: str | None = Field(
        default=None, description="OIDC issuer; discovery reads <issuer>/.well-known/openid-configuration."
    )
    discovery: bool = True
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None
    frontchannel_logout: FrontChannelLogout | None = Field(
        default=None,
        description="What the IdP's front-channel logout request carries (None: the preset's default).",
    )

    client_id: str = Field(default="", description="OIDC/OAuth 2.0 only: the client registered at the IdP.")
    client_secret: SecretStr | None = None
    token_endpoint_auth_method: ClientAuthMethod = "client_secret_basic"  # noqa: S105
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    use_pkce: bool = True
    response_mode: Literal["query", "form_post"] = Field(
        default="query",
        description="How the IdP returns the code: in the URL, or POSTed by an auto-submitting form.",
    )
    extra_authorize_params: dict[str, str] = Field(default_factory=dict)
    id_token_signing_algs: tuple[str, ...] = DEFAULT_SIGNING_ALGS
    subject_claim: str = "sub"
    clock_skew_seconds: int = Field(default=60, ge=0, le=600)

    mapping: AttributeMapping = Field(default_factory=AttributeMapping)
    filters: FilterRules = Field(default_factory=FilterRules)
    admin_access: AdminAccess | None = Field(
        default=None, description="Who may sign in to the admin console through this IdP; None: nobody."
    )
    saml: SamlIdpSettings | None = Field(
        default=None, description="SAML 2.0 only: the IdP's entity id, SSO URL and signing certificates."
    )

    @property
    def live(self) -> bool:
        """Whether customers (and admins signing in through it) may use it: enabled and out of draft."""
        return self.enabled and not self.draft

    @property
    def status(self) -> Literal["live", "draft", "disabled"]:
        """The state the console shows: disabled wins, since a disabled draft is offered to no one either."""
        if not self.enabled:
            return "disabled"
        return "draft" if self.draft else "live"

    @field_validator("name")
    @classmethod
    def _name_is_slug(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                "use lowercase letters, digits and dashes (at most 63), starting with a letter or digit"
            )
        return value

    @field_validator("extra_authorize_params")
    @classmethod
    def _no_protocol_parameters(cls, value: dict[str, str]) -> dict[str, str]:
        taken = sorted(set(value) & RESERVED_AUTHORIZE_PARAMS)
        if taken:
            raise ValueError(f"{', '.join(taken)} are set by Deskgate itself and cannot be overridden")
        return value

    @field_validator("id_token_signing_algs")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [alg for alg in value if alg not in ALLOWED_SIGNING_ALGS]
        if bad or not value:
            raise ValueError(
                f"unsupported ID token algorithms {bad}; choose from {sorted(ALLOWED_SIGNING_ALGS)}"
            )
        return value

    @field_validator(
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    )
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s?#]+", value):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @model_validator(mode="after")
    def _endpoints_complete(self) -> ProviderConfig:
        if self.protocol == "saml":
            if self.saml is None:
                raise ValueError("a SAML provider needs its saml settings (entity id, SSO URL, certificates)")
            return self  # the OIDC/OAuth 2.0 fields play no part
        if self.saml is not None:
            raise ValueError("saml settings belong to a provider with protocol: saml")
        if not self.client_id:
            raise ValueError("client_id is required")
        if self.protocol == "oidc" and self.discovery:
            if not self.issuer:
                raise ValueError("an OIDC provider with discovery needs an issuer")
        else:
            missing = [f for f in ("authorization_endpoint", "token_endpoint") if not getattr(self, f)]
            if self.protocol == "oidc":
                missing += [f for f in ("issuer", "jwks_uri") if not getattr(self, f)]
            else:
                missing += [] if self.userinfo_endpoint else ["userinfo_endpoint"]
            if missing:
                raise ValueError(f"without discovery these endpoints are required: {', '.join(missing)}")
        if self.protocol == "oidc" and "openid" not in self.scopes:
            raise ValueError("an OIDC provider needs the 'openid' scope")
        if self.token_endpoint_auth_method != "none" and self.client_secret is None:  # noqa: S105
            raise ValueError(f"{self.token_endpoint_auth_method} needs a client secret")
        if self.token_endpoint_auth_method == "none" and not self.use_pkce:  # noqa: S105
            raise ValueError("a public client (auth method 'none') must use PKCE")
        return self
