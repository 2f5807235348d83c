"""`deskgate config import --dry-run` shows what would change and writes nothing; `--replace` asks before
it deletes (or takes --yes)."""

from __future__ import annotations

from pathlib import Path

import yaml

from deskgate.cli import app
from deskgate.config_io import export_config
from tests.unit.test_cli import (
    CLIENT_SECRET,
    _no_deskgate_environment,
    config_file,
    idp,
    runner,
    save_idp,
    with_services,
)

__all__ = ["_no_deskgate_environment", "config_file"]  # test_cli's fixtures


def _export(config: Path, target: Path) -> Path:
    document = with_services(config, lambda s: export_config(s, include_secrets=True))
    target.write_text(yaml.safe_dump(document))
    return target


def _names(config: Path) -> list[str]:
    return sorted(c.name for c in with_services(config, lambda s: s.providers.all()))


def test_dry_run_shows_changed_and_unchanged_items_and_writes_nothing(
    config_file: Path, tmp_path: Path
) -> None:
    save_idp(config_file, idp())
    save_idp(config_file, idp(name="okta", title="Okta"))
    exported = _export(config_file, tmp_path / "export.yaml")
    save_idp(config_file, idp(title="Renamed"))
    result = runner.invoke(
        app, ["config", "import", str(exported), "--config", str(config_file), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "Identity provider gluu: changed\n    title: Renamed -> Gluu\n" in result.stdout
    assert "Identity provider okta: unchanged\n" in result.stdout
    assert "Dry run: nothing was imported." in result.stdout
    assert CLIENT_SECRET not in result.output
    assert with_services(config_file, lambda s: s.providers.get("gluu")).title == "Renamed"


def test_replace_asks_before_deleting(config_file: Path, tmp_path: Path) -> None:
    save_idp(config_file, idp())
    exported = _export(config_file, tmp_path / "export.yaml")
    save_idp(config_file, idp(name="extra", title="Extra"))
    command = ["config", "import", str(exported), "--config", str(config_file), "--replace"]

    declined = runner.invoke(app, command, input="n\n")
    assert declined.exit_code == 1 and "Identity provider extra: deleted" in declined.stdout
    assert "Replace the stored configuration, deleting extra?" in declined.stdout
    assert _names(config_file) == ["extra", "gluu"]

    accepted = runner.invoke(app, command, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "deleted: extra" in accepted.stdout and "unchanged: gluu" in accepted.stdout
    assert _names(config_file) == ["gluu"]

    save_idp(config_file, idp(name="extra", title="Extra"))
    unasked = runner.invoke(app, [*command, "--yes"])
    assert unasked.exit_code == 0 and "deleting" not in unasked.stdout
    assert _names(config_file) == ["gluu"]
