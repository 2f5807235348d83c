"""deploy/deskgate.service against the installed package. systemd itself cannot run it here (no systemd as
PID 1 in this container), so what the unit promises is checked piece by piece: systemd's own verifier
accepts it once ExecStart names a real `deskgate`; its ExecStart line, run as written, serves; the stop it
configures (KillMode=mixed: SIGTERM to the main process only) drains first (`/readyz` 503 while requests are
still answered) and ends within TimeoutStopSec with status 0; and a broken configuration ends with the
exit status RestartPreventExitStatus names, so systemd does not restart it in a loop."""

from __future__ import annotations

import configparser
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.packaging.conftest import ROOT, clean_env, free_port, settings_file, wait_healthy

UNIT = ROOT / "deploy" / "deskgate.service"


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_systemd_verifies_the_unit(installed: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (Debian package systemd)"
    unit = tmp_path / "deskgate.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/deskgate", str(installed / "deskgate")))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_units_command_serves_and_its_stop_drains_then_ends_in_time(
    installed: Path, tmp_path: Path
) -> None:
    service = _service()
    assert (service["KillMode"], service["KillSignal"]) == ("mixed", "SIGTERM")
    command = shlex.split(service["ExecStart"])
    assert command[:2] == ["/usr/local/bin/deskgate", "serve"]
    options = dict(zip(command[2::2], command[3::2], strict=True))
    drain, stop_timeout = float(options["--drain-seconds"]), float(service["TimeoutStopSec"])
    assert drain < stop_timeout
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # As written, but for where things are on this machine: the binary, the settings file, the address.
    options |= {"--config": str(settings_file(tmp_path, base)), "--host": "127.0.0.1", "--port": str(port)}
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(installed / "deskgate"), "serve", *[part for pair in options.items() for part in pair]],
            cwd=tmp_path, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_healthy(base, server, log_path)
            assert httpx.get(base + "/readyz", timeout=5).text == "ready"
            server.send_signal(signal.SIGTERM)  # KillMode=mixed: the main process only
            stopped_at = time.monotonic()
            # Readiness fails first (the workers hear of it from the main process: on busy cores that can
            # take a moment), while requests are still answered until the drain is over.
            draining = httpx.get(base + "/readyz", timeout=5)
            while draining.status_code == 200 and time.monotonic() - stopped_at < drain / 2:
                time.sleep(0.1)
                draining = httpx.get(base + "/readyz", timeout=5)
            assert (draining.status_code, draining.text) == (503, "not ready: draining")
            assert httpx.get(base + "/healthz", timeout=5).status_code == 200  # still answering requests
            status = server.wait(timeout=stop_timeout)
            took = time.monotonic() - stopped_at
        finally:
            server.kill()
            server.wait(timeout=30)
    assert status == 0, log_path.read_text()
    assert drain - 0.5 <= took < stop_timeout, took


def test_a_broken_configuration_ends_with_the_status_systemd_does_not_restart(
    installed: Path, tmp_path: Path
) -> None:
    service = _service()
    assert service["Restart"] == "on-failure"
    config = tmp_path / "deskgate.yaml"
    config.write_text("base_url: http://127.0.0.1:1\nsecret_key: short\n")
    done = subprocess.run(
        [str(installed / "deskgate"), "serve", "--config", str(config), "--port", str(free_port())],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert str(done.returncode) in service["RestartPreventExitStatus"].split(), done.stdout + done.stderr
