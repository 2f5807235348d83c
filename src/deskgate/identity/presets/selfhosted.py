"""Presets for identity providers an organisation runs itself (its own host name in every URL)."""

# ruff: noqa: S105  # "token" here names endpoints and auth methods, never a secret value

from __future__ import annotations

from deskgate.identity.mapping import AttributeMapping
from deskgate.identity.presets.base import Preset, PresetField, domain_field


class Gluu(Preset):
    """Gluu Server 4.x (oxAuth). Its clients default to ``client_secret_post`` in the oxTrust form."""

    name = "gluu"
    title = "Gluu Server 4"
    description = "Gluu Server 4.x with oxAuth as the OpenID Provider, clients managed in oxTrust."
    fields = (domain_field("Gluu host name", "The host name of your Gluu Server.", "idp.example.com"),)
    issuer = "https://{domain}"
    frontchannel_logout = "iss_and_sid"  # with Logout Session Required on (step 6)
    # Discovery stays on; the explicit endpoints (oxAuth's fixed paths) take precedence over it.
    authorization_endpoint = "https://{domain}/oxauth/restv1/authorize"
    token_endpoint = "https://{domain}/oxauth/restv1/token"
    userinfo_endpoint = "https://{domain}/oxauth/restv1/userinfo"
    jwks_uri = "https://{domain}/oxauth/restv1/jwks"
    end_session_endpoint = "https://{domain}/oxauth/restv1/end_session"
    token_endpoint_auth_method = "client_secret_post"
    # Gluu releases LDAP memberOf as the claim member_of.
    default_mapping = AttributeMapping(groups=("groups", "member_of", "memberof"))
    # Not re-checked in issue 10: no Gluu 4 oxTrust client-form page was found with `search`; the steps
    # follow Deskgate's Gluu set-up guide. oxAuth also does back-channel logout, but the oxTrust field for
    # it could not be confirmed, so the help does not name it.
    setup_help = """
        1. Sign in to oxTrust (https://<your Gluu host>/identity) as an administrator.
        2. Open OpenID Connect > Clients and click Add Client.
        3. Client Name: Deskgate. Application Type: Web. Set a Client Secret (a long random value) and
           keep a copy for this form.
        4. Authentication method for the Token Endpoint: client_secret_post.
        5. Redirect Login URIs: add {callback_url}
        6. Front Channel Logout URI: {frontchannel_logout_url} and switch Logout Session Required on,
           so Gluu tells Deskgate which session ended.
        7. Post Logout Redirect URIs (Redirect Logout URIs): add {post_logout_redirect_uri}
        8. Scopes: add openid, profile and email.
        9. Response Types: code. Grant Types: authorization_code.
        10. Click Add, then copy the client's Client ID (its inum) and the Client Secret into this form.
        """


class Janssen(Preset):
    """Janssen Server and Gluu Flex (jans-auth), the successors of Gluu Server 4."""

    name = "janssen"
    title = "Janssen / Gluu Flex"
    description = "Janssen Server or Gluu Flex, with jans-auth as the OpenID Provider."
    fields = (
        domain_field("Janssen host name", "The host name of your Janssen or Flex server.", "idp.example.com"),
    )
    issuer = "https://{domain}"
    frontchannel_logout = "iss_and_sid"  # with Front Channel Logout Session Required on (step 6)
    authorization_endpoint = "https://{domain}/jans-auth/restv1/authorize"
    token_endpoint = "https://{domain}/jans-auth/restv1/token"
    userinfo_endpoint = "https://{domain}/jans-auth/restv1/userinfo"
    jwks_uri = "https://{domain}/jans-auth/restv1/jwks"
    end_session_endpoint = "https://{domain}/jans-auth/restv1/end_session"
    token_endpoint_auth_method = "client_secret_post"
    default_mapping = AttributeMapping(groups=("groups", "memberof", "member_of"))
    # Logout checked against https://docs.jans.io/stable/janssen-server/auth-server/openid-features/logout
    # (TUI: Auth Server > Clients > Logout; front-channel, back-channel and post-logout redirect per client)
    # and the client schema (backchannelLogoutUri, backchannelLogoutSessionRequired). The TUI's exact
    # labels are shown there as a screenshot only.
    setup_help = """
        1. On the server run the Janssen TUI (sudo /opt/jans/jans-cli/jans_cli_tui.py), or with Gluu Flex
           open the Admin UI, and go to Auth Server > Clients > Add Client.
        2. Client Name: Deskgate. Application Type: web. Token Endpoint Auth Method: client_secret_post.
           Enter a long random Client Secret, or let Janssen generate one, and keep a copy.
        3. Redirect URIs: {callback_url}
        4. Grant Types: authorization_code. Response Types: code.
        5. Scopes: openid, profile and email.
        6. Logout: Post Logout Redirect URIs {post_logout_redirect_uri}; Front Channel Logout URI
           {frontchannel_logout_url} with Front Channel Logout Session Required on; and, for sign-outs
           the browser does not see, Back Channel Logout URI {backchannel_logout_url} with Back Channel
           Logout Session Required on.
        7. Save, then copy the client id (its inum) and the secret into this form.
        """


