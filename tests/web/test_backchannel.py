"""Back-channel logout through the web endpoint: 200 and sessions ended, or 400 and nothing ended."""

from __future__ import annotations

import time

import pytest

from deskgate.crypto import digest
from deskgate.services import Services
from tests.hostile.provider import SESSION_ID, SUBJECT, HostileProvider, new_rsa_key, provider_config
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
ENDPOINT = "/plugins/servlet/oauth/backchannel-logout"


async def start(services: Services, subject: str, sid: str | None) -> str:
    session_id, _ = await services.sessions.start(
        idp="hostile", subject=subject, email=None, display_name=subject, attributes={}, idp_session_id=sid
    )
    return session_id


async def alive(services: Services, session_id: str) -> bool:
    return await services.sessions.store.load(digest(session_id)) is not None


async def test_valid_token_ends_the_named_session_once(db_url: str) -> None:
    op = HostileProvider()
    async with running_app(db_url, idps=[provider_config()], idp_http=op.client()) as (client, services):
        target = await start(services, SUBJECT, SESSION_ID)
        other_session_same_user = await start(services, SUBJECT, "another-op-session")
        token = op.logout_token()
        accepted = await client.post(ENDPOINT, data={"logout_token": token})
        assert accepted.status_code == 200
        assert "no-store" in accepted.headers["cache-control"]
        assert not await alive(services, target)
        assert await alive(services, other_session_same_user)  # sub + sid: only that OP session ends
        replay_victim = await start(services, SUBJECT, SESSION_ID)
        replayed = await client.post(ENDPOINT, data={"logout_token": token})
        assert replayed.status_code == 400
        assert replayed.json()["error_description"] == "logout_token.jti"
        assert await alive(services, replay_victim)


async def test_sub_only_token_ends_every_session_of_that_user(db_url: str) -> None:
    op = HostileProvider()
    async with running_app(db_url, idps=[provider_config()], idp_http=op.client()) as (client, services):
        first, second = await start(services, SUBJECT, "a"), await start(services, SUBJECT, "b")
        bystander = await start(services, "someone-else", "a")
        response = await client.post(ENDPOINT, data={"logout_token": op.logout_token(sid=None)})
        assert response.status_code == 200
        assert not await alive(services, first)
        assert not await alive(services, second)
        assert await alive(services, bystander)


async def test_sid_only_token_is_audited_with_the_user_of_the_session_it_ended(db_url: str) -> None:
    op = HostileProvider()
    async with running_app(db_url, idps=[provider_config()], idp_http=op.client()) as (client, services):
        session_id, _ = await services.sessions.start(
            idp="hostile",
            subject=SUBJECT,
            email="alice@example.com",
            display_name="Alice",
            attributes={},
            idp_session_id=SESSION_ID,
        )
        response = await client.post(ENDPOINT, data={"logout_token": op.logout_token(sub=None)})
        assert response.status_code == 200
        assert not await alive(services, session_id)
        events = await services.audit.query(event="logout.backchannel")
    assert [(e.outcome, e.subject, e.email, e.detail) for e in events] == [
        ("success", SUBJECT, "alice@example.com", "sessions ended: 1")
    ]


@pytest.mark.parametrize(
    ("forge", "check"),
    [
        ("foreign-key", "logout_token.signature"),
        ("nonce", "logout_token.nonce"),
        ("no-events", "logout_token.events"),
        ("expired", "logout_token.exp"),
        ("other-audience", "logout_token.aud"),
    ],
)
async def test_invalid_tokens_are_refused_and_end_nothing(db_url: str, forge: str, check: str) -> None:
    op = HostileProvider()
    async with running_app(db_url, idps=[provider_config()], idp_http=op.client()) as (client, services):
        target = await start(services, SUBJECT, SESSION_ID)
        if forge == "foreign-key":
            op.sign_with = new_rsa_key("op-key-1")  # same kid as the published key, different key
            token = op.logout_token()
        elif forge == "nonce":
            token = op.logout_token(claims={"nonce": "n"})
        elif forge == "no-events":
            token = op.logout_token(claims={"events": {}})
        elif forge == "expired":
            token = op.logout_token(claims={"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3700})
        else:
            token = op.logout_token(claims={"aud": "another-client"})
        response = await client.post(ENDPOINT, data={"logout_token": token})
        assert response.status_code == 400
        assert response.json()["error_description"] == check
        assert await alive(services, target)
        events = await services.audit.query(event="logout.backchannel")
    assert [e.outcome for e in events] == ["failure"]
