"""`deskgate audit` has the console's filters (until, user) and its CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from deskgate.audit import AuditEvent
from deskgate.cli import app
from deskgate.services import build_services
from deskgate.settings import load_settings
from tests.support.serve import write_config

runner = CliRunner()


def _record(config: Path, *events: AuditEvent) -> None:
    async def run() -> None:
        services = await build_services(load_settings(config))
        try:
            for event in events:
                await services.audit.record(event)
        finally:
            await services.aclose()

    asyncio.run(run())


def test_until_user_and_csv(db_url: str, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "deskgate.yaml", secret_key="cli-audit-secret-key-0123456789-abcdefgh", database_url=db_url
    )
    _record(
        config,
        AuditEvent(
            "login", "success", subject="s-ada", email="ada@corp.test", at=datetime(2026, 1, 30, tzinfo=UTC)
        ),
        AuditEvent(
            "login", "refused", subject="=2+5", email="bob@x.test", at=datetime(2026, 1, 31, 23, tzinfo=UTC)
        ),
        AuditEvent("login", "success", subject="s-ada", at=datetime(2026, 2, 1, tzinfo=UTC)),
    )
    base = ["audit", "--config", str(config)]

    until = runner.invoke(app, [*base, "--until", "2026-01-31", "--json"])
    assert until.exit_code == 0, until.output
    assert [json.loads(line)["subject"] for line in until.stdout.splitlines()] == ["=2+5", "s-ada"]
    user = runner.invoke(app, [*base, "--user", "ADA@corp", "--json"])
    assert [json.loads(line)["email"] for line in user.stdout.splitlines()] == ["ada@corp.test"]

    exported = runner.invoke(app, [*base, "--csv", "--limit", "1", "--outcome", "refused"])
    assert exported.exit_code == 0, exported.output
    header, *rows = list(csv.reader(io.StringIO(exported.stdout)))
    assert header[:3] == ["at", "event", "outcome"]
    assert [row[header.index("subject")] for row in rows] == ["'=2+5"]
    assert (
        len(list(csv.reader(io.StringIO(runner.invoke(app, [*base, "--csv", "--limit", "1"]).stdout)))) == 4
    )

    nonsense = runner.invoke(app, [*base, "--until", "tomorrow"])
    assert nonsense.exit_code == 2 and "--until" in nonsense.output
