"""Installable as a package: the wheel `uv build` makes, installed into a fresh virtual environment away
from the source tree, gives a `deskgate` command that starts and serves the portal's fingerprinted
stylesheets, the generated design tokens among them (a file the sources do not track, shipped as a build
artifact). Dependencies come from the package index through uv's cache, as an operator's install would."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import httpx

from tests.packaging.conftest import clean_env, free_port, settings_file, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
TOKENS = "deskgate/web/static/vendor/atlassian-tokens.css"


def test_the_wheel_carries_the_generated_stylesheet_templates_and_migrations(installed: Path) -> None:
    (wheel,) = (installed.parents[1] / "dist").glob("deskgate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert TOKENS in names
    assert "deskgate/web/templates/base.html" in names
    assert "deskgate/web/static/deskgate.css" in names
    assert any(re.fullmatch(r"deskgate/store/migrations/versions/0001_.*\.py", n) for n in names)
    assert not [n for n in names if n.startswith(("tests/", "bench/", "dev/"))]


def test_the_installed_command_runs_from_the_installed_package(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import deskgate; print(deskgate.__file__)"],
        cwd=tmp_path, env=clean_env(), check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout
    helped = subprocess.run(
        [str(installed / "deskgate"), "--help"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert helped.returncode == 0, helped.stderr
    for command in ("serve", "db", "admin", "jira"):
        assert re.search(rf"\b{command}\b", helped.stdout), helped.stdout


def test_the_installed_server_answers_and_serves_its_fingerprinted_stylesheets(
    installed: Path, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = settings_file(tmp_path, base)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(installed / "deskgate"), "serve", "--config", str(config), "--port", str(port)],
        cwd=tmp_path, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_healthy(base, server, tmp_path / "serve.log")
        page = httpx.get(base + "/admin/login", timeout=10)
        assert page.status_code == 200, page.text[:300]
        sheets = re.findall(r'<link rel="stylesheet" href="(/static/[^"]+)"', page.text)
        tokens = [s for s in sheets if re.fullmatch(r"/static/vendor/atlassian-tokens\.[0-9a-f]{12}\.css", s)]
        assert tokens and any(re.fullmatch(r"/static/deskgate\.[0-9a-f]{12}\.css", s) for s in sheets), sheets
        for sheet in sheets:
            served = httpx.get(base + sheet, timeout=10)
            assert served.status_code == 200 and served.headers["content-type"].startswith("text/css"), sheet
            assert "immutable" in served.headers["cache-control"]
        assert "--ds-" in httpx.get(base + tokens[0], timeout=10).text
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        finally:
            server.kill()
            log.close()
