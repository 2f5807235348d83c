"""SAML 2.0 presets, one small class per IdP product: metadata URL template, NameID format, default
mapping and the steps in the product's console. Deskgate's SP URLs in the steps are this IdP's own
(one SP entity per IdP), filled in when the help is shown.

Each preset names its source. Where the comment says "Source" only, the URL pattern and the console's
labels follow the vendor's documentation as known, without a fresh check here: the console wording of
hosted products changes, so an admin who finds a label moved should trust the product's own page.
"""

from __future__ import annotations

from types import MappingProxyType

from deskgate.identity.mapping import AttributeMapping
from deskgate.identity.presets.base import PresetField, domain_field
from deskgate.identity.presets.saml import PERSISTENT_FORMAT, UNSPECIFIED_FORMAT, SamlPreset

_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
_MICROSOFT = MappingProxyType(
    {
        "email": (_CLAIMS + "emailaddress",),
        "first_name": (_CLAIMS + "givenname",),
        "last_name": (_CLAIMS + "surname",),
        "groups": ("http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",),
    }
)
_OID = MappingProxyType(
    {
        "email": ("urn:oid:0.9.2342.19200300.100.1.3",),
        "first_name": ("urn:oid:2.5.4.42",),
        "last_name": ("urn:oid:2.5.4.4",),
        "groups": ("urn:oid:1.3.6.1.4.1.5923.1.5.1.1",),
    }
)
_FRIENDLY = MappingProxyType(
    {"email": ("email",), "first_name": ("firstName",), "last_name": ("lastName",), "groups": ("groups",)}
)
# Users without a mailbox have no email claim in Microsoft's products; their UPN is often the address.
_EMAIL_OR_UPN = AttributeMapping(email=("email", "upn"))


class AdfsSaml(SamlPreset):
    name = "adfs-saml"
    title = "AD FS (SAML)"
    description = "Active Directory Federation Services, with Deskgate as a SAML relying party trust."
    fields = (domain_field("AD FS host name", "The federation service name.", "sts.example.com"),)
    metadata_url = "https://{domain}/FederationMetadata/2007-06/FederationMetadata.xml"
    attribute_names = _MICROSOFT
    default_mapping = _EMAIL_OR_UPN
    # Source: https://learn.microsoft.com/windows-server/identity/ad-fs/operations/create-a-relying-party-trust
    setup_help = """
        1. In AD FS Management open Relying Party Trusts > Add Relying Party Trust, Claims aware.
        2. Import data about the relying party published online: {sp_metadata_url}
           (or enter it manually: identifier {sp_entity_id}, SAML 2.0 WebSSO URL {acs_url}).
        3. Access control policy: Permit everyone, or the group allowed to sign in.
        4. Edit Claim Issuance Policy > Add Rule > Send LDAP Attributes as Claims: E-Mail-Addresses →
           E-Mail Address, Given-Name → Given Name, Surname → Surname, Token-Groups - Unqualified
           Names → Group.
        5. Add a Transform an Incoming Claim rule: E-Mail Address → Name ID, format Email.
        6. In this form keep the metadata URL built from your federation service name.
        """


class EntraSaml(SamlPreset):
    name = "entra-saml"
    title = "Microsoft Entra ID (SAML)"
    description = "Microsoft Entra ID (Azure AD), with Deskgate as a SAML enterprise application."
    fields = (
        PresetField(
            "tenant", "Tenant ID", "Directory (tenant) ID, a GUID.", placeholder="00000000-…", kind="guid"
        ),
        PresetField("app_id", "Application ID", "The enterprise app's Application (client) ID.", kind="guid"),
    )
    metadata_url = (
        "https://login.microsoftonline.com/{tenant}/federationmetadata/2007-06/federationmetadata.xml"
        "?appid={app_id}",
        "https://login.microsoftonline.com/{tenant}/federationmetadata/2007-06/federationmetadata.xml",
    )
    attribute_names = _MICROSOFT
    default_mapping = _EMAIL_OR_UPN
    # Source: https://learn.microsoft.com/entra/identity/enterprise-apps/add-application-portal-setup-sso
    setup_help = """
        1. In the Entra admin center open Enterprise applications > New application > Create your own
           application (Integrate any other application you don't find in the gallery).
        2. Single sign-on > SAML > Basic SAML Configuration: Identifier (Entity ID) {sp_entity_id},
           Reply URL (Assertion Consumer Service URL) {acs_url}, Logout URL {slo_url}.
        3. Attributes & Claims: Unique User Identifier user.mail (Email address format), and add a group
           claim if filters or admin access use groups.
        4. Users and groups: assign who may sign in.
        5. Copy the App Federation Metadata Url from SAML Certificates, or enter the tenant and
           application ids in this form.
        """


