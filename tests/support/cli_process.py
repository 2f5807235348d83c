"""A `deskgate` command as a real subprocess, its output read line by line for bounded waits."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx

START_TIMEOUT = 90.0  # seconds; importing and starting a server is slow on a busy machine


class Process:
    """A `deskgate` subprocess whose output is collected line by line, for bounded waits."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DESKGATE_") or k == "DESKGATE_OIDC_PEER_DIR"
        }
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "deskgate.cli", *args],
            cwd=cwd,
            env=env | {"PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.popen.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.popen.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.popen.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r}; output so far:\n{self.output}")

    @property
    def output(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)

    def interrupt(self) -> int:
        """Ctrl-C, then wait (bounded); killed if it does not stop."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        try:
            return self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
            raise
        finally:
            self._reader.join(timeout=10)
            assert self.popen.stdout is not None
            self.popen.stdout.close()


def wait_until_answering(url: str, timeout: float = START_TIMEOUT) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, follow_redirects=False, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
