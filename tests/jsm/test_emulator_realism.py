"""The emulator behaves as JSM does where Deskgate depends on it (issue 9), Cloud and Data Center: a search
index that lags behind writes, Jira's word breaks, wiki markup for files added with a comment, the
permissions the contract names, e-mail addresses hidden on Cloud, and the opt-in for experimental calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from deskgate.jsm import JsmAuthError, JsmClient, JsmConflict, RetryPolicy
from deskgate.jsm.client import EXISTS_BUT_NOT_FOUND
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.jsm.emulator.analysis import words

pytestmark = pytest.mark.anyio
SITE = "https://jsm.test"
SD = f"{SITE}/rest/servicedeskapi"


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Site:
    app: EmulatorApp
    client: JsmClient
    http: httpx.AsyncClient
    clock: Clock

    async def alice(self) -> str:
        found = await self.client.find_customer_by_email("1", "alice@example.com")
        assert found is not None
        return found.user_id


@pytest.fixture(params=["cloud", "datacenter"])
async def site(request: pytest.FixtureRequest) -> AsyncIterator[Site]:
    clock = Clock()
    app = create_emulator(request.param, page_cap=2, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        client = JsmClient(http, app.connection(SITE), retry=RetryPolicy(max_attempts=1))
        yield Site(app, client, http, clock)


# --- the search index lags behind writes --------------------------------------------------------------


async def test_search_finds_a_new_request_only_after_the_index_lag(site: Site) -> None:
    site.app.faults.search_lag_seconds = 30
    alice = await site.alice()
    created = await site.client.create_request(
        "1", "1", {"summary": "Printer jam", "description": "Tray 2"}, raise_on_behalf_of=alice
    )
    assert (await site.client.get_request(created.issue_key)).issue_key == created.issue_key  # stored at once
    keys = [r.issue_key for r in (await site.client.search_customer_requests("ITH", alice)).values]
    assert created.issue_key not in keys and "ITH-1" in keys  # the demo data was indexed long ago
    site.clock.now += 29.5
    assert (await site.client.search_customer_requests("ITH", alice, text="printer")).values == ()
    site.clock.now += 0.5
    found = await site.client.search_customer_requests("ITH", alice, text="printer")
    assert [r.issue_key for r in found.values] == [created.issue_key]


async def test_a_change_shows_in_search_only_after_the_lag_the_old_version_until_then(site: Site) -> None:
    site.app.faults.search_lag_seconds = 10
    alice = await site.alice()
    await site.client.add_comment("ITH-1", "The fan is rattling")
    assert (await site.client.search_customer_requests("ITH", alice, text="rattling")).values == ()
    assert len((await site.client.search_customer_requests("ITH", alice, text="laptop")).values) == 1
    site.clock.now += 10
    found = await site.client.search_customer_requests("ITH", alice, text="rattling")
    assert [r.issue_key for r in found.values] == ["ITH-1"]


async def test_without_a_lag_the_index_is_current(site: Site) -> None:
    alice = await site.alice()
    created = await site.client.create_request("1", "1", {"summary": "Mouse"}, raise_on_behalf_of=alice)
    page = await site.client.search_customer_requests("ITH", alice, text="mouse")
    assert [r.issue_key for r in page.values] == [created.issue_key]


# --- Jira's word breaks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[deskgate:c0ffee12]", ["deskgate:c0ffee12"]),  # a colon between letters does not split
        ("[deskgate:3af]", ["deskgate", "3af"]),  # … between a letter and a digit it does
        ("Don't pay 1,000.50 EUR, e.g. twice", ["don't", "pay", "1,000.50", "eur", "e.g", "twice"]),
        ("ITH-12: the VPN_client", ["ith", "12", "the", "vpn_client"]),
        ("Café naïve 日本", ["café", "naïve", "日", "本"]),
        ("a : b ... --", ["a", "b"]),
    ],
)
def test_text_is_cut_into_words_as_jiras_index_does(text: str, expected: list[str]) -> None:
    assert words(text) == expected


async def _marked(site: Site, marker: str) -> str:
    alice = await site.alice()
    created = await site.client.create_request(
        "1", "1", {"summary": "Marked", "description": "Hello"}, raise_on_behalf_of=alice, marker=marker
    )
    return created.issue_key


async def test_with_jiras_word_breaks_a_colon_joined_word_is_one_word(site: Site) -> None:
    assert site.app.faults.unicode_word_breaks  # the default
    key = await _marked(site, "c0ffee" * 4)
    jql = 'project = ITH AND description ~ "deskgate"'
    answer = await site.client.pages.search(jql, start=0, limit=10)
    assert key not in [r.issue_key for r in answer.values]  # the index holds "deskgate:c0ffee…" only
    whole = f'project = ITH AND description ~ "deskgate:{"c0ffee" * 4}"'
    answer = await site.client.pages.search(whole, start=0, limit=10)
    assert key in [r.issue_key for r in answer.values]


async def test_a_marker_starting_with_a_digit_splits_from_the_prefix(site: Site) -> None:
    key = await _marked(site, "0c0ffee" * 3)
    jql = 'project = ITH AND description ~ "deskgate"'
    assert key in [r.issue_key for r in (await site.client.pages.search(jql, start=0, limit=10)).values]


async def test_the_former_ascii_words_are_kept_behind_a_flag(site: Site) -> None:
    site.app.faults.unicode_word_breaks = False
    key = await _marked(site, "c0ffee" * 4)
    jql = 'project = ITH AND description ~ "deskgate"'
    assert key in [r.issue_key for r in (await site.client.pages.search(jql, start=0, limit=10)).values]


async def test_the_marker_is_read_back_with_the_request_not_searched_for(site: Site) -> None:
    key = await _marked(site, "c0ffee" * 4)
    assert (await site.client.get_request(key)).marker == "c0ffee" * 4


# --- wiki markup for files added with a comment ---------------------------------------------------------


async def test_files_added_with_a_comment_get_jsms_markup_as_in_the_contracts_example(site: Site) -> None:
    shot = await site.client.attach_temporary_file("1", "screenshot.png", b"p" * 23123, "image/png")
    log = await site.client.attach_temporary_file("1", "log.txt", b"l" * 32132, "text/plain")
    text = "Please find the screenshot and the log file attached."
    await site.client.attach_to_request("ITH-1", [shot, log], comment=text)
    only = await site.client.attach_temporary_file("1", "big.bin", b"b" * 1_500_000, "application/zip")
    await site.client.attach_to_request("ITH-1", [only])
    *_, with_text, without = await site.client.comments("ITH-1")
    assert with_text.body == f"{text} !screenshot.png|thumbnail! [^log.txt] _(32 kB)_"
    assert without.body == "[^big.bin] _(1.4 MB)_"


# --- permissions ---------------------------------------------------------------------------------------


async def test_creating_a_customer_needs_the_jira_administrator_permission(site: Site) -> None:
    site.app.roles.jira_administrator = False
    with pytest.raises(JsmAuthError) as refused:
        await site.client.create_customer("dora@example.com", "Dora")
    assert refused.value.status == 403
    assert await site.client.my_permissions("ADMINISTER") == {"ADMINISTER": False}
    site.app.roles.jira_administrator = True
    assert (await site.client.create_customer("dora@example.com", "Dora")).display_name == "Dora"


async def test_adding_customers_to_a_desk_needs_its_service_desk_administrator_role(site: Site) -> None:
    dora = await site.client.create_customer("dora@example.com", "Dora")
    site.app.roles.update({"jira_administrator": False, "admin_of": ["2"]})
    with pytest.raises(JsmAuthError) as refused:
        await site.client.add_customers("1", [dora.user_id])
    assert refused.value.status == 403
    await site.client.add_customers("2", [dora.user_id])  # HRS: its administrator
    assert await site.client.my_permissions("ADMINISTER_PROJECTS", project_key="ITH") == {
        "ADMINISTER_PROJECTS": False
    }
    assert await site.client.my_permissions("ADMINISTER_PROJECTS", project_key="HRS") == {
        "ADMINISTER_PROJECTS": True
    }
    site.app.roles.jira_administrator = True  # a Jira administrator administers every project
    await site.client.add_customers("1", [dora.user_id])


async def test_roles_are_set_over_http_and_reset(site: Site) -> None:
    url = f"{SITE}/__emulator__/roles"
    changed = await site.http.put(url, json={"jira_administrator": False, "agent_of": ["2"]})
    assert changed.json() == {"jira_administrator": False, "agent_of": ["2"], "admin_of": None}
    form = await site.client.request_form("1", "1")
    assert form.can_raise_on_behalf_of is False  # not an agent of ITH
    assert (await site.http.put(url, json={"agent_of": "2"})).status_code == 400
    assert (await site.http.delete(url)).json()["jira_administrator"] is True


# --- e-mail addresses hidden on Cloud ---------------------------------------------------------------------


async def test_a_hidden_email_is_never_shown_nor_matched_on_cloud(site: Site) -> None:
    hidden = site.app.store.add_user("hana@example.com", "Hana Hidden")
    hidden.email_hidden = True
    site.app.store.desks[0].customers.add(hidden.account_id)
    headers = {
        **site.app.connection(SITE).auth_headers(),
        "X-ExperimentalApi": site.client.flavour.experimental_header,
    }
    listed = (await site.http.get(f"{SD}/servicedesk/1/customer?query=Hana", headers=headers)).json()
    found = await site.client.find_customer_by_email("1", "hana@example.com")
    if site.app.flavour == "datacenter":  # no per-user visibility there: found as any other
        assert listed["values"][0]["emailAddress"] == "hana@example.com"
        assert found is not None and found.email == "hana@example.com"
        return
    assert "emailAddress" not in listed["values"][0]
    # Deskgate cannot tell her from anyone called Hana, so it does not find her …
    assert found is None
    # … and creating her conflicts: the error says what the admin must do.
    with pytest.raises(JsmConflict):
        await site.client.create_customer("hana@example.com", "Hana")
    assert "visibility to 'Anyone'" in EXISTS_BUT_NOT_FOUND


# --- the opt-in for experimental operations ---------------------------------------------------------------


async def test_comment_attachments_is_experimental_and_the_client_opts_in(site: Site) -> None:
    comment = (await site.client.comments("ITH-1"))[0]
    plain = site.app.connection(SITE).auth_headers()
    refused = await site.http.get(f"{SD}/request/ITH-1/comment/{comment.id}/attachment", headers=plain)
    assert refused.status_code == 412
    files = await site.client.comment_attachments("ITH-1", comment.id)
    assert [f.filename for f in files] == ["power-guide.txt"]