class OktaSaml(SamlPreset):
    name = "okta-saml"
    title = "Okta (SAML)"
    description = "An Okta org, with Deskgate as a SAML 2.0 app integration."
    fields = (
        domain_field("Okta domain", "Your Okta org's host name.", "example.okta.com"),
        PresetField("app_id", "App ID", "The app's id (0oa…), from its address.", kind="segment"),
    )
    metadata_url = "https://{domain}/app/{app_id}/sso/saml/metadata"
    attribute_names = _FRIENDLY
    # Source: https://help.okta.com/en-us/content/topics/apps/apps_app_integration_wizard_saml.htm (field
    # names checked with `search` against integration guides; the metadata URL is the Sign On tab's link).
    setup_help = """
        1. In the Okta Admin Console open Applications > Create App Integration > SAML 2.0.
        2. Single sign-on URL {acs_url} (Use this for Recipient URL and Destination URL ticked);
           Audience URI (SP Entity ID) {sp_entity_id}; Name ID format EmailAddress; Application
           username Email.
        3. Attribute Statements: email user.email, firstName user.firstName, lastName user.lastName;
           Group Attribute Statements: groups, Matches regex .*
        4. Assignments: the people or groups who may sign in.
        5. Sign On tab: copy the Metadata URL into this form (or the domain and the app id in it).
        """


class GoogleSaml(SamlPreset):
    name = "google-saml"
    title = "Google Workspace (SAML)"
    description = "Google Workspace, with Deskgate as a custom SAML app."
    attribute_names = _FRIENDLY
    # Source: https://support.google.com/a/answer/6087519; checked with `search` against integration guides
    # (Add custom SAML app, Download metadata, Name ID format EMAIL): Google publishes no metadata URL.
    setup_help = """
        1. In the Google Admin console open Apps > Web and mobile apps > Add app > Add custom SAML app.
        2. Name it Deskgate; on Google Identity Provider details click Download metadata.
        3. Service provider details: ACS URL {acs_url}, Entity ID {sp_entity_id}, Name ID format EMAIL,
           Name ID Basic Information > Primary email.
        4. Attribute mapping: Primary email → email, First name → firstName, Last name → lastName;
           Group membership → groups if filters use groups.
        5. User access: ON for the organisational units or groups who may sign in.
        6. In this form choose Metadata XML and paste the downloaded file (Google has no metadata URL).
        """


class KeycloakSaml(SamlPreset):
    name = "keycloak-saml"
    title = "Keycloak (SAML)"
    description = "A Keycloak realm, with Deskgate as a SAML client."
    fields = (
        PresetField(
            "server",
            "Keycloak URL",
            "Base URL of the server.",
            placeholder="https://sso.example.com",
            kind="base_url",
        ),
        PresetField("realm", "Realm", "The realm's name.", placeholder="customers", kind="segment"),
    )
    metadata_url = "{server}/realms/{realm}/protocol/saml/descriptor"
    attribute_names = _FRIENDLY
    # Source: https://www.keycloak.org/docs/latest/server_admin/#_client-saml-configuration
    setup_help = """
        1. In the realm open Clients > Import client and give the SP metadata URL {sp_metadata_url},
           or Create client with Client type SAML and Client ID {sp_entity_id}.
        2. Valid redirect URIs {acs_url}; Name ID format email; Sign documents on.
        3. Advanced > Assertion Consumer Service POST Binding URL {acs_url}; Logout Service Redirect
           Binding URL {slo_url}.
        4. Keys: Client signature required off (Deskgate does not sign its requests yet).
        5. Client scopes > dedicated scope: add mappers User Property email → email, firstName,
           lastName, and a Group list mapper named groups.
        """


