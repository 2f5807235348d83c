"""Presets for hosted identity services (the vendor's host names, the customer's tenant in the URL)."""

# ruff: noqa: S105  # "token" here names endpoints and auth methods, never a secret value

from __future__ import annotations

from deskgate.identity.mapping import AttributeMapping
from deskgate.identity.presets.base import Preset, PresetField, domain_field


class Okta(Preset):
    """Okta, with the org authorization server or a custom one (``default`` or an id)."""

    name = "okta"
    title = "Okta"
    description = "An Okta or Okta Customer Identity organisation."
    fields = (
        domain_field("Okta domain", "Your Okta org's host name (or custom domain).", "example.okta.com"),
        PresetField(
            "authorization_server",
            "Authorization server",
            "Leave empty for the org authorization server; or default, or a custom server's id.",
            required=False,
            placeholder="default",
            kind="segment",
        ),
    )
    issuer = ("https://{domain}/oauth2/{authorization_server}", "https://{domain}")
    # Logout: https://help.okta.com/oie/en-us/content/Topics/apps/apps_single_logout.htm says OIDC apps can
    # take Okta's single logout requests as a GET to the app; the labels of that (partly Early Access)
    # setting could not be read there, so the help names only the sign-out redirect URI it confirms.
    setup_help = """
        1. In the Okta Admin Console open Applications > Applications > Create App Integration.
        2. Sign-in method: OIDC - OpenID Connect. Application type: Web Application. Next.
        3. App integration name: Deskgate. Grant type: Authorization Code only.
        4. Sign-in redirect URIs: {callback_url}
           Sign-out redirect URIs: {post_logout_redirect_uri}
        5. Assignments: everyone, or the groups whose members may sign in. Save.
        6. General > Client Credentials: Client authentication Client secret (Deskgate sends it with HTTP
           Basic, client_secret_basic); tick Require PKCE as additional verification. Copy the Client
           ID and the secret into this form.
        7. Groups (optional): Sign On > OpenID Connect ID Token > Edit: Groups claim type Filter, name
           groups, Matches regex .*
        8. Authorization server: leave it empty in this form to use the org server, or enter default (or
           a server id from Security > API > Authorization Servers) to use that one.
        """


class Google(Preset):
    """Google accounts and Google Workspace."""

    name = "google"
    title = "Google"
    description = "Google accounts, including Google Workspace."
    issuer = "https://accounts.google.com"
    frontchannel_logout = "off"  # no logout of any kind for relying parties
    default_mapping = AttributeMapping(organization=("hd",))  # hd: the Workspace domain
    # Not re-checked in issue 10; Google's discovery document offers no end_session_endpoint.
    setup_help = """
        1. In the Google Cloud console choose (or create) a project and open Google Auth Platform
           (APIs & Services > OAuth consent screen). Audience: Internal for your Workspace users only,
           External for any Google account (then publish the app).
        2. Data access: add the scopes openid, .../auth/userinfo.email and .../auth/userinfo.profile.
        3. Clients > Create client (APIs & Services > Credentials > Create credentials > OAuth client
           ID). Application type: Web application. Name: Deskgate.
        4. Authorized redirect URIs: add {callback_url}. Create.
        5. Copy the Client ID and Client secret into this form. Deskgate sends them with HTTP Basic
           (client_secret_basic).
        Google offers relying parties no sign-out endpoint: signing out of Deskgate leaves the user
        signed in to Google.
        """


class Auth0(Preset):
    """Auth0. Its issuer ends with a slash, and ID tokens carry it exactly so."""

    name = "auth0"
    title = "Auth0"
    description = "An Auth0 tenant (its auth0.com domain or your custom domain)."
    fields = (
        domain_field(
            "Auth0 domain", "The Domain shown in the application's settings.", "example.eu.auth0.com"
        ),
    )
    issuer = "https://{domain}/"
    token_endpoint_auth_method = "client_secret_post"
    # Logout checked against https://auth0.com/docs/authenticate/login/logout/back-channel-logout and
    # .../back-channel-logout/configure-back-channel-logout: OIDC back-channel logout (Enterprise plans),
    # logout tokens carry sid, the URI must be public https (no loopback or private addresses).
    setup_help = """
        1. In the Auth0 Dashboard open Applications > Applications > Create Application. Name: Deskgate;
           type: Regular Web Applications. Create.
        2. Settings: copy Domain, Client ID and Client Secret into this form (use your custom domain
           instead if you configured one).
        3. Application URIs: Allowed Callback URLs {callback_url}
           Allowed Logout URLs {post_logout_redirect_uri}. Save Changes.
        4. Credentials: Authentication Method Client Secret (Post); Deskgate sends the secret in the
           request body (client_secret_post).
        5. Settings > Advanced Settings > Grant Types: Authorization Code. Save Changes.
        6. Settings (tenant) > Advanced: turn on RP-Initiated Logout End Session Endpoint Discovery, so
           signing out of Deskgate also ends the Auth0 session.
        7. Back-channel logout (Enterprise plans): in the application's settings, OpenID Connect
           Back-Channel Logout, set the Back-Channel Logout URI to {backchannel_logout_url} (a public
           https address), so Auth0 tells Deskgate when a session ends elsewhere.
        """


