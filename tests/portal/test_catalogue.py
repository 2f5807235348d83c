"""The catalogue cache: a warm cache costs no JSM call, concurrent callers share one fetch, refresh
forgets, failures are not cached (but a failing refresh serves the old value); desk settings and the portal URL shapes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from deskgate.errors import NotFound
from deskgate.jsm import JsmRateLimited, JsmUnavailable
from deskgate.portal.catalogue import Catalogue, TtlCache
from deskgate.portal.connection import CACHE_SECONDS, JiraSettings
from deskgate.portal.desks import DeskSetting, PortalTarget, portal_target
from deskgate.portal.page_budget import page_budget
from tests.portal.conftest import Portal

pytestmark = pytest.mark.anyio


async def test_the_second_call_costs_no_jsm_call(portal: Portal) -> None:
    catalogue = portal.services.catalogue
    desks = await catalogue.service_desks()
    form = await catalogue.request_form("1", "2")
    before = len(portal.app.calls)
    assert await catalogue.service_desks() == desks
    assert await catalogue.request_form("1", "2") == form
    assert (await catalogue.service_desk("1")).project_key == "ITH"
    assert len(portal.app.calls) == before


async def test_concurrent_callers_share_one_fetch(portal: Portal) -> None:
    catalogue = portal.services.catalogue
    results = await asyncio.gather(*(catalogue.request_types("1") for _ in range(20)))
    assert all(r == results[0] for r in results)
    assert portal.calls("/servicedesk/1/requesttype") == 1


async def test_a_portal_page_fetches_concurrently_and_once(portal: Portal) -> None:
    catalogue = portal.services.catalogue
    pages = await asyncio.gather(catalogue.portal("1"), catalogue.portal("1"))
    desk, groups, types = pages[0]
    assert desk.id == "1" and groups and types and pages[1] == pages[0]
    assert portal.calls("/requesttypegroup") == 1 and portal.calls("/requesttype") == 1
    assert portal.calls("/servicedesk") == 1


async def test_refresh_forgets_everything(portal: Portal) -> None:
    catalogue = portal.services.catalogue
    await catalogue.service_desks()
    catalogue.refresh()
    await catalogue.service_desks()
    assert portal.calls("/servicedesk") == 2


async def test_unknown_desk_and_request_type_are_not_found(portal: Portal) -> None:
    with pytest.raises(NotFound):
        await portal.services.catalogue.service_desk("999")
    with pytest.raises(NotFound):
        await portal.services.catalogue.request_type("1", "999")


async def test_ttl_expiry_and_failures_are_not_cached() -> None:
    now = [0.0]
    cache = TtlCache(10, monotonic=lambda: now[0])
    fetched: list[int] = []

    async def fetch() -> int:
        fetched.append(1)
        if len(fetched) == 1:
            raise RuntimeError("JSM down")
        return len(fetched)

    with pytest.raises(RuntimeError):
        await cache.get("k", fetch)
    assert await cache.get("k", fetch) == 2
    assert await cache.get("k", fetch) == 2
    now[0] = 10.0
    assert await cache.get("k", fetch) == 3


async def test_desk_settings_default_and_saved(portal: Portal) -> None:
    desks = portal.services.desks
    assert await desks.get("1") == DeskSetting("1", sso_enabled=True, visible_request_types=None)
    await desks.save(DeskSetting("2", sso_enabled=False, visible_request_types=("7",)))
    saved = await desks.get("2")
    assert not saved.sso_enabled and saved.shows("7") and not saved.shows("8")
    assert desks.substitute_link("2") == "https://help.example.com/portal/2"


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("/portal/3", PortalTarget("3")),
        ("/portal/3/create/12", PortalTarget("3")),
        ("/servicedesk/customer/portal/3", PortalTarget("3")),
        ("/servicedesk/customer/portal/3/ith-12", PortalTarget("3", "ITH-12")),
        ("https://help.example.com/servicedesk/customer/portal/3/ITH-12?x=1", PortalTarget("3", "ITH-12")),
        ("/portals", None),
        ("/portal/abc", None),
        ("/account", None),
        (None, None),
    ],
)
def test_portal_targets(url: str | None, target: PortalTarget | None) -> None:
    assert portal_target(url) == target


async def test_a_failing_refresh_serves_the_old_value_and_honours_retry_after() -> None:
    """Stale-while-error: JSM away or busy after a value was cached keeps it; a 429's Retry-After holds
    off the next refresh; a 404 is news, not a failure to hide."""
    now = [0.0]
    cache = TtlCache(10, monotonic=lambda: now[0])
    answers: list[object] = [1, JsmRateLimited("busy", retry_after=25), JsmUnavailable("down"), 2]

    async def fetch() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await cache.get("k", fetch) == 1
    now[0] = 10.0
    assert await cache.get("k", fetch) == 1  # the 429: the old value
    now[0] = 34.0
    assert await cache.get("k", fetch) == 1 and len(answers) == 2  # JSM not asked within Retry-After
    now[0] = 35.0
    assert await cache.get("k", fetch) == 1  # asked again: down, the old value still
    now[0] = 45.0
    assert await cache.get("k", fetch) == 2 and not answers

    async def not_found() -> object:
        raise NotFound("gone")

    now[0] = 60.0
    with pytest.raises(NotFound):
        await cache.get("k", not_found)


async def test_within_a_page_budget_a_slow_refresh_is_not_waited_for() -> None:
    cache = TtlCache(0)
    assert await cache.get("k", _value(1)) == 1
    release = asyncio.Event()

    async def slow() -> int:
        await release.wait()
        return 2

    async with page_budget(1.0) as budget:
        started = asyncio.get_running_loop().time()
        assert await cache.get("k", slow) == 1
        assert asyncio.get_running_loop().time() - started < 0.6 and budget.stale_since is not None
    release.set()
    await asyncio.sleep(0)
    assert await cache.get("k", _value(3)) in (2, 3)  # the late answer was kept (or a newer one)


def _value(value: int) -> Callable[[], Awaitable[int]]:
    async def fetch() -> int:
        return value

    return fetch


async def test_a_refresh_on_another_instance_empties_this_workers_catalogue(portal: Portal) -> None:
    """`deskgate jira refresh` elsewhere (another instance's services on the same database) reaches this
    worker's catalogue as soon as its connection cache rereads the row; until then, and without a refresh,
    the warm catalogue costs no JSM call."""
    now = [0.0]
    here = portal.services
    watched = JiraSettings(here.db, here.box, monotonic=lambda: now[0])
    catalogue = Catalogue(here.jsm_clients.page, cleared_at=watched.caches_cleared_at)
    await catalogue.service_desks()
    await catalogue.service_desks()
    assert portal.calls("/servicedesk") == 1
    elsewhere = JiraSettings(here.db, here.box)  # the refreshing process's own
    await elsewhere.clear_caches()
    await catalogue.service_desks()
    assert portal.calls("/servicedesk") == 1, "not before this worker's connection cache expires"
    now[0] += CACHE_SECONDS
    await catalogue.service_desks()
    await catalogue.service_desks()
    assert portal.calls("/servicedesk") == 2, "refetched once, then cached again"
    assert await watched.caches_cleared_at() is not None
    now[0] += CACHE_SECONDS
    await catalogue.service_desks()
    assert portal.calls("/servicedesk") == 2, "the same mark read again clears nothing"
