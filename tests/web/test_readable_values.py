"""No Python repr reaches a reader: every console page and the customer pages, drawn with realistic data
(claims with booleans, nulls, lists and epochs; sessions; a block; audit entries with changes), show
values as words or JSON, never `True`, `None`, `[]` or `['staff']`."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from markupsafe import escape
from pydantic import SecretStr

from deskgate.audit import AuditEvent
from deskgate.identity.provider import ProviderConfig
from deskgate.services import Services
from deskgate.web.formatting import preset_title
from tests.a11y.test_axe_console import PAGES
from tests.support.admin import console_sign_in
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

# "None: …" is a choice's label in words (no client secret, no redirect), not a value.
PYTHON_REPRS = re.compile(r"\bTrue\b|\bFalse\b|\bNone\b(?!:)|\[\]|\['|\{'|\(\)")
# A claim shown as JSON (`claim_json`): `[]` and `null` there are the IdP's own JSON, rightly.
JSON_CLAIM = re.compile(r'<code class="claim">.*?</code>', re.S)
EPOCH = 1796432523  # 2026-12-05 01:02:03 UTC
CLAIMS = {
    "sub": "u-1",
    "email": "ann@corp.test",
    "email_verified": True,
    "phone_number_verified": False,
    "groups": ["staff"],
    "roles": [],
    "address": None,
    "exp": EPOCH,
    "iat": EPOCH - 60,
    "auth_time": EPOCH - 120,
}
TEST_RESULT = {
    "ok": True,
    "subject": "u-1",
    "id_token_claims": CLAIMS,
    "userinfo_claims": {"sub": "u-1", "updated_at": EPOCH, "groups": ["staff"], "nickname": None},
    "mapped": {
        "email": "ann@corp.test",
        "email_verified": True,
        "first_name": None,
        "last_name": "Lee",
        "display_name": "Ann Lee",
        "groups": ["staff"],
        "organization": None,
        "extra": {},
    },
    "verdict": {"allowed": True, "rule": "default", "reason": "no rule refused"},
    "warnings": [],
}
# Pages that need something in their query to be more than a "not found" page.
QUERIES = {"/admin/sessions/revoke-user": "?idp=corp&subject=u-1"}


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = JSON_CLAIM.sub(" ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def reprs_in(page: str) -> list[str]:
    text = visible_text(page)
    return [text[max(0, m.start() - 40) : m.end() + 40] for m in PYTHON_REPRS.finditer(text)]


def test_the_check_finds_python_reprs_and_not_json_or_markup() -> None:
    assert reprs_in("<td>True</td>") and reprs_in("<td>['staff']</td>") and reprs_in("<p>None</p>")
    assert reprs_in("<td>[]</td>") and reprs_in("<td>{'a': 1}</td>")
    assert not reprs_in('<td>true</td><td>["staff"]</td><input value="True"><script>x = []</script>')
    assert not reprs_in('<code class="claim">[]</code>') and reprs_in("<code>[]</code>")


async def _seed(services: Services) -> str:
    await services.providers.save(
        ProviderConfig(
            name="corp",
            title="Corporate sign-in",
            issuer="https://corp.idp.test",
            client_id="deskgate",
            client_secret=SecretStr("client-secret-0123456789"),
        )
    )
    test_id = await services.connection_tests.save("corp", TEST_RESULT)
    await _signed_in(services)
    await services.blocks.block(
        idp="corp", subject="u-9", email="eve@corp.test", display_name="Eve", blocked_by="admin"
    )
    await services.audit.record(
        AuditEvent(event="login", outcome="failure", idp="corp", error_id="e-1", detail="check=nonce")
    )
    return test_id


async def _signed_in(services: Services) -> None:
    await services.sessions.start(
        idp="corp",
        subject="u-1",
        email="ann@corp.test",
        display_name="Ann Lee",
        attributes=TEST_RESULT["mapped"],  # type: ignore[arg-type]
        client_ip="192.0.2.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    )


async def test_no_console_page_shows_a_python_repr(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        test_id = await _seed(services)
        token = await console_sign_in(client, services)
        # An audited change with booleans and lists in it: the IdP turned off (enabled: true → false).
        data = {"csrf_token": token, "confirm": "disable"}
        assert (await client.post("/admin/idps/corp/disable", data=data)).status_code == 303
        await client.post("/admin/idps/corp/enable", data={"csrf_token": token})
        await _signed_in(services)  # turning corp off ended its sessions
        params = {"name": "corp", "preset": "gluu", "test_id": test_id, "token": "spent", "desk_id": "1"}
        found: dict[str, list[str]] = {}
        for path in PAGES:
            url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: params.get(m.group(1), "x"), path)
            page = await client.get(url + QUERIES.get(path, ""))
            if page.headers.get("content-type", "").startswith("text/html") and reprs_in(page.text):
                found[path] = reprs_in(page.text)
        assert found == {}
        # The pages that matter most here did draw their data.
        result = await client.get(f"/admin/idps/corp/test/result/{test_id}")
        for shown in ("true", '["staff"]', "[]", "null", str(EPOCH)):
            assert f'<code class="claim">{escape(shown)}</code>' in result.text, shown
        assert "2026-12-05 01:02 UTC" in result.text  # exp, as a date beside the number
        listing = await client.get("/admin/")
        assert f"<td>{escape(preset_title('generic-oidc'))}</td>" in listing.text  # a title, not an id
        assert "<td>generic-oidc</td>" not in listing.text
        sessions = await client.get("/admin/sessions")
        assert "Firefox 120 on Linux" in sessions.text and "eve@corp.test" in sessions.text


async def test_no_customer_page_shows_a_python_repr(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _seed(services)
        cookie, _ = await services.sessions.start(
            idp="corp", subject="u-2", email="bo@corp.test", display_name="Bo", attributes={"groups": []}
        )
        client.cookies.set("deskgate_session", cookie)
        account = await client.get("/account")
        assert '<dd class="idp">Corporate sign-in</dd>' in account.text  # the title, not "corp"
        for path in ("/account", "/login", "/logout"):
            page = await client.get(path)
            assert not reprs_in(page.text), (path, reprs_in(page.text))
        async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as visitor:
            chooser = await visitor.get("/login")
            assert not reprs_in(chooser.text)
