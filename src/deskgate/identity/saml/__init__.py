"""SAML 2.0 service provider: Web Browser SSO with the HTTP-Redirect request and the HTTP-POST response.

The adapter turns a verified assertion into the same neutral `Claims` as OpenID Connect, so mapping,
filters, provisioning and sessions never learn which protocol was used. Signatures are checked with
signxml (lxml and cryptography, no xmlsec C library); everything else is checked here:

    xml         parse untrusted XML with DTDs, entities, the network and comments refused
    settings    the IdP as configured (by hand or from its metadata) and this SP's URLs
    metadata    read an IdP's metadata; write the SP's
    metadata_source  an IdP's metadata URL: fetched, checked against a pinned certificate, refreshed
    probe       what the test page and `deskgate idp test` check without a sign-in
    authn       the AuthnRequest and the Redirect binding
    signature   which elements are signed, by a configured certificate only (signature wrapping)
    encryption  EncryptedAssertion and EncryptedID decrypted with the SP's keys (over `cryptography`)
    keys        the SP's own key pairs: created once, encrypted at rest, rotated with an overlap
    response    the Web SSO profile's checks, in order, ending in `Claims`
    replay      each assertion id is accepted once, across workers and instances
"""
