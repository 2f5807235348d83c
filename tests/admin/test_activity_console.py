"""The console's sessions page (search, revoke one, revoke a user's all) and audit log (filters, CSV)."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from deskgate.audit import AuditEvent
from deskgate.audit_words import OUTCOME_WORDS
from deskgate.crypto import digest
from deskgate.services import Services
from tests.support.admin import ADMIN_USER, console_sign_in
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def _admin(client: httpx.AsyncClient, services: Services) -> str:
    return await console_sign_in(client, services)


async def _start(services: Services, name: str, *, idp: str = "gluu", subject: str | None = None) -> str:
    cookie, _ = await services.sessions.start(
        idp=idp,
        subject=subject or f"sub-{name}",
        email=f"{name}@corp.test",
        display_name=name.title(),
        attributes={},
    )
    return cookie


def _rows(html: str) -> list[str]:
    """The display names in the sessions table, in order."""
    return re.findall(r'<tr><th scope="row">([^<]*)</th>', html)


async def _audited(services: Services, event: str) -> list[str | None]:
    return [e.detail for e in await services.audit.query(event=event)]


# --- sessions --------------------------------------------------------------------------------------


async def test_the_list_shows_live_customer_sessions_and_search_narrows(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _admin(client, services)
        ada = await _start(services, "ada")
        await _start(services, "bob", idp="okta")
        page = await client.get("/admin/sessions")
        assert page.status_code == 200
        assert _rows(page.text) == ["Bob", "Ada"]  # newest first; the signed-in admin is not a customer
        assert ADMIN_USER not in _rows(page.text) and "deskgate-admin" not in page.text
        assert "ada@corp.test" in page.text and "sub-ada" in page.text
        assert ada not in page.text  # nothing a browser could sign in with
        assert page.text.count(digest(ada)) == 1  # the stored hash, once: the revoke form's hidden field
        assert f'type="hidden" name="session" value="{digest(ada)}"' in page.text
        for text, expected in [
            ("ADA@corp", ["Ada"]),
            ("sub-bob", ["Bob"]),
            ("okta", ["Bob"]),
            ("ad", ["Ada"]),
        ]:
            assert _rows((await client.get("/admin/sessions", params={"q": text})).text) == expected
        none = await client.get("/admin/sessions", params={"q": "nobody"})
        assert _rows(none.text) == [] and "No active session matches" in none.text


async def test_sessions_are_paged_fifty_at_a_time(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _admin(client, services)
        for n in range(51):
            await _start(services, f"user{n:02}")
        first = await client.get("/admin/sessions", params={"q": "user"})
        assert len(_rows(first.text)) == 50 and "51 active sessions" in first.text
        next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
        assert next_link and next_link.group(1) == "/admin/sessions?q=user&amp;page=2"
        second = await client.get("/admin/sessions", params={"q": "user", "page": "2"})
        assert _rows(second.text) == ["User00"] and 'rel="prev"' in second.text


async def test_revoke_ends_that_session_at_once_and_is_audited(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _admin(client, services)
        ada, other = await _start(services, "ada"), await _start(services, "ada")
        assert await services.sessions.resolve(ada) is not None  # cached in this worker
        form = {"csrf_token": token, "session": digest(ada), "q": "ada", "page": "1"}
        done = await client.post("/admin/sessions/revoke", data=form)
        assert done.status_code == 303
        assert done.headers["location"] == "/admin/sessions?q=ada&page=1&ended=1"
        assert await services.sessions.resolve(ada) is None
        assert await services.sessions.resolve(other) is not None  # the same user's other session stays
        assert await _audited(services, "admin.sessions.revoke") == [
            f"session of sub-ada (ada@corp.test) ended by {ADMIN_USER}"
        ]
        [event] = await services.audit.query(event="admin.sessions.revoke")
        assert event.subject == ADMIN_USER and event.idp == "gluu"
        assert "1 session ended." in (await client.get(done.headers["location"])).text

        again = await client.post("/admin/sessions/revoke", data=form)
        assert again.status_code == 404  # already ended
        for bad in ("", "not-a-hash", digest("unknown"), digest(ada).upper()):
            refused = await client.post("/admin/sessions/revoke", data={**form, "session": bad})
            assert refused.status_code == 404
        assert len(await _audited(services, "admin.sessions.revoke")) == 1


async def test_revoke_all_ends_every_session_of_that_user_only(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _admin(client, services)
        ada = [await _start(services, "ada"), await _start(services, "ada")]
        same_subject_other_idp = await _start(services, "ada", idp="okta")
        bob = await _start(services, "bob")
        asked = await client.get("/admin/sessions/revoke-user", params={"idp": "gluu", "subject": "sub-ada"})
        assert asked.status_code == 200 and '<strong id="revoke-count">2 live sessions</strong>' in asked.text
        form = {"csrf_token": token, "idp": "gluu", "subject": "sub-ada"}
        unconfirmed = await client.post("/admin/sessions/revoke-user", data=form)
        assert unconfirmed.status_code == 409 and 'id="confirm-missing"' in unconfirmed.text
        assert all([await services.sessions.resolve(c) for c in ada])  # nothing ended unconfirmed
        form["confirm"] = "end"
        done = await client.post("/admin/sessions/revoke-user", data=form)
        assert done.status_code == 303 and done.headers["location"] == "/admin/sessions?ended=2"
        assert [await services.sessions.resolve(c) for c in ada] == [None, None]
        assert await services.sessions.resolve(bob) is not None
        assert await services.sessions.resolve(same_subject_other_idp) is not None
        assert await _audited(services, "admin.sessions.revoke_user") == [
            f"all 2 session(s) of sub-ada ended by {ADMIN_USER}"
        ]
        assert (await client.post("/admin/sessions/revoke-user", data=form)).status_code == 404
        for missing in ({"idp": ""}, {"subject": ""}):
            assert (
                await client.post("/admin/sessions/revoke-user", data={**form, **missing})
            ).status_code == 404
        assert await services.sessions.resolve(bob) is not None


@pytest.mark.parametrize("path", ["/admin/sessions/revoke", "/admin/sessions/revoke-user"])
async def test_revoking_needs_a_valid_csrf_token(db_url: str, path: str) -> None:
    async with running_app(db_url) as (client, services):
        await _admin(client, services)
        ada = await _start(services, "ada")
        form = {"session": digest(ada), "idp": "gluu", "subject": "sub-ada"}
        for token in ({}, {"csrf_token": "forged"}):
            assert (await client.post(path, data={**form, **token})).status_code == 403
        assert await services.sessions.resolve(ada) is not None
        assert await services.audit.query(event="admin.sessions.revoke") == []
        assert await services.audit.query(event="admin.sessions.revoke_user") == []


async def test_pages_need_an_admin_not_a_customer(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        client.cookies.set("deskgate_session", await _start(services, "ada"))
        for path in ("/admin/sessions", "/admin/audit", "/admin/audit.csv"):
            page = await client.get(path)
            assert page.status_code == 303 and page.headers["location"].startswith("/admin/login")


# --- audit log -------------------------------------------------------------------------------------


async def _sample(services: Services) -> None:
    events = [
        AuditEvent("login", "success", idp="gluu", subject="s-ada", email="ada@corp.test"),
        AuditEvent("login", "refused", idp="okta", subject="s-bob", email="bob@x.test", error_id="ERR-BOB"),
        AuditEvent("logout.rp", "success", idp="gluu", subject="s-ada"),
        AuditEvent("login", "failure", idp="gluu", error_id="ERR-STATE", detail="check=state: no state"),
    ]
    for day, event in enumerate(events):
        await services.audit.record(dataclasses.replace(event, at=T0 + timedelta(days=day)))


def _events(html: str) -> list[str]:
    """Event/outcome/user of each row of the events table, as codes (the page shows them in words, the
    event's code in its cell's title)."""
    rows = re.findall(r'<tr class="audit-event">(.*?)</tr>', html, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    codes = [re.findall(r'<td title="([^"]*)">', row)[0] for row in rows]
    outcomes = {words: code for code, words in OUTCOME_WORDS.items()}
    return [
        f"{code}/{outcomes[re.sub('<[^>]+>', '', c[2])]}/{c[4].strip()}"
        for code, c in zip(codes, cells, strict=True)
    ]


async def test_each_audit_filter_narrows(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _admin(client, services)  # records admin.login
        await _sample(services)

        async def shown(**params: str) -> list[str]:
            page = await client.get("/admin/audit", params=params)
            assert page.status_code == 200
            return _events(page.text)

        assert len(await shown()) == 5
        assert await shown(event="logout.rp") == ["logout.rp/success/s-ada"]
        assert await shown(outcome="refused") == ["login/refused/bob@x.test · s-bob"]
        assert await shown(idp="gluu", event="login") == [
            "login/failure/—",
            "login/success/ada@corp.test · s-ada",
        ]
        assert await shown(user="BOB@X") == ["login/refused/bob@x.test · s-bob"]
        assert await shown(user="s-ada") == ["logout.rp/success/s-ada", "login/success/ada@corp.test · s-ada"]
        assert await shown(**{"from": "2026-11-28", "to": "2026-11-29"}) == [
            "logout.rp/success/s-ada",
            "login/refused/bob@x.test · s-bob",
        ]
        assert await shown(**{"from": "2026-11-28 00:00", "to": "2026-11-29 00:00"}) == [
            "login/refused/bob@x.test · s-bob"
        ]
        page = await client.get("/admin/audit", params={"event": "login", "outcome": "failure"})
        assert (
            '<option value="login" selected>Customer sign-in</option>' in page.text
            and '<option value="failure" selected>failed</option>' in page.text
        )


async def test_a_bad_filter_is_explained_inline_and_kept(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _admin(client, services)
        for path in ("/admin/audit", "/admin/audit.csv"):
            page = await client.get(path, params={"from": "last tuesday", "outcome": "maybe", "user": "ada"})
            assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
            assert 'role="alert"' in page.text and "2 problems" in page.text
            assert (
                'value="last tuesday" aria-describedby="help-from error-from" aria-invalid="true"'
                in page.text
            )
            assert 'id="error-outcome"' in page.text and 'value="ada"' in page.text
        assert await services.audit.query(event="admin.audit.export") == []


async def test_audit_pages_hold_fifty_newest_first_and_keep_the_filters(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _admin(client, services)
        for n in range(60):
            at = T0 + timedelta(minutes=n)
            await services.audit.record(AuditEvent("login", "success", idp="gluu", subject=f"u{n:02}", at=at))
        await services.audit.record(AuditEvent("login", "success", idp="okta", subject="other", at=T0))
        first = await client.get("/admin/audit", params={"idp": "gluu", "event": "login"})
        rows = _events(first.text)
        assert len(rows) == 50 and rows[0] == "login/success/u59" and rows[-1] == "login/success/u10"
        assert "60 events" in first.text
        next_url = re.search(r'href="([^"]+)" rel="next"', first.text)
        assert next_url and next_url.group(1) == "/admin/audit?idp=gluu&amp;event=login&amp;page=2"
        second = await client.get(next_url.group(1).replace("&amp;", "&"))
        assert _events(second.text) == [f"login/success/u{n:02}" for n in range(9, -1, -1)]
        assert 'rel="prev"' in second.text and 'rel="next"' not in second.text


async def test_csv_export_of_the_filtered_log_escapes_formulas(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _admin(client, services)
        await _sample(services)
        hostile = AuditEvent(
            "login", "refused", idp="gluu", subject="=cmd|'/c calc'!A1", email="@x", detail="-2+3"
        )
        await services.audit.record(hostile)
        page = await client.get("/admin/audit", params={"idp": "gluu", "event": "login"})
        assert 'href="/admin/audit.csv?idp=gluu&amp;event=login"' in page.text
        export = await client.get("/admin/audit.csv", params={"idp": "gluu", "event": "login"})
        assert export.status_code == 200
        assert export.headers["content-type"] == "text/csv; charset=utf-8"
        assert re.fullmatch(
            r'attachment; filename="deskgate-audit-\d{8}T\d{6}Z\.csv"', export.headers["content-disposition"]
        )
        header, *rows = list(csv.reader(io.StringIO(export.text)))
        assert header == [
            "at",
            "event",
            "outcome",
            "idp",
            "email",
            "subject",
            "client_ip",
            "error_id",
            "detail",
            "request_id",
        ]
        assert [(r[1], r[2], r[5]) for r in rows] == [
            ("login", "refused", "'=cmd|'/c calc'!A1"),
            ("login", "failure", ""),
            ("login", "success", "s-ada"),
        ]
        assert rows[0][4] == "'@x" and rows[0][8] == "'-2+3"
        assert rows[1][7] == "ERR-STATE" and rows[2][0] == "2026-11-27T09:00:00+00:00"
        [exported] = await services.audit.query(event="admin.audit.export")
        assert exported.subject == ADMIN_USER and "idp=gluu, event=login" in (exported.detail or "")


async def test_recent_sso_errors_show_their_error_ids(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _admin(client, services)
        await _sample(services)
        await services.audit.record(AuditEvent("admin.login", "refused", subject="intruder"))
        page = await client.get("/admin/audit", params={"event": "logout.rp"})  # the section ignores filters
        section = page.text.split('id="recent-errors"', 1)[1]
        rows = re.findall(r'<tr class="sso-error">(.*?)</tr>', section, re.S)
        assert len(rows) == 2
        assert "<code>ERR-STATE</code>" in rows[0] and "check=state: no state" in rows[0]
        assert "<code>ERR-BOB</code>" in rows[1] and "bob@x.test" in rows[1]
        assert "intruder" not in section  # an admin sign-in is not an SSO error
