"""The import's dry run: an upload is previewed (what each item would become, nothing written); its form
imports the very file previewed; "replace" needs its box ticked; a tampered or CSRF-less second step
changes nothing."""

from __future__ import annotations

import html
import re

import pytest

from deskgate.portal.desks import DeskSetting
from tests.admin.test_backup_console import GLUU, JSM, SEALED, Console, console

pytestmark = pytest.mark.anyio
__all__ = ["console"]  # the backup page's fixture: an admin signed in, GLUU, JSM, a desk, a login page


def _rows(text: str) -> dict[str, tuple[str, list[str]]]:
    """Each previewed item: its result and its changes, as the page shows them."""
    found = {}
    for row in re.findall(r'<tr class="preview-item">(.*?)</tr>', text, re.S):
        name = re.sub(r"<[^>]+>", "", re.findall(r"<th[^>]*>(.*?)</th>", row, re.S)[0]).strip()
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        changes = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<li>(.*?)</li>", cells[1], re.S)]
        found[name] = (cells[0].strip(), changes)
    return found


def _sealed(text: str) -> str:
    found = SEALED.search(text)
    assert found, "no previewed document in the page"
    return html.unescape(found.group(1))


async def test_the_preview_shows_each_change_and_writes_nothing(console: Console) -> None:
    exported = (await console.export()).text
    await console.services.providers.save(GLUU.model_copy(update={"title": "Renamed"}))
    await console.services.desks.save(DeskSetting("1"))
    await console.services.jira.save(JSM.model_copy(update={"email": "someone-else@example.com"}))
    before = await console.state()

    preview = await console.preview(exported)
    assert preview.status_code == 200 and "What the import would change" in preview.text
    rows = _rows(preview.text)
    assert rows["Identity provider gluu"] == ("changed", ["title: Renamed → Corp Gluu"])
    assert rows["JSM connection https://example.atlassian.net"] == (
        "changed",
        ["email: someone-else@example.com → deskgate-bot@example.com"],
    )
    assert rows["Desk 1"][0] == "changed" and "sso_enabled: yes → no" in rows["Desk 1"][1]
    assert rows["Login page login page and branding"] == ("unchanged", [])
    assert JSM.api_token is not None and JSM.api_token.get_secret_value() not in preview.text
    assert await console.state() == before  # a dry run
    assert await console.details("admin.backup.import") == []


async def test_a_file_as_stored_is_reported_unchanged(console: Console) -> None:
    exported = (await console.export()).text
    preview = await console.preview(exported)
    assert {result for result, _ in _rows(preview.text).values()} == {"unchanged"}
    report = await console.upload(exported)
    assert "<dt>Identity providers unchanged</dt><dd>gluu</dd>" in report.text
    assert "<dt>Identity providers updated</dt><dd>none</dd>" in report.text


async def test_replace_is_imported_only_once_confirmed(console: Console) -> None:
    exported = (await console.export()).text
    await console.services.providers.save(GLUU.model_copy(update={"name": "extra", "title": "Extra"}))
    preview = await console.preview(exported, mode="replace")
    assert _rows(preview.text)["Identity provider extra"] == ("deleted", [])
    assert 'name="confirm" value="replace" required' in preview.text and "extra is deleted" in preview.text
    step = {"csrf_token": console.token, "mode": "replace", "document": _sealed(preview.text)}

    unconfirmed = await console.client.post("/admin/backup/import", data=step)
    assert unconfirmed.status_code == 409 and 'id="confirm-missing"' in unconfirmed.text
    assert sorted(p.name for p in await console.services.providers.all()) == ["extra", "gluu"]

    for forged in ({"csrf_token": "forged"}, {"csrf_token": ""}):
        refused = await console.client.post(
            "/admin/backup/import", data=step | forged | {"confirm": "replace"}
        )
        assert refused.status_code == 403
    tampered = step | {"confirm": "replace", "document": step["document"][:-8] + "AAAAAAAA"}
    altered = await console.client.post("/admin/backup/import", data=tampered)
    assert altered.status_code == 400 and "expired or was altered" in altered.text
    assert sorted(p.name for p in await console.services.providers.all()) == ["extra", "gluu"]
    assert await console.details("admin.backup.import") == []

    done = await console.client.post("/admin/backup/import", data=step | {"confirm": "replace"})
    assert done.status_code == 200 and "<dt>Identity providers deleted</dt><dd>extra</dd>" in done.text
    assert [p.name for p in await console.services.providers.all()] == ["gluu"]
    (audited,) = await console.services.audit.query(event="admin.backup.import")
    assert audited.changes == [{"field": "Identity provider extra", "before": "present", "after": "deleted"}]
