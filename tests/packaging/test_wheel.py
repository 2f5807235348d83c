"""Installable as a package: the wheel `uv build` makes, installed into a fresh virtual environment away
from the source tree, gives a `deskgate` command that starts and serves the portal's fingerprinted
stylesheets, the generated design tokens among them (a file the sources do not track, shipped as a build
artifact). Dependencies come from the package index through uv's cache, as an operator's install would."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOKENS = "deskgate/web/static/vendor/atlassian-tokens.css"
START_TIMEOUT = 60.0


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    assert Path(found).is_file(), "uv is not installed (./dev/setup installs it)"
    return found


def _clean_env() -> dict[str, str]:
    """No variable of this checkout's environment that could make Python find the sources instead."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("DESKGATE_")}
    return env | {"UV_PYTHON_DOWNLOADS": "never", "PYTHONUNBUFFERED": "1"}


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ directory of a fresh virtual environment holding only the built wheel and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    _run([_uv(), "build", "--wheel", "--out-dir", str(work / "dist"), str(ROOT)], work)
    wheels = list((work / "dist").glob("deskgate-*.whl"))
    assert len(wheels) == 1, wheels
    _run([_uv(), "venv", "--python", sys.executable, str(work / "venv")], work)
    _run([_uv(), "pip", "install", "--python", str(work / "venv" / "bin" / "python"), str(wheels[0])], work)
    return work / "venv" / "bin"


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
        cwd=tmp_path, env=_clean_env(), check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout
    helped = subprocess.run(
        [str(installed / "deskgate"), "--help"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
    )
    assert helped.returncode == 0, helped.stderr
    for command in ("serve", "db", "admin", "jira"):
        assert re.search(rf"\b{command}\b", helped.stdout), helped.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_installed_server_answers_and_serves_its_fingerprinted_stylesheets(
    installed: Path, tmp_path: Path
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "deskgate.yaml"
    settings = {
        "base_url": base,
        "secret_key": secrets.token_urlsafe(36),
        "database_url": f"sqlite:///{tmp_path / 'deskgate.db'}",
    }
    config.write_text(yaml.safe_dump(settings))
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(installed / "deskgate"), "serve", "--config", str(config), "--port", str(port)],
        cwd=tmp_path, env=_clean_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
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
