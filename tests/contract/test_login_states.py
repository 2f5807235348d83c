"""Pending sign-ins sealed in the login cookie, on both databases: bound to the browser that began them,
short-lived, single-use even when callbacks race, nothing written before the callback, and the sign-ins an
earlier version kept in its table still finished."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import SecretBox, digest
from deskgate.errors import LoginDenied, LoginStateError
from deskgate.login.states import (
    MAX_SEALED_LENGTH,
    PURGE_SECONDS,
    SEAL_PURPOSE,
    LoginStates,
    PendingLogin,
)
from deskgate.store.models import LoginStateRow, SpentLoginStateRow
from tests.contract.test_session_store import migrated

pytestmark = pytest.mark.anyio
KEY = "k" * 48
PENDING = PendingLogin(
    idp="corp",
    purpose="login",
    nonce="nonce-" + "n" * 37,
    code_verifier="verifier-" + "v" * 77,
    next_url="/a",
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(request.param, tmp_path_factory) as sessions:
        yield sessions


def _states(database: async_sessionmaker[AsyncSession], **kwargs: object) -> LoginStates:
    return LoginStates(
        database,
        SecretBox(KEY, purpose=SEAL_PURPOSE),
        lifetime=timedelta(minutes=5),
        **kwargs,  # type: ignore[arg-type]
    )


async def _rows(database: async_sessionmaker[AsyncSession], table: type[object]) -> int:
    async with database() as db:
        return int(await db.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_sign_in_is_taken_once_and_only_by_the_browser_that_began_it(
    database: async_sessionmaker[AsyncSession],
) -> None:
    states = _states(database)
    mine, theirs = states.seal("state-1", PENDING), states.seal("state-2", PENDING)
    # Starting a sign-in writes nothing: the start hop makes no database trip.
    assert await _rows(database, SpentLoginStateRow) == 0 and await _rows(database, LoginStateRow) == 0
    with pytest.raises(LoginStateError) as other_browser:  # the attacker's own cookie, the victim's state
        await states.take("state-1", theirs)
    assert other_browser.value.check == "browser"
    with pytest.raises(LoginStateError) as no_cookie:
        await states.take("state-1", None)
    assert no_cookie.value.check == "browser"
    # Refusals took nothing: the browser that began it still finishes it, once.
    assert await states.take("state-1", mine) == PENDING
    with pytest.raises(LoginStateError) as replayed:
        await states.take("state-1", mine)
    assert replayed.value.check == "state" and replayed.value.detail.endswith("already used state")
    # Told apart from a browser that never began it, also when the cookie is gone (deleted at sign-in).
    with pytest.raises(LoginStateError) as replayed_without_cookie:
        await states.take("state-1", None)
    assert replayed_without_cookie.value.check == "state"
    assert await _rows(database, SpentLoginStateRow) == 1


async def test_the_cookie_keeps_its_secrets_and_opens_only_under_its_own_key(
    database: async_sessionmaker[AsyncSession],
) -> None:
    states = _states(database)
    sealed = states.seal("state-1", PENDING)
    assert PENDING.nonce not in sealed and PENDING.code_verifier not in sealed  # type: ignore[operator]
    assert PENDING.nonce.encode() not in base64.urlsafe_b64decode(sealed + "==")
    for foreign in (
        LoginStates(database, SecretBox("x" * 48, purpose=SEAL_PURPOSE), lifetime=timedelta(minutes=5)),
        LoginStates(database, SecretBox(KEY), lifetime=timedelta(minutes=5)),  # the at-rest key: not this one
    ):
        with pytest.raises(LoginStateError) as refused:
            foreign.open("state-1", sealed)
        assert refused.value.check == "browser"
    assert states.open("state-1", sealed) == PENDING


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.text(min_size=1, max_size=80),
    other=st.text(min_size=1, max_size=80),
    flip=st.integers(min_value=0),
    bit=st.integers(min_value=0, max_value=7),
)
def test_a_cookie_opens_for_its_own_state_only_and_any_change_to_it_refuses(
    key: str, other: str, flip: int, bit: int
) -> None:
    states = LoginStates(None, SecretBox(KEY, purpose=SEAL_PURPOSE), lifetime=timedelta(minutes=5))  # type: ignore[arg-type]
    sealed = states.seal(key, PENDING)
    assert states.open(key, sealed) == PENDING
    if other != key:
        with pytest.raises(LoginStateError):
            states.open(other, sealed)
    raw = bytearray(base64.urlsafe_b64decode(sealed))
    raw[flip % len(raw)] ^= 1 << bit
    with pytest.raises(LoginStateError) as tampered:
        states.open(key, base64.urlsafe_b64encode(bytes(raw)).decode())
    assert tampered.value.check == "browser"


async def test_a_sign_in_expires_after_its_lifetime(database: async_sessionmaker[AsyncSession]) -> None:
    now = datetime.now(UTC)
    clock = [now]
    states = _states(database, clock=lambda: clock[0])
    fresh, stale = states.seal("fresh", PENDING), states.seal("stale", PENDING)
    clock[0] = now + timedelta(minutes=4, seconds=59)
    assert await states.take("fresh", fresh) == PENDING
    clock[0] = now + timedelta(minutes=5, seconds=1)
    with pytest.raises(LoginStateError) as expired:
        await states.take("stale", stale)
    assert expired.value.check == "state" and expired.value.detail.endswith("took longer than allowed")


async def test_racing_callbacks_spend_a_sign_in_once(database: async_sessionmaker[AsyncSession]) -> None:
    states = _states(database)
    sealed = states.seal("state-1", PENDING)
    outcomes = await asyncio.gather(
        *(states.take("state-1", sealed) for _ in range(8)), return_exceptions=True
    )
    assert outcomes.count(PENDING) == 1
    assert all(isinstance(o, LoginStateError) and o.check == "state" for o in outcomes if o != PENDING)


async def test_spent_states_are_purged_once_in_a_while_after_they_expire(
    database: async_sessionmaker[AsyncSession],
) -> None:
    start = datetime.now(UTC)
    clock, ticks = [start], [0.0]
    states = _states(database, clock=lambda: clock[0], monotonic=lambda: ticks[0])
    await states.spend("old")  # the first spend purges (nothing yet)
    clock[0] = start + timedelta(minutes=6)
    ticks[0] = PURGE_SECONDS - 1
    await states.spend("new")  # too soon after the last purge: "old" stays
    assert await _rows(database, SpentLoginStateRow) == 2
    clock[0] = start + timedelta(minutes=12)
    ticks[0] = PURGE_SECONDS
    await states.spend("newest")  # a minute on: the expired ones go
    assert await _rows(database, SpentLoginStateRow) == 1
    with pytest.raises(LoginStateError):
        await states.spend("newest")


async def test_a_sign_in_an_earlier_version_kept_in_its_table_still_finishes_once(
    database: async_sessionmaker[AsyncSession],
) -> None:
    """During a rolling upgrade a callback may reach this version for a sign-in the previous one began: it
    stored the sign-in in `login_states` and gave the browser a random binding instead of a sealed cookie."""
    states = _states(database)
    async with database.begin() as db:
        db.add(
            LoginStateRow(
                state_hash=digest("state-old"),
                browser_hash=digest("binding-old"),
                idp=PENDING.idp,
                purpose=PENDING.purpose,
                nonce=PENDING.nonce,
                code_verifier=PENDING.code_verifier,
                next_url=PENDING.next_url,
                expires_at=datetime.now(UTC) + timedelta(minutes=5),
            )
        )
    with pytest.raises(LoginStateError) as other_browser:
        await states.take("state-old", "another-binding")
    assert other_browser.value.check == "browser"
    assert await states.take("state-old", "binding-old") == PENDING
    with pytest.raises(LoginStateError):
        await states.take("state-old", "binding-old")
    assert await _rows(database, LoginStateRow) == 0


async def test_a_next_url_too_long_for_a_cookie_lands_on_the_home_page() -> None:
    states = LoginStates(None, SecretBox(KEY, purpose=SEAL_PURPOSE), lifetime=timedelta(minutes=5))  # type: ignore[arg-type]
    ordinary = dataclasses.replace(PENDING, next_url="/portal/1?" + "q=x&" * 500)
    assert states.open("s", states.seal("s", ordinary)) == ordinary  # 2,010 characters fit
    escaped = dataclasses.replace(PENDING, next_url="/" + '"' * 2047)
    sealed = states.seal("s", escaped)
    assert len(sealed) <= MAX_SEALED_LENGTH
    assert states.open("s", sealed).next_url == "/"


async def test_a_spend_in_the_sign_ins_transaction_goes_with_it(
    database: async_sessionmaker[AsyncSession],
) -> None:
    """The callback spends the state in the transaction that starts the session: refused, nothing of that
    transaction is kept; rolled back (a filter refused the user), the state is not spent by it."""
    states = _states(database)

    async def refused_by_a_filter() -> None:
        async with database.begin() as db:
            await states.spend("state-1", db)
            raise LoginDenied("filter", "refused by a filter")

    async def sign_in() -> None:
        async with database.begin() as db:
            db.add(
                SpentLoginStateRow(state_hash=secrets.token_hex(32), expires_at=datetime.now(UTC))
            )  # "session"
            await db.flush()
            await states.spend("state-1", db)

    with pytest.raises(LoginDenied):
        await refused_by_a_filter()
    assert await _rows(database, SpentLoginStateRow) == 0
    await sign_in()
    assert await _rows(database, SpentLoginStateRow) == 2
    with pytest.raises(LoginStateError) as replayed:
        await sign_in()
    assert replayed.value.check == "state"
    assert await _rows(database, SpentLoginStateRow) == 2  # the replay's transaction kept nothing
