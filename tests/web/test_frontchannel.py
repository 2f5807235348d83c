"""Front-channel logout: sessions named by iss + sid end; others, and other IdPs' sessions, do not.

What a request may end depends on what the IdP's requests carry (`deskgate.login.frontchannel`): the
URL is public, so an IdP that names sessions by sid never has one ended by a request that names none.
"""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from deskgate.crypto import digest
from deskgate.identity.presets import get_preset
from deskgate.identity.presets.logout_help import FRONTCHANNEL_HELP
from deskgate.identity.provider import ProviderConfig
from deskgate.services import Services
from tests.support.idps import provider
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

CORP = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://idp.corp.test",
    client_id="dg",
    client_secret=SecretStr("x" * 20),
)
OTHER = ProviderConfig(
    name="other",
    title="Other",
    issuer="https://idp.other.test",
    client_id="dg",
    client_secret=SecretStr("y" * 20),
)
FRONT = "/plugins/servlet/oauth/logout"
# The LemonLDAP::NG preset's default, not a setting of its own: the quirk comes with the preset.
LEMON = CORP.model_copy(update={"preset": "lemonldap"})


async def session(services: Services, idp: str, subject: str, sid: str | None) -> str:
    session_id, _ = await services.sessions.start(
        idp=idp,
        subject=subject,
        email=f"{subject}@example.com",
        display_name=subject,
        attributes={},
        idp_session_id=sid,
    )
    return session_id


async def alive(services: Services, session_id: str) -> bool:
    return await services.sessions.store.load(digest(session_id)) is not None


async def test_iss_and_sid_end_exactly_the_matching_sessions(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP, OTHER], session_cache_seconds=0) as (client, services):
        target = await session(services, "corp", "alice", "sid-1")
        same_user_other_sid = await session(services, "corp", "alice", "sid-2")
        other_idp_same_sid = await session(services, "other", "bob", "sid-1")
        response = await client.get(FRONT, params={"iss": "https://idp.corp.test", "sid": "sid-1"})
        assert response.status_code == 200
        assert not await alive(services, target)
        assert await alive(services, same_user_other_sid)
        assert await alive(services, other_idp_same_sid)
        events = await services.audit.query(event="logout.frontchannel")
    assert [(e.idp, e.subject) for e in events] == [("corp", "alice")]


async def test_wrong_issuer_ends_nothing(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP], session_cache_seconds=0) as (client, services):
        kept = await session(services, "corp", "alice", "sid-1")
        response = await client.get(FRONT, params={"iss": "https://evil.test", "sid": "sid-1"})
        assert response.status_code == 200
        assert await alive(services, kept)


async def test_without_sid_the_cookie_session_ends_when_the_browser_sends_it(db_url: str) -> None:
    cookie_idp = CORP.model_copy(update={"frontchannel_logout": "cookie"})  # an IdP that sends nothing
    async with running_app(db_url, idps=[cookie_idp], session_cache_seconds=0) as (client, services):
        mine = await session(services, "corp", "alice", None)
        other = await session(services, "corp", "bob", None)
        client.cookies.set("deskgate_session", mine)
        response = await client.get(FRONT)
        assert response.status_code == 200
        assert not await alive(services, mine)
        assert await alive(services, other)
        assert 'deskgate_session=""' in response.headers["set-cookie"]


async def test_lemonldap_style_sid_is_the_user_id(db_url: str) -> None:
    # LemonLDAP::NG 2.16 puts no sid in its ID tokens and sends the user id as the front-channel sid.
    async with running_app(db_url, idps=[LEMON], session_cache_seconds=0) as (client, services):
        target = await session(services, "corp", "dwho", None)
        await client.get(FRONT, params={"iss": "https://idp.corp.test", "sid": "dwho"})
        assert not await alive(services, target)


async def test_subject_as_sid_never_ends_a_session_that_has_a_real_sid(db_url: str) -> None:
    async with running_app(db_url, idps=[LEMON], session_cache_seconds=0) as (client, services):
        protected = await session(services, "corp", "alice", "opaque-sid")
        await client.get(FRONT, params={"iss": "https://idp.corp.test", "sid": "alice"})
        assert await alive(services, protected)


# --- A request must name the session in a way an outsider cannot forge --------------------------


async def test_a_request_without_sid_ends_nothing_at_an_idp_that_sends_sids(db_url: str) -> None:
    # An image tag or link on any page: the browser may bring our cookie along, but names no session.
    gluu = CORP.model_copy(update={"preset": "gluu"})  # the preset says: iss and sid
    async with running_app(db_url, idps=[gluu], session_cache_seconds=0) as (client, services):
        mine = await session(services, "corp", "alice", "sid-1")
        client.cookies.set("deskgate_session", mine)
        response = await client.get(FRONT)
        assert response.status_code == 200
        assert await alive(services, mine)
        assert "set-cookie" not in response.headers
        assert await services.audit.query(event="logout.frontchannel") == []


