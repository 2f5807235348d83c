"""Presets for any standards-following provider that has no preset of its own."""

# ruff: noqa: S105  # "token" here names endpoints and auth methods, never a secret value

from __future__ import annotations

from deskgate.identity.presets.base import Preset, PresetField


class GenericOIDC(Preset):
    """Any OpenID Connect provider that publishes a discovery document."""

    name = "generic-oidc"
    title = "OpenID Connect"
    description = "Any OpenID Connect provider with discovery (/.well-known/openid-configuration)."
    fields = (
        PresetField(
            "issuer",
            "Issuer URL",
            "Exactly as the provider's discovery document states it, including any trailing slash.",
            placeholder="https://idp.example.com",
            kind="url",
        ),
    )
    issuer = "{issuer}"
    # Field names from the specifications: OIDC Front-Channel Logout 1.0 (frontchannel_logout_uri,
    # frontchannel_logout_session_required) and Back-Channel Logout 1.0 (backchannel_logout_uri,
    # backchannel_logout_session_required), https://openid.net/specs/openid-connect-backchannel-1_0.html
    setup_help = """
        1. At your provider register a new OpenID Connect client (relying party) of the confidential /
           web application type, using the authorization code flow.
        2. Redirect URI: {callback_url}
        3. Post-logout redirect URI: {post_logout_redirect_uri}
           Front-channel logout URI, if supported: {frontchannel_logout_url} (with the session id
           required). Back-channel logout URI, if supported: {backchannel_logout_url} (with the
           session id required).
        4. Allow the scopes openid, email and profile. ID token signing: RS256 or ES256 (not HS256).
        5. Client authentication: client_secret_basic (HTTP Basic). If the provider only offers
           client_secret_post, use its own preset or change the method after saving.
        6. Enter the issuer (open <issuer>/.well-known/openid-configuration to check it), the client ID
           and the secret in this form.
        """


class GenericOAuth2(Preset):
    """A plain OAuth 2.0 provider: no ID token, the identity comes from a userinfo-style API."""

    name = "generic-oauth2"
    frontchannel_logout = "off"  # plain OAuth 2.0 defines no front-channel logout
    title = "OAuth 2.0"
    description = "A plain OAuth 2.0 provider whose user API identifies the person (no OpenID Connect)."
    protocol = "oauth2"
    discovery = False
    fields = (
        PresetField(
            "authorization_endpoint",
            "Authorization endpoint",
            "Where users are sent to sign in.",
            placeholder="https://idp.example.com/oauth/authorize",
            kind="url",
        ),
        PresetField(
            "token_endpoint",
            "Token endpoint",
            "Where Deskgate exchanges the code for a token.",
            placeholder="https://idp.example.com/oauth/token",
            kind="url",
        ),
        PresetField(
            "userinfo_endpoint",
            "User API endpoint",
            "Returns the signed-in person's profile as JSON for the access token.",
            placeholder="https://api.example.com/me",
            kind="url",
        ),
        PresetField(
            "subject_claim",
            "User id field",
            "The field of that JSON that identifies the person permanently (dots for nested fields).",
            default="id",
            placeholder="id",
            kind="segment",
            pattern=r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*",
            pattern_hint="a field name such as id or data.id",
        ),
        PresetField(
            "end_session_endpoint",
            "Sign-out endpoint",
            "Optional: where users are sent to sign out of the provider.",
            required=False,
            placeholder="https://idp.example.com/logout",
            kind="url",
        ),
    )
    authorization_endpoint = "{authorization_endpoint}"
    token_endpoint = "{token_endpoint}"
    userinfo_endpoint = "{userinfo_endpoint}"
    end_session_endpoint = "{end_session_endpoint}"
    subject_claim = "{subject_claim}"
    default_scopes = ()
    setup_help = """
        1. At your provider register a new OAuth 2.0 client (confidential / web application) using the
           authorization code grant.
        2. Redirect URI: {callback_url}
        3. If the provider can redirect after sign-out, allow {post_logout_redirect_uri}
        4. Client authentication: client_secret_basic (HTTP Basic).
        5. Enter the authorization, token and user API endpoints from the provider's documentation, the
           scopes that user API needs, and the client ID and secret in this form.
        6. Use the Test connection page to check which field of the user API identifies a person, and
           map email and names from it.
        """
