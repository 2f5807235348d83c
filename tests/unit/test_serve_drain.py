"""`deskgate serve` drains on SIGTERM: /readyz fails first, requests keep being served for the drain, then
the server stops having finished what was in flight. With both servers and several workers, as deployed."""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.cli_process import Process, wait_until_answering
from tests.support.live import free_port
from tests.support.serve import write_config

DRAIN_SECONDS = 3.0
CLIENTS = 4
# uvicorn re-raises the SIGTERM it stopped on once it has shut down (a service manager counts that as clean).
CLEAN_EXIT = {0, -signal.SIGTERM}


def until_not_ready(url: str) -> httpx.Response:
    deadline = time.monotonic() + 5
    while (answer := httpx.get(url, timeout=5)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    return answer


@dataclass(frozen=True)
class Outcome:
    started: float
    status: int | None  # None: the request failed (refused, reset, timed out)


class Load:
    """Clients requesting a page back to back, each request's start time and outcome recorded."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status: int | None = client.get(self.url).status_code
                except httpx.TransportError:
                    status = None
                self.outcomes.append(Outcome(started, status))
                if status is None:
                    time.sleep(0.05)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_sigterm_drains_before_stopping(server: str, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "deskgate.yaml",
        base_url="http://127.0.0.1:8080",
        secret_key="d" * 40,
        database_url=f"sqlite:///{tmp_path / 'deskgate.db'}",
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--config", str(config), "--port", str(port), "--workers", "2", "--server", server]
    process = Process([*args, "--drain-seconds", str(DRAIN_SECONDS)], tmp_path)
    try:
        wait_until_answering(f"{base}/healthz")
        for _ in range(100):  # both workers up
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                break
            time.sleep(0.1)
        with Load(f"{base}/login") as load:
            time.sleep(1.0)
            stop_at = time.monotonic()
            process.popen.send_signal(signal.SIGTERM)
            readiness = until_not_ready(f"{base}/readyz")
            assert time.monotonic() - stop_at < 2.0, "out of the rotation within a health-check interval"
            assert (readiness.status_code, readiness.text) == (503, "not ready: draining")
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200, "alive while draining"
            code = process.popen.wait(timeout=DRAIN_SECONDS + 30)
        assert code in CLEAN_EXIT
    finally:
        process.interrupt()  # only signals one still running; closes its output either way
    served_while_draining = [o for o in load.outcomes if stop_at <= o.started < stop_at + DRAIN_SECONDS - 0.5]
    before = [o for o in load.outcomes if o.started < stop_at]
    assert len(before) > 10 and len(served_while_draining) > 10
    assert {o.status for o in before + served_while_draining} == {200}
    stopped_after = max(o.started for o in load.outcomes if o.status == 200) - stop_at
    assert stopped_after >= DRAIN_SECONDS - 0.5, "served until the drain was over"
    assert "draining: /readyz answers 503" in process.output


def test_a_second_sigterm_stops_at_once(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "deskgate.yaml",
        base_url="http://127.0.0.1:8080",
        secret_key="d" * 40,
        database_url=f"sqlite:///{tmp_path / 'deskgate.db'}",
    )
    port = free_port()
    process = Process(
        ["serve", "--config", str(config), "--port", str(port), "--drain-seconds", "60"], tmp_path
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/healthz")
        process.popen.send_signal(signal.SIGTERM)
        assert until_not_ready(f"http://127.0.0.1:{port}/readyz").status_code == 503
        started = time.monotonic()
        process.popen.send_signal(signal.SIGTERM)
        assert process.popen.wait(timeout=20) in CLEAN_EXIT
        assert time.monotonic() - started < 15
    finally:
        process.interrupt()  # only signals one still running; closes its output either way


def test_drain_marks_then_stops_after_the_delay_in_process() -> None:
    from deskgate.web.drain import Drain, draining

    stopped = threading.Event()
    drain = Drain(0.3)
    try:
        assert not draining()
        drain.begin(stopped.set)
        assert draining() and not stopped.is_set()
        assert stopped.wait(5)
        again = threading.Event()
        drain.begin(again.set)  # a second signal: at once
        assert again.is_set()
    finally:
        drain.close()
    assert not draining(), "no mark outside `deskgate serve`"


def test_no_drain_stops_at_once() -> None:
    from deskgate.web.drain import Drain, draining

    stopped = threading.Event()
    drain = Drain(0)
    try:
        drain.begin(stopped.set)
        assert stopped.is_set() and not draining()
    finally:
        drain.close()
