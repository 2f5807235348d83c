"""Presets for Microsoft's identity services: Entra ID, Azure AD B2C and AD FS."""

# ruff: noqa: S105  # "token" here names endpoints and auth methods, never a secret value

from __future__ import annotations

from types import MappingProxyType

from deskgate.identity.mapping import AttributeMapping
from deskgate.identity.presets.base import Preset, PresetField, domain_field

_TENANT_GUID_HELP = "A GUID. Domain names and common/organizations are refused: their issuer would not match."


class Entra(Preset):
    """Microsoft Entra ID (formerly Azure AD), single-tenant, v2.0 endpoints.

    The tenant must be the GUID: with a domain name or ``common`` the discovery document names a
    different issuer than the one configured and ID token validation fails.
    """

    name = "entra"
    title = "Microsoft Entra ID"
    description = "Microsoft Entra ID (Azure AD) accounts of one organisation."
    fields = (
        PresetField(
            "tenant",
            "Directory (tenant) ID",
            _TENANT_GUID_HELP,
            placeholder="72f988bf-86f1-41af-91ab-2d7cd011db47",
            kind="guid",
        ),
    )
    issuer = "https://login.microsoftonline.com/{tenant}/v2.0"
    frontchannel_logout = "sid_only"  # Entra sends ?sid=… without iss, against the spec
    client_id_label = "Application (client) ID"
    # email is only sent when the user has a mailbox address and the optional claim is configured;
    # preferred_username and upn are usually the sign-in address.
    default_mapping = AttributeMapping(email=("email", "preferred_username", "upn"))
    # Logout: the app's Authentication page has one Front-channel logout URL (the Graph web.logoutUrl,
    # https://learn.microsoft.com/en-us/graph/api/resources/webapplication), which Entra calls with sid
    # and no iss (https://github.com/nginxinc/nginx-openid-connect/issues/117); Entra has no OIDC
    # back-channel logout for it to call. The other steps were not re-checked in issue 10.
    setup_help = """
        1. In the Microsoft Entra admin center open Identity > Applications > App registrations > New
           registration.
        2. Name: Deskgate. Supported account types: Accounts in this organizational directory only.
        3. Redirect URI: platform Web, {callback_url}. Register.
        4. From Overview copy the Application (client) ID and the Directory (tenant) ID into this form.
        5. Authentication: add {post_logout_redirect_uri} as a second Web redirect URI (Entra only
           returns there after sign-out if it is registered) and set Front-channel logout URL to
           {frontchannel_logout_url}. Save.
        6. Certificates & secrets > New client secret. Copy its Value (not the Secret ID) now; it is
           shown once. Deskgate sends it with HTTP Basic (client_secret_basic).
        7. Token configuration > Add optional claim > ID: email, given_name, family_name (accept the
           Microsoft Graph permission prompt). Optionally Add groups claim.
        8. API permissions: Microsoft Graph openid, email and profile (delegated); Grant admin consent.
        """


