"""LemonLDAP::NG 2.16 as a real SAML IdP of an in-process Deskgate, set up the way an admin would.

The order matters because each side needs the other's metadata: the IdP is first added to Deskgate by
hand (its URLs are known before it starts; a stand-in certificate), so that Deskgate publishes its SP
metadata at /saml/{idp}/metadata; LemonLDAP::NG starts with that document registered as its SP; then
Deskgate reads LemonLDAP::NG's own metadata (/saml/metadata), which replaces the hand-typed settings
with the real signing certificate and single logout location.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urljoin

import httpx

from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.metadata import idp_settings
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.services import Services
from tests.peers.lemonldap import LemonLdapPeer, find_form
from tests.saml.hostile_idp import SigningKey

IDP = "lemon"
DWHO = ("dwho", "dwho")  # Debian's demo user: cn "Doctor Who", mail dwho@badwolf.org


def available() -> str | None:
    """Why LemonLDAP::NG's SAML IdP cannot run here, or None when it can."""
    if shutil.which("plackup") is None:
        return "plackup is not installed (dev/setup --tests installs libplack-perl)"
    if not Path("/usr/share/perl5/Lemonldap/NG/Portal/Main.pm").exists():
        return "LemonLDAP::NG is not installed (dev/setup --tests installs lemonldap-ng)"
    if not list(Path("/usr/lib").glob("*/perl5/*/Lasso.pm")):
        return "Lasso is not installed (dev/setup --tests installs liblasso-perl)"
    return None


def unstarted_peer(base_url: str) -> LemonLdapPeer:
    """The portal, not started yet: its URLs are known, its SP metadata still to be given."""
    return LemonLdapPeer(
        # The OIDC side stays configured (the peer always has it) but nothing here uses it.
        rp_client_id="unused",
        rp_client_secret="unused-secret",
        redirect_uris=[base_url + "/unused"],
        post_logout_redirect_uris=[base_url + "/unused"],
        frontchannel_logout_uri=base_url + "/unused",
    )


def provider(settings: SamlIdpSettings) -> ProviderConfig:
    return ProviderConfig(name=IDP, title="LemonLDAP::NG", protocol="saml", saml=settings)


def typed_by_hand(peer: LemonLdapPeer) -> ProviderConfig:
    """What an admin types before the IdP runs: its entity id and SSO URL, a stand-in certificate."""
    return provider(
        SamlIdpSettings(
            entity_id=peer.saml_metadata_url,
            sso_url=peer.saml_sso_url,
            signing_certificates=(SigningKey.generate("stand-in").cert_pem,),
            sign_requests=True,
        )
    )


def from_metadata(peer: LemonLdapPeer, metadata: bytes, **changes: object) -> ProviderConfig:
    """The IdP as its published metadata describes it (`changes` on top)."""
    read = idp_settings(metadata, signed="both")
    assert read.sign_requests and read.slo_url == peer.saml_slo_url, read  # as LemonLDAP::NG says
    return provider(SamlIdpSettings.model_validate(read.model_dump() | changes))


@asynccontextmanager
async def lemonldap_idp(
    deskgate: httpx.AsyncClient, services: Services, base_url: str, **changes: object
) -> AsyncIterator[LemonLdapPeer]:
    """LemonLDAP::NG running with Deskgate's SP registered, and Deskgate trusting it as IdP `lemon`.

    `changes` overrides Deskgate's settings read from the IdP's metadata (e.g. ``idp_initiated``)."""
    sp = ServiceProvider.for_idp(base_url, IDP)
    peer = unstarted_peer(base_url)
    await services.providers.save(typed_by_hand(peer))
    published = await deskgate.get(sp.metadata_url)
    assert published.status_code == 200, published.text[-2000:]
    peer.saml_sp_metadata = published.text
    with peer:
        async with httpx.AsyncClient() as client:
            metadata = (await client.get(peer.saml_metadata_url)).content
        await services.providers.save(from_metadata(peer, metadata, **changes))
        yield peer


async def post_to_sp(
    browser_at_idp: httpx.AsyncClient,
    peer: LemonLdapPeer,
    url: str,
    user: str = DWHO[0],
    password: str = DWHO[1],
) -> tuple[str, dict[str, str]]:
    """Open `url` at the IdP as a browser would, sign in if asked; the auto-posting form's action and
    fields (SAMLResponse, RelayState) that the browser would post to the SP's ACS."""
    response = await browser_at_idp.get(url)
    credentials = {"user": user, "password": password}
    for _ in range(10):
        location = response.headers.get("location")
        if response.is_redirect and location is not None:
            response = await browser_at_idp.get(urljoin(str(response.url), location))
            continue
        login = find_form(response.text, password=True)
        form = login or find_form(response.text)
        if response.status_code != 200 or form is None:
            raise AssertionError(
                f"LemonLDAP::NG stuck at {response.status_code} {response.url}:\n{response.text[-3000:]}"
                f"\n--- portal log ---\n{peer.output()[-3000:]}"
            )
        action = urljoin(str(response.url), form.action).split("#")[0]
        if "SAMLResponse" in form.fields:
            return action, form.fields
        fields = form.fields | (credentials if login is not None else {})
        if login is not None:
            credentials = {}
        if form.method == "get":
            response = await browser_at_idp.get(action, params=fields)
        else:
            response = await browser_at_idp.post(action, data=fields)
    raise AssertionError(f"LemonLDAP::NG never answered with a SAMLResponse: {response.url}")
