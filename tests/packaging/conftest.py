"""The wheel, built once and installed into a fresh virtual environment (`installed`: its bin/)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    assert Path(found).is_file(), "uv is not installed (./dev/setup installs it)"
    return found


def clean_env() -> dict[str, str]:
    """No variable of this checkout's environment that could make Python find the sources instead."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("DESKGATE_")}
    return env | {"UV_PYTHON_DOWNLOADS": "never", "PYTHONUNBUFFERED": "1"}


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ directory of a fresh virtual environment holding only the built wheel and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    _run([_uv(), "build", "--wheel", "--out-dir", str(work / "dist"), str(ROOT)], work)
    wheels = list((work / "dist").glob("deskgate-*.whl"))
    assert len(wheels) == 1, wheels
    _run([_uv(), "venv", "--python", sys.executable, str(work / "venv")], work)
    _run([_uv(), "pip", "install", "--python", str(work / "venv" / "bin" / "python"), str(wheels[0])], work)
    return work / "venv" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings_file(directory: Path, base_url: str) -> Path:
    """The smallest deskgate.yaml that serves: SQLite in `directory`."""
    config = directory / "deskgate.yaml"
    settings = {
        "base_url": base_url,
        "secret_key": secrets.token_urlsafe(36),
        "database_url": f"sqlite:///{directory / 'deskgate.db'}",
    }
    config.write_text(yaml.safe_dump(settings))
    return config


def wait_healthy(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