class Keycloak(Preset):
    """Keycloak (and Red Hat build of Keycloak). Keycloak 16 and older kept everything under /auth."""

    name = "keycloak"
    title = "Keycloak"
    description = "A Keycloak realm, on your own server or a hosted Keycloak."
    fields = (
        PresetField(
            "server",
            "Keycloak server",
            "Host name, or the base URL if Keycloak lives under a path (sso.example.com/auth).",
            placeholder="sso.example.com",
            kind="base_url",
        ),
        PresetField(
            "realm", "Realm", "The realm your customers sign in to.", placeholder="customers", kind="segment"
        ),
    )
    issuer = "{server}/realms/{realm}"
    frontchannel_logout = "iss_and_sid"  # with Front-channel logout session required on (step 5)
    # Checked against https://www.keycloak.org/docs/latest/server_admin/#_oidc-logout (the client's
    # Logout settings) and https://phasetwo.io/tutorials/sessions/oidc-logout/ (Keycloak 26): a client
    # gets front-channel OR back-channel logout, never both; with Front channel logout on Keycloak never
    # calls the back-channel URL (https://github.com/keycloak/keycloak/issues/15058). Groups come from a
    # Group Membership mapper; Keycloak answers invalid_scope for a `groups` scope no client scope defines.
    setup_help = """
        1. In the Keycloak admin console switch to the realm your customers sign in to.
        2. Clients > Create client. Client type: OpenID Connect. Client ID: deskgate. Next.
        3. Capability config: Client authentication On; Authentication flow: Standard flow only. Next.
        4. Login settings: Valid redirect URIs {callback_url}
           Valid post logout redirect URIs {post_logout_redirect_uri}. Save.
        5. Settings > Logout settings. Keycloak tells a client of a sign-out one way only, so choose one.
           Back-channel (recommended: no browser involved): Front channel logout Off, Backchannel logout
           URL {backchannel_logout_url}, Backchannel logout session required On. Or front-channel: Front
           channel logout On, Front-channel logout URL {frontchannel_logout_url}, Front-channel logout
           session required On (Keycloak then never calls the back-channel URL). Save.
        6. Advanced > Proof Key for Code Exchange Code Challenge Method: S256. Save.
        7. Credentials: Client Authenticator "Client Id and Secret" (Deskgate sends it with HTTP Basic,
           client_secret_basic). Copy the Client Secret, and the Client ID from step 2, into this form.
        8. Groups (optional): Client scopes > deskgate-dedicated > Configure a new mapper > Group
           Membership; Token Claim Name groups; Full group path Off; Add to ID token and Add to userinfo
           On. Keep the scopes in this form as they are: the mapper sends groups with them, and asking
           for a groups scope makes Keycloak refuse the sign-in (invalid_scope) unless you created one.
        """


