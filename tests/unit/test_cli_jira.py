"""`deskgate jira`: connect (token from the environment), check against the emulator served on loopback,
links, refresh and per-desk SSO; missing credentials and an unreachable site are reported plainly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
import yaml
from typer.testing import CliRunner

from deskgate.cli import app
from deskgate.cli._shared import with_services
from deskgate.errors import NotFound
from deskgate.jsm.emulator import create_emulator
from deskgate.portal.desks import DeskSetting
from deskgate.services import Services
from deskgate.settings import Settings, load_settings
from deskgate.web.context import WebContext
from deskgate.web.portal.common import open_desk
from tests.support.live import LiveServer, free_port

runner = CliRunner()
SECRET_KEY = "cli-jira-secret-key-0123456789-abcdefghijk"


@pytest.fixture(autouse=True)
def _no_deskgate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*Settings.model_fields, "config"]:
        monkeypatch.delenv(f"DESKGATE_{name.upper()}", raising=False)


@pytest.fixture(scope="module")
def emulator() -> Iterator[LiveServer]:
    with LiveServer(create_emulator("cloud"), free_port()) as server:
        yield server


@pytest.fixture
def config_file(db_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "deskgate.yaml"
    values = {"base_url": "https://help.example.com", "secret_key": SECRET_KEY, "database_url": db_url}
    path.write_text(yaml.safe_dump(values))
    return path


def connect(config: Path, site: str, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JSM_TOKEN", token)
    args = ["jira", "connect", "--site", site, "--email", "deskgate-bot@example.com"]
    result = runner.invoke(app, [*args, "--token-env", "JSM_TOKEN", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert token not in result.output


def test_check_without_a_connection(config_file: Path) -> None:
    result = runner.invoke(app, ["jira", "check", "--config", str(config_file)])
    assert result.exit_code == 1 and "JSM is not connected" in result.output


def test_connect_then_check_links_refresh(
    config_file: Path, emulator: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(config_file, emulator.url, "emulator-api-token", monkeypatch)
    result = runner.invoke(app, ["jira", "check", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    assert "signed in as Deskgate service account" in result.output
    assert "ITH (1)" in result.output and "may raise requests for customers" in result.output
    links = runner.invoke(app, ["jira", "links", "--config", str(config_file)])
    assert links.exit_code == 0, links.output
    assert "https://help.example.com/portal/1" in links.output and "ITH" in links.output
    refresh = runner.invoke(app, ["jira", "refresh", "--config", str(config_file)])
    assert refresh.exit_code == 0 and "within 5 seconds" in refresh.output


def test_wrong_credentials_are_named(
    config_file: Path, emulator: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(config_file, emulator.url, "not-the-token", monkeypatch)
    result = runner.invoke(app, ["jira", "check", "--config", str(config_file)])
    assert result.exit_code == 1
    assert "credentials" in result.output and "JSM refused deskgate-bot@example.com" in result.output
    assert "API token" in result.output


def test_an_unreachable_site(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(config_file, f"http://127.0.0.1:{free_port()}", "x", monkeypatch)
    result = runner.invoke(app, ["jira", "check", "--config", str(config_file)])
    assert result.exit_code == 1 and "cannot reach http://127.0.0.1:" in result.output


def test_connect_refuses_an_invalid_connection(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JSM_TOKEN", "t")
    result = runner.invoke(
        app,
        [
            "jira",
            "connect",
            "--site",
            "http://jira.example.com",
            "--token-env",
            "JSM_TOKEN",
            "--config",
            str(config_file),
        ],
    )
    assert result.exit_code == 2 and "must use https" in result.output
    missing = runner.invoke(
        app,
        [
            "jira",
            "connect",
            "--site",
            "https://x.atlassian.net",
            "--token-env",
            "NOPE_UNSET",
            "--config",
            str(config_file),
        ],
    )
    assert missing.exit_code == 2 and "NOPE_UNSET" in missing.output


def test_desk_sso_off_hides_the_desk(
    config_file: Path, emulator: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(config_file, emulator.url, "emulator-api-token", monkeypatch)
    config = ["--config", str(config_file)]
    off = runner.invoke(app, ["jira", "desk", "1", "--sso", "off", "--request-types", "2, 1", *config])
    assert off.exit_code == 0, off.output
    assert "Desk 1: SSO off, request types: 2, 1" in off.output
    links = runner.invoke(app, ["jira", "links", *config])
    row = next(line for line in links.output.splitlines() if line.startswith("1 "))
    assert " off " in row and "https://help.example.com/portal/1" in row

    async def portal_answer(services: Services) -> tuple[DeskSetting, str]:
        setting = await services.desks.get("1")
        ctx = cast(WebContext, SimpleNamespace(services=services))
        try:
            await open_desk(ctx, "1")
        except NotFound as exc:
            return setting, exc.user_message
        return setting, "found"

    setting, answer = with_services(load_settings(config_file), portal_answer)
    assert setting == DeskSetting("1", sso_enabled=False, visible_request_types=("2", "1"))
    assert answer == "No such help center."  # the portal's 404 for the desk

    on = runner.invoke(app, ["jira", "desk", "1", "--sso", "on", "--request-types", "all", *config])
    assert on.exit_code == 0 and "Desk 1: SSO on, request types: all" in on.output
    shown = runner.invoke(app, ["jira", "desk", "1", *config])
    assert shown.exit_code == 0 and "SSO on" in shown.output


def test_desk_refuses_bad_input(config_file: Path) -> None:
    bad = runner.invoke(app, ["jira", "desk", "1", "--request-types", "1,x", "--config", str(config_file)])
    assert bad.exit_code == 2 and "--request-types takes" in bad.output
    sso = runner.invoke(app, ["jira", "desk", "1", "--sso", "maybe", "--config", str(config_file)])
    assert sso.exit_code == 2
    desk = runner.invoke(app, ["jira", "desk", "ITH", "--sso", "on", "--config", str(config_file)])
    assert desk.exit_code == 2 and "is a number" in desk.output


def test_connect_keeps_a_data_center_confluence(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JSM_TOKEN", "dc-pat")
    args = ["jira", "connect", "--site", "https://jira.example.com", "--deployment", "datacenter"]
    args += ["--token-env", "JSM_TOKEN", "--config", str(config_file)]
    bad = runner.invoke(app, [*args, "--confluence-url", "ftp://wiki.example.com"])
    assert bad.exit_code == 2 and "confluence_url" in bad.output
    saved = runner.invoke(app, [*args, "--confluence-url", "https://wiki.example.com"])
    assert saved.exit_code == 0, saved.output
    shown = runner.invoke(app, ["config", "export", "--config", str(config_file)])
    assert "https://wiki.example.com" in shown.output
