"""`/me`: the signed-in identity, with the same headers and error handling as every other answer."""

from __future__ import annotations

import pytest

from deskgate.sessions.store import SessionRecord
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio


async def test_identity_of_the_session_and_401_without_one(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        session_id, _ = await services.sessions.start(
            idp="corp", subject="s-1", email="ada@example.com", display_name="Ada", attributes={}
        )
        anonymous = await client.get("/me")
        forged = await client.get("/me", headers={"Cookie": "deskgate_session=forged-value"})
        client.cookies.set("deskgate_session", session_id)
        signed_in = await client.get("/me")
        head = await client.head("/me")
        await services.sessions.end(session_id)
        ended = await client.get("/me")
    assert anonymous.status_code == forged.status_code == ended.status_code == 401
    assert anonymous.json() == {"error": "not signed in"}
    assert signed_in.json() == {"idp": "corp", "subject": "s-1", "email": "ada@example.com", "name": "Ada"}
    assert signed_in.headers["content-type"] == "application/json"
    assert head.status_code == 200
    for response in (anonymous, signed_in):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_failing_store_ends_on_the_error_boundary(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(id_hash: str) -> SessionRecord | None:
        raise OSError("database unreachable")

    async with running_app(db_url, raise_app_exceptions=False) as (client, services):
        monkeypatch.setattr(services.sessions.store, "load", broken)
        response = await client.get(
            "/me", headers={"Cookie": "deskgate_session=x" * 2, "Accept": "application/json"}
        )
    assert response.status_code == 500
    assert response.json()["error_id"]