class Cognito(Preset):
    """Amazon Cognito user pools.

    Cognito's discovery document has no end_session_endpoint; sign-out is the hosted (managed login)
    domain's ``/logout``, which expects ``client_id`` and ``logout_uri`` rather than the standard
    ``post_logout_redirect_uri``. Cognito sends ``email_verified`` as a string.
    """

    name = "cognito"
    title = "Amazon Cognito"
    description = "An Amazon Cognito user pool with its hosted (managed login) pages."
    fields = (
        PresetField(
            "region",
            "AWS region",
            "The region of the user pool.",
            placeholder="eu-west-1",
            kind="segment",
            pattern="[a-z]{2}(-gov)?-[a-z]+-[0-9]",
            pattern_hint="an AWS region such as eu-west-1",
        ),
        PresetField(
            "user_pool_id",
            "User pool ID",
            "From the user pool's overview.",
            placeholder="eu-west-1_AbCdEf123",
            kind="segment",
            pattern="[a-z]{2}(-gov)?-[a-z]+-[0-9]_[A-Za-z0-9]+",
            pattern_hint="a user pool ID such as eu-west-1_AbCdEf123",
        ),
        PresetField(
            "hosted_domain",
            "Cognito domain",
            "The user pool's Cognito or custom domain; needed for sign-out only.",
            required=False,
            placeholder="example.auth.eu-west-1.amazoncognito.com",
            kind="domain",
        ),
    )
    issuer = "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
    frontchannel_logout = "off"  # user pools call no relying party at sign-out
    end_session_endpoint = "https://{hosted_domain}/logout"
    # Not re-checked in issue 10; Cognito documents no front- or back-channel logout for app clients.
    setup_help = """
        1. In the AWS console open Amazon Cognito > User pools and choose your pool. Note its region
           and User pool ID for this form.
        2. Branding > Domain (older console: App integration > Domain): create a Cognito domain or a
           custom domain, and enter it as the Cognito domain here.
        3. Applications > App clients > Create app client. Application type: Traditional web
           application. Name: Deskgate. Return URL: {callback_url}. Create.
        4. The app client's Login pages > Edit: Allowed callback URLs {callback_url}
           Allowed sign-out URLs {post_logout_redirect_uri}
           OAuth 2.0 grant types: Authorization code grant. OpenID Connect scopes: OpenID, Email,
           Profile. Save.
        5. Copy the Client ID and Client secret from App client information into this form. Deskgate
           sends them with HTTP Basic (client_secret_basic).
        """


class OneLogin(Preset):
    """OneLogin, OIDC version 2 endpoints."""

    name = "onelogin"
    title = "OneLogin"
    description = "A OneLogin account, through an OpenId Connect (OIDC) app."
    fields = (
        PresetField(
            "subdomain",
            "OneLogin subdomain",
            "The first part of your admin address: example for example.onelogin.com.",
            placeholder="example",
            kind="segment",
            pattern="[a-z0-9](?:[a-z0-9-]*[a-z0-9])?",
            pattern_hint="the lowercase subdomain only, such as example",
        ),
    )
    issuer = "https://{subdomain}.onelogin.com/oidc/2"
    # Logout: https://developers.onelogin.com/openid-connect/api/logout (RP-initiated; the
    # post_logout_redirect_uri must match the app's Post Logout Redirect URI exactly). No front- or
    # back-channel logout setting was found for OIDC apps.
    setup_help = """
        1. In the OneLogin admin portal open Applications > Applications > Add App, search for OpenId
           Connect and choose OpenId Connect (OIDC). Display Name: Deskgate. Save.
        2. Configuration: Redirect URI's {callback_url}
           Post Logout Redirect URI {post_logout_redirect_uri}. Save.
        3. SSO: Application Type Web; Token Endpoint Authentication Method Basic (client_secret_basic).
           Copy the Client ID and, with Show client secret, the Client Secret into this form.
        4. Access (or Users): assign the roles or users who may sign in. Save.
        """