@pytest.mark.parametrize(
    "params", [{"iss": "https://idp.corp.test", "sid": "no-such-sid"}, {"iss": "https://idp.corp.test"}]
)
async def test_a_sid_that_names_nothing_does_not_fall_back_to_the_cookie(
    db_url: str, params: dict[str, str]
) -> None:
    cookie_idp = CORP.model_copy(update={"frontchannel_logout": "cookie"})
    async with running_app(db_url, idps=[cookie_idp], session_cache_seconds=0) as (client, services):
        mine = await session(services, "corp", "alice", None)
        client.cookies.set("deskgate_session", mine)
        response = await client.get(FRONT, params=params)
        assert response.status_code == 200
        assert await alive(services, mine)


async def test_the_user_id_as_sid_works_only_for_an_idp_declared_to_send_it(db_url: str) -> None:
    # Subjects are no secret: at any other IdP, iss + a user's id must not sign that user out.
    async with running_app(db_url, idps=[CORP], session_cache_seconds=0) as (client, services):
        kept = await session(services, "corp", "dwho", None)
        await client.get(FRONT, params={"iss": "https://idp.corp.test", "sid": "dwho"})
        assert await alive(services, kept)


async def test_the_issuer_must_match_exactly(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP], session_cache_seconds=0) as (client, services):
        kept = await session(services, "corp", "alice", "sid-1")
        for issuer in ("https://idp.corp.test/", "HTTPS://idp.corp.test", "https://idp.corp.test.evil"):
            await client.get(FRONT, params={"iss": issuer, "sid": "sid-1"})
        assert await alive(services, kept)


async def test_entra_sends_sid_without_iss(db_url: str) -> None:
    entra = provider("entra", preset="entra")
    async with running_app(db_url, idps=[entra, CORP], session_cache_seconds=0) as (client, services):
        target = await session(services, "entra", "alice", "sid-9")
        not_entra = await session(services, "corp", "bob", "sid-9")
        mine = await session(services, "entra", "carol", "sid-10")
        client.cookies.set("deskgate_session", mine)
        await client.get(FRONT, params={"sid": "sid-9"})
        assert not await alive(services, target)
        assert await alive(services, not_entra)  # its IdP always sends iss: a lone sid is not its own
        await client.get(FRONT)
        assert await alive(services, mine)  # and a request naming nothing ends nothing


async def test_an_idp_without_front_channel_logout_has_nothing_ended(db_url: str) -> None:
    google = provider("google", preset="google", issuer="https://accounts.google.com")
    async with running_app(db_url, idps=[google], session_cache_seconds=0) as (client, services):
        kept = await session(services, "google", "alice", "sid-1")
        client.cookies.set("deskgate_session", kept)
        await client.get(FRONT, params={"iss": "https://accounts.google.com", "sid": "sid-1"})
        await client.get(FRONT)
        assert await alive(services, kept)


def discovery(session_supported: bool) -> httpx.AsyncClient:
    """An IdP at https://idp.corp.test that publishes only its discovery document."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/.well-known/openid-configuration"
        return httpx.Response(
            200,
            json={
                "issuer": "https://idp.corp.test",
                "authorization_endpoint": "https://idp.corp.test/authorize",
                "token_endpoint": "https://idp.corp.test/token",
                "jwks_uri": "https://idp.corp.test/jwks",
                "frontchannel_logout_supported": True,
                "frontchannel_logout_session_supported": session_supported,
            },
        )

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(("session_supported", "ends"), [(True, False), (False, True)])
async def test_discovery_says_whether_the_idp_sends_sids(
    db_url: str, session_supported: bool, ends: bool
) -> None:
    http = discovery(session_supported)
    async with (
        http,
        running_app(db_url, idps=[CORP], idp_http=http, session_cache_seconds=0) as (client, services),
    ):
        mine = await session(services, "corp", "alice", "sid-1")
        client.cookies.set("deskgate_session", mine)
        await client.get(FRONT)
        assert await alive(services, mine) is not ends


async def test_an_unreadable_discovery_document_ends_nothing(db_url: str) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    async with (
        http,
        running_app(db_url, idps=[CORP], idp_http=http, session_cache_seconds=0) as (client, services),
    ):
        mine = await session(services, "corp", "alice", None)
        client.cookies.set("deskgate_session", mine)
        await client.get(FRONT)
        assert await alive(services, mine)


@pytest.mark.parametrize("name", ["gluu", "keycloak", "entra", "lemonldap", "google", "generic-oidc"])
def test_each_preset_help_says_what_its_front_channel_requests_end(name: str) -> None:
    preset = get_preset(name)
    urls = {
        "callback_url": "https://dg/cb",
        "frontchannel_logout_url": "https://dg/fc",
        "post_logout_redirect_uri": "https://dg/out",
    }
    assert preset.render_help(**urls).endswith(FRONTCHANNEL_HELP[preset.frontchannel_logout])
