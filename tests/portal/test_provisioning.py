"""Customer provisioning against the emulator: created once, exact e-mail, the create race, desks recorded,
later logins and portal requests cost no JSM lookup, the login step."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from deskgate.identity.claims import Claims
from deskgate.identity.mapping import map_claims
from deskgate.identity.provider import ProviderConfig
from deskgate.login.pipeline import LoginContext
from deskgate.portal.connection import site_identity
from deskgate.portal.desks import DeskSetting
from deskgate.portal.provisioning import CustomerLink, NoEmailAddress
from deskgate.sessions.store import SessionRecord
from tests.portal.conftest import Portal

pytestmark = pytest.mark.anyio
CREATE = "/servicedeskapi/customer"
CORP = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://idp.corp.test",
    client_id="dg",
    client_secret=SecretStr("x" * 20),
)


async def provision(
    portal: Portal, subject: str, email: str | None, desk: str | None = "1", idp: str = "corp"
) -> CustomerLink:
    return await portal.services.customers.provision(
        idp=idp, subject=subject, email=email, display_name=f"Name of {subject}", desk_id=desk
    )


def session(subject: str, email: str | None, idp: str = "corp") -> SessionRecord:
    now = datetime.now(UTC)
    return SessionRecord("h", idp, subject, email, subject, now, now, now + timedelta(hours=1))


async def site_of(portal: Portal) -> str:
    return site_identity((await portal.client()).connection)


def users_with(portal: Portal, email: str) -> int:
    return sum(1 for u in portal.app.store.users if u.email.casefold() == email)


async def test_a_new_customer_is_created_once_and_added_to_the_desk(portal: Portal) -> None:
    link = await provision(portal, "dave-1", "dave@example.com")
    assert link.desks == ("1",) and link.email == "dave@example.com" and link.jsm_user_id
    assert portal.calls(CREATE, "POST") == 1 and portal.calls("/servicedesk/1/customer", "POST") == 1
    assert users_with(portal, "dave@example.com") == 1
    desk = portal.app.store.desks[0]
    assert desk.id == "1"

    portal.app.calls.clear()
    assert await provision(portal, "dave-1", "dave@example.com") == link
    portal.services.customers.links.forget()  # even without the in-process cache: one DB read, no JSM
    assert await portal.services.customers.customer_for(session("dave-1", "dave@example.com")) == link
    assert portal.app.calls == []


async def test_an_existing_customer_is_found_by_exact_email(portal: Portal) -> None:
    alice = await provision(portal, "alice-1", "alice@example.com")
    assert portal.calls(CREATE, "POST") == 0
    malice = await provision(portal, "malice-1", "malice@example.com")
    assert portal.calls(CREATE, "POST") == 1
    assert malice.jsm_user_id != alice.jsm_user_id
    assert users_with(portal, "malice@example.com") == 1


async def test_two_logins_at_once_create_exactly_one_customer(portal: Portal) -> None:
    # Two IdPs (so no shared in-process lock) vouch for the same new address at the same moment; JSM's
    # latency makes both searches finish before either create.
    portal.app.faults.update({"latency_ms": 50})
    first, second = await asyncio.gather(
        provision(portal, "erin-a", "erin@example.com", idp="corp"),
        provision(portal, "erin-b", "erin@example.com", idp="other"),
    )
    assert first.jsm_user_id == second.jsm_user_id
    assert users_with(portal, "erin@example.com") == 1
    assert portal.calls(CREATE, "POST") == 2  # the second answered "exists", then was found


async def test_each_further_desk_is_added_once_and_recorded(portal: Portal) -> None:
    await provision(portal, "frank", "frank@example.com")
    portal.app.calls.clear()
    link = await portal.services.customers.customer_for(session("frank", "frank@example.com"), "2")
    assert link.desks == ("1", "2")
    assert portal.app.calls == [("POST", "/rest/servicedeskapi/servicedesk/2/customer")]
    loaded = await portal.services.customers.links.load("corp", "frank", await site_of(portal))
    assert loaded is not None and loaded.desks == ("1", "2")


async def test_lazy_provisioning_without_a_desk_searches_the_first_desk(portal: Portal) -> None:
    link = await portal.services.customers.customer_for(session("bob-1", "bob@example.com"))
    assert link.desks == () and portal.calls(CREATE, "POST") == 0


async def test_no_email_is_refused_clearly(portal: Portal) -> None:
    with pytest.raises(NoEmailAddress) as caught:
        await provision(portal, "nobody", None)
    assert "sent no email address" in str(caught.value) and "e-mail address" in caught.value.user_message
    assert portal.app.calls == []


def login(subject: str, email: str | None, next_url: str | None) -> LoginContext:
    claims = Claims(idp="corp", issuer="https://idp.corp.test", subject=subject, raw={"email": email})
    ctx = LoginContext(CORP, claims, None, next_url=next_url)
    ctx.user = map_claims(claims, CORP.mapping)
    return ctx


async def test_the_login_step_provisions_only_for_a_desk_with_sso(portal: Portal) -> None:
    step = portal.services.customers.login_step()
    await step(login("gina", "gina@example.com", "/account"))
    assert portal.app.calls == []
    await portal.services.desks.save(DeskSetting("3", sso_enabled=False))
    await step(login("gina", "gina@example.com", "/portal/3"))
    assert portal.app.calls == []
    await step(login("gina", "gina@example.com", "/servicedesk/customer/portal/2/HRS-1"))
    link = await portal.services.customers.links.load("corp", "gina", await site_of(portal))
    assert link is not None and link.desks == ("2",)
    with pytest.raises(NoEmailAddress):
        await step(login("hal", None, "/portal/1"))


async def test_a_jsm_outage_does_not_block_the_sign_in(portal: Portal) -> None:
    portal.app.faults.update({"server_errors": 100})
    portal.services.jsm_clients._current = None
    await portal.services.customers.login_step()(login("ivy", "ivy@example.com", "/portal/1"))
    assert await portal.services.customers.links.load("corp", "ivy", await site_of(portal)) is None


def members(portal: Portal, name: str) -> set[str]:
    return next(o.members for o in portal.app.store.organizations if o.name == name)


async def test_the_mapped_organization_is_joined_once(portal: Portal) -> None:
    customers = portal.services.customers
    link = await customers.provision(
        idp="corp",
        subject="kim",
        email="kim@example.com",
        display_name="Kim",
        desk_id="1",
        organization="acme CORP",
    )
    kim = next(u for u in portal.app.store.users if u.email == "kim@example.com")
    assert kim.account_id in members(portal, "Acme Corp") and link.in_organization("Acme Corp")
    assert portal.calls("/organization/1/user", "POST") == 1
    assert link.desks[0] == "1" and link.desks[1].startswith("org:1:")

    portal.app.calls.clear()  # later visits, to this desk or another, cost no organization call
    record = session("kim", "kim@example.com")
    record.attributes["organization"] = "Acme Corp"
    customers.links.forget()
    assert await customers.customer_for(record, "1") == link
    later = await customers.customer_for(record, "2")
    assert later.desks == (*link.desks, "2") and later.in_organization("acme corp")
    assert portal.calls("/organization") == 0 and portal.calls("/organization/1/user") == 0
    assert portal.calls("/servicedesk/2/customer", "POST") == 1


async def test_an_unknown_organization_is_logged_and_skipped(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    record = session("lou", "lou@example.com")
    record.attributes["organization"] = "Acme"  # a prefix of "Acme Corp" is no match
    with caplog.at_level("WARNING", logger="deskgate.portal"):
        link = await portal.services.customers.customer_for(record, "1")
    assert link.desks == ("1",) and not link.in_organization("Acme")
    assert portal.calls("/organization", "GET") == 1 and portal.calls("/user", "POST") == 0
    assert "'Acme' is not a JSM organization" in caplog.text
    assert [o.name for o in portal.app.store.organizations] == ["Acme Corp", "Globex", "Initech"]
    assert all(link.jsm_user_id not in o.members for o in portal.app.store.organizations)


async def test_no_organization_means_no_organization_calls(portal: Portal) -> None:
    record = session("max", "max@example.com")
    record.attributes["organization"] = "  "
    await portal.services.customers.customer_for(record, "1")
    await provision(portal, "max", "max@example.com", desk="2")
    assert portal.calls("/servicedesk/1/customer", "POST") == 1
    assert not [path for _, path in portal.app.calls if "/organization" in path]


async def test_the_login_step_joins_the_organization_the_mapping_names(portal: Portal) -> None:
    config = CORP.model_copy(update={"mapping": CORP.mapping.model_copy(update={"organization": ("org",)})})
    claims = Claims(
        idp="corp",
        issuer="https://idp.corp.test",
        subject="nia",
        raw={"email": "nia@example.com", "org": "Globex"},
    )
    ctx = LoginContext(config, claims, None, next_url="/portal/1")
    ctx.user = map_claims(claims, config.mapping)
    await portal.services.customers.login_step()(ctx)
    link = await portal.services.customers.links.load("corp", "nia", await site_of(portal))
    assert link is not None and link.in_organization("Globex")
    assert members(portal, "Globex") == {
        u.account_id for u in portal.app.store.users if u.email == "nia@example.com"
    }