class PingFederate(Preset):
    """PingFederate; the issuer is the Base URL set under System > Server Settings > Federation Info."""

    name = "pingfederate"
    title = "PingFederate"
    description = "PingFederate as an OpenID Provider (its OAuth authorization server)."
    fields = (
        domain_field(
            "PingFederate host",
            "The host (and port, if not 443) of PingFederate's Base URL.",
            "sso.example.com:9031",
        ),
    )
    issuer = "https://{domain}"
    # Not re-checked in issue 10: `search` found no PingFederate client-form page, so its front-channel
    # and back-channel logout fields (and their labels) are unconfirmed.
    setup_help = """
        1. In the PingFederate administrative console open Applications > OAuth > Clients > Add Client.
        2. Client ID: deskgate. Name: Deskgate.
        3. Client Authentication: Client Secret; generate one and copy it now. Deskgate sends it with
           HTTP Basic (client_secret_basic).
        4. Redirect URIs: add {callback_url}
        5. Allowed Grant Types: Authorization Code only. Tick Require Proof Key for Code Exchange (PKCE).
        6. OpenID Connect: ID Token Signing Algorithm RSA using SHA-256; Policy: an OpenID Connect
           policy whose attribute contract releases email, given_name, family_name (and groups).
        7. Logout: Logout URIs {frontchannel_logout_url}; Post-Logout Redirect URIs (where your version
           offers it) {post_logout_redirect_uri}. Save.
        8. Enter the client ID and secret in this form.
        """


class LemonLdap(Preset):
    """LemonLDAP::NG 2.x. Its issuer is the portal's URL with the trailing slash; 2.16 puts no sid in its
    ID tokens and sends the user's id as the front-channel ``sid`` (hence ``sid_or_subject``)."""

    name = "lemonldap"
    title = "LemonLDAP::NG"
    description = "LemonLDAP::NG 2.x, its portal as the OpenID Provider."
    fields = (
        domain_field("Portal host name", "The host name of the LemonLDAP::NG portal.", "auth.example.com"),
    )
    issuer = "https://{domain}/"
    frontchannel_logout = "sid_or_subject"
    # Logout behaviour confirmed on a running LemonLDAP::NG 2.16 (docs/PEERS.md): front-channel with iss and
    # the user id as sid, no back-channel logout in 2.16. The manager's labels were not re-checked online.
    setup_help = """
        1. In the LemonLDAP::NG manager, General Parameters > Issuer modules > OpenID Connect: Activation On.
        2. OpenID Connect Relying Parties > Add OpenID Relying Party: deskgate.
        3. Options > Basic: Client ID deskgate; Client secret a long random value (keep a copy); Public
           client Off. Deskgate sends it with HTTP Basic (client_secret_basic).
        4. Options > Basic: Allowed redirection addresses for login {callback_url}
        5. Options > Logout: Allowed redirection addresses for logout {post_logout_redirect_uri}; URL
           {frontchannel_logout_url}; Type Front-channel; Session required On.
        6. Exported attributes: email, name, given_name, family_name (and groups) from the user's
           session attributes. Save the configuration.
        7. Enter the client ID and secret in this form.
        """


class GitLab(Preset):
    """GitLab.com or a self-managed GitLab instance."""

    name = "gitlab"
    title = "GitLab"
    description = "GitLab.com or your own GitLab instance, as an OpenID Provider."
    fields = (
        domain_field(
            "GitLab host", "gitlab.com, or the host of your own instance.", "gitlab.com", default="gitlab.com"
        ),
    )
    issuer = "https://{domain}"
    frontchannel_logout = "off"  # no logout of any kind for applications
    client_id_label = "Application ID"
    # The ID token lists direct memberships in groups_direct; userinfo has groups (with inherited ones).
    default_mapping = AttributeMapping(display_name=("name", "nickname"), groups=("groups", "groups_direct"))
    # Not re-checked in issue 10; GitLab documents no front- or back-channel logout for OAuth applications.
    setup_help = """
        1. In GitLab open User settings > Applications (or a group's Settings > Applications, or on a
           self-managed instance Admin > Applications) and add a new application.
        2. Name: Deskgate. Redirect URI: {callback_url}. Keep Confidential ticked.
        3. Scopes: openid, profile and email. Save application.
        4. Copy the Application ID and Secret into this form. Deskgate sends them with HTTP Basic
           (client_secret_basic).
        GitLab has no sign-out endpoint for applications: signing out of Deskgate leaves the user signed
        in to GitLab.
        """
