"""A configuration import whose JSM connection is for another site: the previous site's customer links and
desk settings go (as with the Jira page and `deskgate jira connect`), and the import's report and
`deskgate config import` say how many and of which site. The same site, however written, keeps them; an
invalid file changes nothing and reports nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from deskgate.cli import app
from deskgate.cli._shared import with_services
from deskgate.config_io import ImportReport, import_config
from deskgate.errors import ConfigError
from deskgate.portal.connection import SiteSwitch
from deskgate.portal.desks import DeskSetting
from deskgate.services import Services
from deskgate.settings import Settings, load_settings
from deskgate.store.models import CustomerLinkRow
from tests.support.jsm_sites import SITE_A, SITE_A_TOKEN, SITE_B, connect_site_a

runner = CliRunner()
SECRET_KEY = "config-import-site-switch-key-0123456789-abc"
SWITCH_LINE = "Another site: the customer links (1) and desk settings (1) of the previous site"


@pytest.fixture(autouse=True)
def _no_deskgate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*Settings.model_fields, "config"]:
        monkeypatch.delenv(f"DESKGATE_{name.upper()}", raising=False)


@pytest.fixture
def config_file(db_url: str, tmp_path: Path) -> Path:
    """A database connected to site A, with one customer link of it and one desk setting."""
    path = tmp_path / "deskgate.yaml"
    values = {"base_url": "https://help.example.com", "secret_key": SECRET_KEY, "database_url": db_url}
    path.write_text(yaml.safe_dump(values))

    with_services(load_settings(path), connect_site_a)
    return path


def document(site_url: str, *, desks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    jsm = {"site_url": site_url, "deployment": "cloud", "email": "bot@example.com", "api_token": "b-token"}
    return {"version": 1, "idps": [], "jsm": jsm, "desks": desks or []}


def run_import(config_file: Path, data: dict[str, Any]) -> ImportReport:
    return with_services(load_settings(config_file), lambda s: import_config(s, data))


def stored(config_file: Path) -> tuple[str | None, list[str], dict[str, DeskSetting]]:
    """The connected site, the subjects of the customer links and the desk settings."""

    async def read(services: Services) -> tuple[str | None, list[str], dict[str, DeskSetting]]:
        connection = await services.jira.get()
        async with services.db() as db:
            links = list((await db.scalars(select(CustomerLinkRow.subject))).all())
        site = connection.site_url if connection is not None else None
        return site, links, await services.desks.all()

    return with_services(load_settings(config_file), read)


def test_an_import_to_another_site_reports_the_switch(config_file: Path) -> None:
    desk = {"desk_id": "7", "sso_enabled": False, "visible_request_types": None}
    report = run_import(config_file, document(SITE_B, desks=[desk]))
    assert report.jsm == "updated"
    assert report.site_switch == SiteSwitch(SITE_A, customer_links=1, desk_settings=1)
    # The previous site's link and desk setting are gone; the file's desk setting is saved for the new one.
    assert stored(config_file) == (SITE_B, [], {"7": DeskSetting("7", sso_enabled=False)})


def test_an_import_to_the_same_site_reports_no_switch(config_file: Path) -> None:
    report = run_import(config_file, document("HTTPS://JSM-A.test/"))  # written differently, same site
    assert report.jsm == "updated" and report.site_switch is None
    assert stored(config_file) == ("https://JSM-A.test", ["dave"], {"1": DeskSetting("1", sso_enabled=False)})


def test_an_import_without_a_connection_reports_no_switch(config_file: Path) -> None:
    report = run_import(config_file, {"version": 1, "idps": []})
    assert report.jsm is None and report.site_switch is None
    assert stored(config_file) == (SITE_A, ["dave"], {"1": DeskSetting("1", sso_enabled=False)})


def test_an_invalid_import_to_another_site_changes_nothing(config_file: Path) -> None:
    data = document(SITE_B) | {"idps": [{"name": "Not a name!"}]}
    with pytest.raises(ConfigError):
        run_import(config_file, data)
    assert stored(config_file) == (SITE_A, ["dave"], {"1": DeskSetting("1", sso_enabled=False)})


def cli_import(config_file: Path, data: dict[str, Any], tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "export.yaml"
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["config", "import", str(path), "--config", str(config_file)])
    return result.exit_code, result.output


def test_the_cli_reports_a_switch_of_site(config_file: Path, tmp_path: Path) -> None:
    exit_code, output = cli_import(config_file, document(SITE_B), tmp_path)
    assert exit_code == 0, output
    assert "JSM connection: updated" in output
    assert f"{SWITCH_LINE} {SITE_A} were deleted." in output
    assert "b-token" not in output and SITE_A_TOKEN not in output


def test_the_cli_reports_no_switch_for_the_same_site(config_file: Path, tmp_path: Path) -> None:
    exit_code, output = cli_import(config_file, document(SITE_A), tmp_path)
    assert exit_code == 0, output
    assert "JSM connection: updated" in output and "Another site" not in output
    assert stored(config_file)[1] == ["dave"]


def test_the_cli_reports_no_switch_for_an_invalid_file(config_file: Path, tmp_path: Path) -> None:
    data = document(SITE_B) | {"version": 2}
    exit_code, output = cli_import(config_file, data, tmp_path)
    assert exit_code != 0 and "Nothing was imported" in output and "version: expected 1" in output
    assert "Another site" not in output
    assert stored(config_file) == (SITE_A, ["dave"], {"1": DeskSetting("1", sso_enabled=False)})
