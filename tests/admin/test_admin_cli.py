"""`deskgate admin create | list`: the password never on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from deskgate.cli import app

runner = CliRunner()
SECRET = "cli-secret-key-0123456789-abcdefghijklmnop"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DESKGATE_SECRET_KEY": SECRET, "DESKGATE_DATABASE_URL": f"sqlite:///{tmp_path}/deskgate.db"}


def test_create_from_an_environment_variable_and_list(env: dict[str, str]) -> None:
    created = runner.invoke(
        app, ["admin", "create", "bob", "--password-env", "PW"], env={**env, "PW": "long-enough-password"}
    )
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["admin", "list"], env=env)
    assert listed.output.startswith("bob\t")
    taken = runner.invoke(
        app, ["admin", "create", "bob", "--password-env", "PW"], env={**env, "PW": "long-enough-password"}
    )
    assert taken.exit_code == 1
    assert "exists already" in taken.output


def test_create_asks_twice_and_refuses_a_short_password(env: dict[str, str]) -> None:
    asked = runner.invoke(
        app, ["admin", "create", "carol"], env=env, input="long-enough-pw\nlong-enough-pw\n"
    )
    assert asked.exit_code == 0, asked.output
    assert "long-enough-pw" not in asked.output  # hidden input
    short = runner.invoke(
        app, ["admin", "create", "dave", "--password-env", "PW"], env={**env, "PW": "short"}
    )
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
