"""dev/lib.sh, the functions the set-up scripts share: waiting for another package manager, installing uv
where the system Python refuses `pip install` (PEP 668)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "dev" / "lib.sh"
LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n"


def bash(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f". {LIB}; {script}"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HOME": str(tmp_path), "DESKGATE_APT_POLL": "0.05", **env},
        check=False,
    )


def fake_apt(tmp_path: Path, locked_times: int) -> Path:
    """An apt-get that is locked by "another process" for its first `locked_times` runs (exit 100)."""
    counter = tmp_path / "runs"
    counter.write_text("0")
    tool = tmp_path / "fake-apt-get"
    tool.write_text(
        "#!/usr/bin/env bash\n"
        f"n=$(( $(cat {counter}) + 1 )); echo $n > {counter}\n"
        f'if [ $n -le {locked_times} ]; then printf "{LOCKED}" >&2; exit 100; fi\n'
        'echo "installed $*"\n'
    )
    tool.chmod(0o755)
    return tool


def test_apt_waits_while_another_package_manager_holds_the_lock(tmp_path: Path) -> None:
    tool = fake_apt(tmp_path, locked_times=3)
    result = bash(f"apt_waiting {tool} install nodejs", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "installed install nodejs"
    assert (tmp_path / "runs").read_text().strip() == "4"
    assert result.stderr.count("waiting for it to finish") == 1


def test_apt_gives_up_with_apts_own_message_after_the_wait(tmp_path: Path) -> None:
    tool = fake_apt(tmp_path, locked_times=10_000)
    result = bash(f"apt_waiting {tool} install nodejs", tmp_path, DESKGATE_APT_WAIT="1")
    assert result.returncode == 100
    assert "Could not get lock" in result.stderr


def test_other_apt_failures_are_not_retried(tmp_path: Path) -> None:
    tool = tmp_path / "broken-apt-get"
    tool.write_text("#!/usr/bin/env bash\necho 'E: Unable to locate package nodejs-x' >&2\nexit 100\n")
    tool.chmod(0o755)
    result = bash(f"apt_waiting {tool} install nodejs-x", tmp_path)
    assert result.returncode == 100
    assert "Unable to locate package" in result.stderr
    assert "waiting" not in result.stderr


def test_uv_is_installed_into_its_own_environment_and_linked_onto_path(tmp_path: Path) -> None:
    # An "externally managed" system Python (PEP 668) refuses `python3 -m pip install`; a venv's pip does not.
    result = bash("install_uv 0.13.8 && command -v uv && uv --version", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == str(tmp_path / ".local" / "bin" / "uv")
    assert lines[-1].startswith("uv 0.13.8")
    assert (tmp_path / ".local" / "share" / "deskgate" / "uv" / "bin" / "python").exists()
