"""`deskgate serve` for real: a child process from a YAML config file, on a loopback port, that a test can
SIGKILL and start again. Its output goes to a file (no pipe to fill up), shown when something goes wrong."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.live import free_port

START_TIMEOUT = 30.0  # imports, migrations, a PostgreSQL connection, on a busy machine


def write_config(path: Path, **values: Any) -> Path:
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


class ServeProcess:
    """One `deskgate serve --config FILE --port PORT` process; every wait is bounded."""

    def __init__(self, config: Path, workdir: Path, port: int | None = None) -> None:
        self.config = config
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"serve-{self.port}-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        # Settings from the environment win over the file: none of the caller's DESKGATE_* may leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESKGATE_")}
        command = [sys.executable, "-m", "deskgate.cli", "serve", "--config", str(self.config)]
        # No load balancer to tell: stopping does not wait out a drain (tests/unit/test_serve_drain.py).
        command += ["--drain-seconds", "0"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"deskgate serve exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                httpx.get(self.url + "/portal", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            return
        raise AssertionError(f"deskgate serve not answering within {START_TIMEOUT:.0f} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no `finally`, no lifespan exit."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=START_TIMEOUT) == -signal.SIGKILL

    def stop(self) -> None:
        """End it if it still runs (SIGTERM, then SIGKILL); safe to call more than once."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=START_TIMEOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
