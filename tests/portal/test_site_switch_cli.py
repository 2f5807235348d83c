"""`deskgate jira connect` says when the connection it saved is for another site, and what went with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from deskgate.cli import app
from deskgate.settings import Settings

runner = CliRunner()


@pytest.fixture
def config_file(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [*Settings.model_fields, "config"]:
        monkeypatch.delenv(f"DESKGATE_{name.upper()}", raising=False)
    monkeypatch.setenv("JSM_TOKEN", "a-token")
    path = tmp_path / "deskgate.yaml"
    secret = "cli-site-switch-secret-key-0123456789-abcdef"
    values = {"base_url": "https://help.example.com", "secret_key": secret, "database_url": db_url}
    path.write_text(yaml.safe_dump(values))
    return path


def connect(config: Path, site: str) -> str:
    args = ["jira", "connect", "--site", site, "--email", "bot@example.com", "--token-env", "JSM_TOKEN"]
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.output


def test_connect_reports_a_switch_of_site(config_file: Path) -> None:
    assert "Another site" not in connect(config_file, "http://127.0.0.1:8081")
    assert "Another site" not in connect(config_file, "http://127.0.0.1:8081/")  # the same site
    output = connect(config_file, "http://localhost:8081")
    assert "Another site: the customer links (0) and desk settings (0) of the previous site " in output
    assert "http://127.0.0.1:8081 were deleted." in output