class AzureB2C(Preset):
    """Azure AD B2C with a user flow or custom policy.

    Discovery is off on purpose: B2C's metadata lives under the policy path, but the issuer it
    declares (and puts in ID tokens) is ``https://<tenant>.b2clogin.com/<tenant id>/v2.0/``, so
    discovering from the issuer would fetch the wrong document. User flows send the address as
    ``emails`` (a list), custom policies usually as ``email``.
    """

    name = "azure-b2c"
    title = "Azure AD B2C"
    description = "Customer accounts in an Azure AD B2C tenant, through a user flow or custom policy."
    fields = (
        PresetField(
            "tenant",
            "Tenant name",
            "The part before .onmicrosoft.com.",
            placeholder="contoso",
            kind="segment",
            pattern="[a-z0-9]+",
            pattern_hint="the lowercase tenant name without .onmicrosoft.com, such as contoso",
        ),
        PresetField(
            "tenant_id",
            "Tenant ID",
            "From Azure AD B2C > Overview (a GUID).",
            placeholder="72f988bf-…",
            kind="guid",
        ),
        PresetField(
            "policy",
            "User flow or policy",
            "Its full name, starting B2C_1_ (user flow) or B2C_1A_ (custom policy).",
            placeholder="B2C_1_signupsignin",
            kind="segment",
            pattern="[Bb]2[Cc]_1[Aa]?_[A-Za-z0-9_.-]+",
            pattern_hint="a user flow or policy name such as B2C_1_signupsignin",
        ),
    )
    issuer = "https://{tenant}.b2clogin.com/{tenant_id}/v2.0/"
    discovery = False
    authorization_endpoint = (
        "https://{tenant}.b2clogin.com/{tenant}.onmicrosoft.com/{policy}/oauth2/v2.0/authorize"
    )
    token_endpoint = "https://{tenant}.b2clogin.com/{tenant}.onmicrosoft.com/{policy}/oauth2/v2.0/token"
    jwks_uri = "https://{tenant}.b2clogin.com/{tenant}.onmicrosoft.com/{policy}/discovery/v2.0/keys"
    end_session_endpoint = (
        "https://{tenant}.b2clogin.com/{tenant}.onmicrosoft.com/{policy}/oauth2/v2.0/logout"
    )
    default_scopes = ("openid",)  # B2C puts the user flow's application claims in the ID token
    token_endpoint_auth_method = "client_secret_post"
    client_id_label = "Application (client) ID"
    default_mapping = AttributeMapping(email=("email", "emails"), display_name=("name",))
    # Not re-checked in issue 10; its app registration has the same Front-channel logout URL as Entra's.
    setup_help = """
        1. In the Azure portal switch to your Azure AD B2C directory and open Azure AD B2C.
        2. User flows > New user flow > Sign up and sign in (Recommended). Name it, e.g. signupsignin;
           Azure calls it B2C_1_signupsignin, the name this form wants. Application claims: Email
           Addresses, Given Name, Surname, Display Name, User's Object ID. Create.
        3. App registrations > New registration. Name: Deskgate. Supported account types: Accounts in
           any identity provider or organizational directory (for authenticating users with user
           flows). Redirect URI: Web, {callback_url}. Keep "Grant admin consent to openid and
           offline_access permissions" ticked. Register.
        4. Authentication: add {post_logout_redirect_uri} as another Web redirect URI and set
           Front-channel logout URL to {frontchannel_logout_url}. Save.
        5. Certificates & secrets > New client secret; copy its Value now. Deskgate sends it in the
           request body (client_secret_post).
        6. Copy the Application (client) ID from the app's Overview, and the tenant name and Tenant ID
           from Azure AD B2C > Overview, into this form.
        """


class ADFS(Preset):
    """Active Directory Federation Services 2016 or later.

    AD FS only copies issuance-rule claims into the ID token for the ``allatclaims`` scope, with the
    Web API identifier equal to the client id (sent as ``resource``); otherwise the ID token carries
    little more than ``upn`` and ``unique_name``, which is why the mapping falls back to them.
    """

    name = "adfs"
    title = "Microsoft AD FS"
    description = "Active Directory Federation Services 2016 or later, as an OpenID Connect provider."
    fields = (domain_field("AD FS host name", "The federation service name.", "sts.example.com"),)
    issuer = "https://{domain}/adfs"
    default_scopes = ("openid", "email", "profile", "allatclaims")
    extra_authorize_params = MappingProxyType({"resource": "{client_id}"})
    default_mapping = AttributeMapping(
        email=("email", "upn"),
        display_name=("name", "unique_name"),
        groups=("group", "groups"),
    )
    # Not re-checked in issue 10: the Set-AdfsServerApplication -LogoutUri step follows Microsoft's AD FS
    # OpenID Connect logout article, which `search` did not find again.
    setup_help = """
        1. On the AD FS server open AD FS Management > Application Groups > Add Application Group.
        2. Name: Deskgate. Template: Server application accessing a web API. Next.
        3. Server application: copy the Client Identifier for this form. Redirect URI: add
           {callback_url} and {post_logout_redirect_uri}. Next.
        4. Configure Application Credentials: tick Generate a shared secret and copy it now (AD FS shows
           it once). Deskgate sends it with HTTP Basic (client_secret_basic). Next.
        5. Configure Web API: Identifier = the Client Identifier from step 3. Next.
        6. Access control policy: Permit everyone, or a policy limited to your customers' group. Next.
        7. Permitted scopes: openid, email, profile and allatclaims. Next, Close.
        8. Open the group's Web API > Issuance Transform Rules > Add Rule > Send LDAP Attributes as
           Claims (store Active Directory): E-Mail-Addresses -> E-Mail Address, Given-Name -> Given
           Name, Surname -> Surname, Token-Groups - Unqualified Names -> Group.
        9. Front-channel logout, in PowerShell: Set-AdfsServerApplication -TargetIdentifier
           <client identifier> -LogoutUri {frontchannel_logout_url}
        """