class Shibboleth(SamlPreset):
    name = "shibboleth"
    title = "Shibboleth IdP"
    description = "A Shibboleth Identity Provider (v4 or v5)."
    fields = (domain_field("IdP host name", "The host name of the Shibboleth IdP.", "idp.example.edu"),)
    metadata_url = "https://{domain}/idp/shibboleth"
    name_id_format = PERSISTENT_FORMAT
    attribute_names = _OID
    # Source: https://shibboleth.atlassian.net/wiki/spaces/IDP4/pages/1265631609/MetadataConfiguration
    setup_help = """
        1. Add Deskgate's metadata to the IdP: a FileBackedHTTPMetadataProvider for {sp_metadata_url}
           in metadata-providers.xml (entity id {sp_entity_id}, ACS {acs_url}).
        2. Release mail, givenName, sn (and isMemberOf for groups) to {sp_entity_id} in
           attribute-filter.xml.
        3. Persistent NameIDs need a saml2.nameid generator; or choose the email NameID format.
        4. Reload the services (reload-service.sh) and keep this form's metadata URL.
        """


class GluuSaml(SamlPreset):
    name = "gluu-saml"
    title = "Gluu Server (SAML)"
    description = "Gluu Server 4.x with its Shibboleth-based SAML IdP, Deskgate as a Trust Relationship."
    fields = (domain_field("Gluu host name", "The host name of your Gluu Server.", "idp.example.com"),)
    metadata_url = "https://{domain}/idp/shibboleth"
    attribute_names = _OID
    # Source: https://gluu.org/docs/gluu-server/4.4/admin-guide/saml/ (Trust Relationships)
    setup_help = """
        1. In oxTrust open SAML > Add Trust Relationship; Display Name Deskgate.
        2. Entity Type Single SP; Metadata Location URI {sp_metadata_url} (entity {sp_entity_id},
           ACS {acs_url}).
        3. Configure Relying Party: SAML2SSO with signResponses conditional and nameIDFormats email.
        4. Released attributes: Email, First Name, Last Name (and Member Of for groups). Add.
        """


class OneLoginSaml(SamlPreset):
    name = "onelogin-saml"
    title = "OneLogin (SAML)"
    description = "OneLogin, with Deskgate as a SAML Custom Connector (Advanced)."
    fields = (
        domain_field("OneLogin domain", "Your subdomain at OneLogin.", "example.onelogin.com"),
        PresetField("app_id", "App ID", "The numeric id in the app's address.", kind="segment"),
    )
    metadata_url = "https://{domain}/saml/metadata/{app_id}"
    attribute_names = MappingProxyType({"email": ("email",), "groups": ("memberOf",)})
    # Checked with `search`: OneLogin's own help page was not found; integration guides (e.g.
    # https://community.bridgeapp.com/hc/en-us/articles/8223410091155) agree that the SSO tab's Issuer URL
    # serves the app's metadata and name the Configuration fields used below.
    setup_help = """
        1. Applications > Add App > SAML Custom Connector (Advanced); name it Deskgate.
        2. Configuration: Audience (EntityID) {sp_entity_id}; Recipient and ACS (Consumer) URL
           {acs_url}; ACS URL Validator the same URL escaped; Single Logout URL {slo_url};
           SAML signature element Both.
        3. Parameters: NameID value Email; add email, firstName, lastName, memberOf (Include in SAML
           assertion).
        4. SSO tab: copy the Issuer URL (the metadata URL) into this form.
        """


class JumpCloudSaml(SamlPreset):
    name = "jumpcloud-saml"
    title = "JumpCloud (SAML)"
    description = "JumpCloud, with Deskgate as a Custom SAML App."
    attribute_names = _FRIENDLY
    # Source: https://jumpcloud.com/support/sso-with-saml (metadata is exported, not published)
    setup_help = """
        1. SSO Applications > Add New Application > Custom Application > Manage Single Sign-On (SSO)
           with SAML.
        2. IdP Entity ID: a name of your choice; SP Entity ID {sp_entity_id}; ACS URL {acs_url};
           SAMLSubject NameID email, format emailAddress; Sign Assertion.
        3. Attributes: email, firstName, lastName; Include group attribute groups.
        4. User Groups: bind who may sign in. Activate, then Export Metadata and paste it in this
           form as Metadata XML.
        """


