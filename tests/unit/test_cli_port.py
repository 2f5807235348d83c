"""A busy port is one sentence naming --port, before anything starts; a free one is not refused."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from deskgate.cli import app
from deskgate.cli._shared import port_free_or_exit
from tests.support.live import free_port
from tests.support.serve import write_config

runner = CliRunner()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_serve_on_a_busy_port_says_so_in_one_sentence(busy_port: int, tmp_path: Path) -> None:
    database = tmp_path / "deskgate.db"
    config = write_config(
        tmp_path / "deskgate.yaml",
        base_url="https://help.example.com",
        secret_key="k" * 40,
        database_url=f"sqlite:///{database}",
    )
    result = runner.invoke(app, ["serve", "--config", str(config), "--port", str(busy_port)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Port {busy_port} on 127.0.0.1 is already in use (another Deskgate or another program);"
        " choose a free one with --port."
    ]
    assert "Traceback" not in result.output
    assert not database.exists(), "the check comes before migrating"


def test_demo_on_a_busy_port_says_so_before_starting_the_demo_idp(busy_port: int) -> None:
    result = runner.invoke(app, ["demo", "--port", str(busy_port)])
    assert result.exit_code == 1
    assert "choose a free one with --port" in result.stderr
    assert "Starting the demo OpenID provider" not in result.stdout


def test_a_free_port_passes() -> None:
    port_free_or_exit("127.0.0.1", free_port())  # no exit


def test_an_address_that_is_not_ours_is_one_sentence_too() -> None:
    with pytest.raises(typer.Exit) as exc_info:
        port_free_or_exit("192.0.2.1", free_port())  # TEST-NET-1: never assigned to this machine
    assert exc_info.value.exit_code == 1


@pytest.mark.parametrize("command", [["serve"], ["demo"]])
def test_a_missing_design_system_stylesheet_is_one_sentence_naming_dev_setup(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deskgate.web.assets

    monkeypatch.setattr(deskgate.web.assets, "STATIC", tmp_path / "static")  # no generated files there
    config = write_config(
        tmp_path / "deskgate.yaml",
        base_url="https://help.example.com",
        secret_key="k" * 40,
        database_url=f"sqlite:///{tmp_path / 'deskgate.db'}",
    )
    args = [*command, "--port", str(free_port())]
    result = runner.invoke(app, [*args, "--config", str(config)] if command == ["serve"] else args)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "atlassian-tokens.css is missing: run ./dev/setup" in line
    assert not (tmp_path / "deskgate.db").exists(), "checked before migrating"