class Salesforce(Preset):
    """Salesforce as an OpenID Provider (production, sandbox or My Domain)."""

    name = "salesforce"
    title = "Salesforce"
    description = "Salesforce users, through a Connected App or External Client App."
    fields = (
        domain_field(
            "Salesforce domain",
            "login.salesforce.com, test.salesforce.com for sandboxes, or your My Domain.",
            "example.my.salesforce.com",
            default="login.salesforce.com",
        ),
    )
    issuer = "https://{domain}"
    token_endpoint_auth_method = "client_secret_post"
    client_id_label = "Consumer key"
    client_secret_label = "Consumer secret"
    # Not re-checked in issue 10: the Single Logout fields of a Connected App were not found with `search`.
    setup_help = """
        1. In Salesforce Setup search App Manager and click New Connected App (newer orgs: New External
           Client App; the fields are the same). Name: Deskgate; enter a contact email.
        2. Tick Enable OAuth Settings. Callback URL: {callback_url}
        3. Selected OAuth Scopes: Access unique user identifiers (openid) and Access the identity URL
           service (id, profile, email, address, phone).
        4. Keep Require Secret for Web Server Flow and Require Proof Key for Code Exchange ticked.
        5. Optional: tick Enable Single Logout and set the Single Logout URL to
           {frontchannel_logout_url}. Save (changes can take a few minutes to apply).
        6. Manage Consumer Details: copy the Consumer Key and Consumer Secret into this form. Deskgate
           sends them in the request body (client_secret_post).
        7. Manage > Edit Policies > Permitted Users: choose who may sign in.
        """


class JumpCloud(Preset):
    """JumpCloud; one issuer for every organisation (with a trailing slash, as in its ID tokens)."""

    name = "jumpcloud"
    title = "JumpCloud"
    description = "JumpCloud users, through a custom OIDC SSO application."
    issuer = "https://oauth.id.jumpcloud.com/"
    # Not re-checked in issue 10; no JumpCloud logout setting for OIDC applications was found.
    setup_help = """
        1. In the JumpCloud Admin Portal open User Authentication > SSO Applications > Add New
           Application > Custom Application. Next. Select Manage Single Sign-On (SSO) and Configure SSO
           with OIDC. Next. Display Label: Deskgate. Save, then Configure Application.
        2. SSO: Redirect URIs {callback_url}; Client Authentication Type: Client Secret Basic
           (client_secret_basic); Login URL: Deskgate's address.
        3. Attribute Mapping: Standard scopes Email and Profile; optionally Include group attribute,
           named groups.
        4. User Groups: bind the groups whose members may sign in. Activate.
        5. Copy the Client ID and Client Secret shown after activation (the secret only once) into this
           form.
        """


class GitHub(Preset):
    """GitHub (OAuth 2.0 only, no OpenID Connect): the profile comes from the REST API.

    The user's numeric ``id`` is the stable subject (logins can be renamed). ``email`` is the public
    profile address and is null for people who keep theirs private.
    """

    name = "github"
    frontchannel_logout = "off"  # OAuth 2.0 only: no logout of any kind for applications
    title = "GitHub"
    description = "GitHub accounts (OAuth App); identifies people by their GitHub user id."
    protocol = "oauth2"
    discovery = False
    authorization_endpoint = "https://github.com/login/oauth/authorize"
    token_endpoint = "https://github.com/login/oauth/access_token"
    userinfo_endpoint = "https://api.github.com/user"
    default_scopes = ("read:user", "user:email")
    token_endpoint_auth_method = "client_secret_post"
    subject_claim = "id"
    default_mapping = AttributeMapping(
        email_verified=(),
        first_name=(),
        last_name=(),
        display_name=("name", "login"),
        groups=(),
    )
    setup_help = """
        1. On GitHub open Settings > Developer settings > OAuth Apps > New OAuth App (for an
           organization: the organization's Settings > Developer settings > OAuth Apps).
        2. Application name: Deskgate. Homepage URL: Deskgate's address. Authorization callback URL:
           {callback_url}. Register application.
        3. Generate a new client secret; copy it and the Client ID into this form. Deskgate sends them
           in the request body (client_secret_post).
        GitHub shows only a user's public email on the profile, so people who keep it private may
        arrive without an email address. GitHub has no sign-out endpoint for applications.
        """