class PingFederateSaml(SamlPreset):
    name = "pingfederate-saml"
    title = "PingFederate (SAML)"
    description = "PingFederate, with Deskgate as an SP connection."
    fields = (
        domain_field("PingFederate host", "The runtime host name (and port).", "sso.example.com:9031"),
        PresetField("partner", "Partner SP id", "Empty: all connections.", required=False, kind="text"),
    )
    metadata_url = (
        "https://{domain}/pf/federation_metadata.ping?PartnerSpId={partner}",
        "https://{domain}/pf/federation_metadata.ping",
    )
    attribute_names = _FRIENDLY
    # Checked: https://docs.pingidentity.com/r/en-us/pingfederate-100/help_metadatasettingstasklet_dynamicconnectionsigningcertstate
    # (metadata at /pf/federation_metadata.ping, signing it recommended: pin its certificate) and the
    # PartnerSpId parameter in PingFederate's alternative metadata endpoint page.
    setup_help = """
        1. Applications > SP Connections > Create Connection; Browser SSO profile, SAML 2.0.
        2. Import metadata from URL {sp_metadata_url} (Partner's Entity ID {sp_entity_id}, ACS
           {acs_url} with the POST binding, SLO {slo_url}).
        3. Browser SSO > Assertion Creation: SAML_SUBJECT email; extend the contract with email,
           firstName, lastName and groups.
        4. Signature policy: sign the response or the assertion with your signing certificate.
        """


class Auth0Saml(SamlPreset):
    name = "auth0-saml"
    title = "Auth0 (SAML)"
    description = "An Auth0 tenant, with the SAML2 Web App addon on an application."
    fields = (
        domain_field("Auth0 domain", "Your tenant's domain.", "example.eu.auth0.com"),
        PresetField("client_id", "Client ID", "The application's Client ID.", kind="segment"),
    )
    metadata_url = "https://{domain}/samlp/metadata/{client_id}"
    attribute_names = MappingProxyType({"email": (_CLAIMS + "emailaddress",), "name": (_CLAIMS + "name",)})
    # Source: https://auth0.com/docs/authenticate/protocols/saml/saml-sso-integrations/configure-auth0-saml-identity-provider
    setup_help = """
        1. Applications > Create Application (Regular Web Application), name Deskgate.
        2. Addons > SAML2 Web App: Application Callback URL {acs_url}; Settings
           {"audience": "{sp_entity_id}", "nameIdentifierFormat":
           "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"}.
        3. Connections: enable those your customers sign in with.
        4. Enter the domain and the Client ID in this form (metadata at /samlp/metadata/<client id>).
        """


class GenericSaml(SamlPreset):
    name = "generic-saml"
    title = "Other SAML 2.0 IdP"
    description = "Any SAML 2.0 identity provider: metadata URL, metadata XML or entered by hand."
    name_id_format = UNSPECIFIED_FORMAT
    setup_help = """
        1. Register a SAML 2.0 service provider at your IdP from {sp_metadata_url}, or by hand:
           entity id {sp_entity_id}, Assertion Consumer Service {acs_url} (HTTP-POST binding).
        2. Sign the response or the assertion (RSA-SHA256); Deskgate signs no requests yet.
        3. Release the email address (mail or email) and, for filters, the groups.
        4. Give this form the IdP's metadata URL, its metadata XML, or its entity id, SSO URL
           (HTTP-Redirect) and signing certificate. The logout URL is {slo_url}.
        """


SAML_PRESETS = (
    KeycloakSaml,
    GluuSaml,
    EntraSaml,
    AdfsSaml,
    OktaSaml,
    GoogleSaml,
    Auth0Saml,
    OneLoginSaml,
    PingFederateSaml,
    JumpCloudSaml,
    Shibboleth,
    GenericSaml,
)
