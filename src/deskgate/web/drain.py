"""Draining: a stopping instance leaves the load balancer's rotation before it stops serving.

On SIGTERM the serving process (`deskgate serve`: the only process, or the parent of the workers) marks the
instance as draining, keeps serving for ``drain_seconds`` while `/readyz` answers 503 ("not ready:
draining") so the load balancer's health checks take it out of the rotation, and only then lets the ASGI
server stop, which finishes the requests in flight before it exits. A second SIGTERM stops at once.

The mark is a file named in ``DESKGATE_DRAIN_FILE``, set before any worker starts so that every worker
inherits it: a readiness probe asks for one ``stat``, and no state is shared between processes otherwise.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

DRAIN_ENV = "DESKGATE_DRAIN_FILE"

log = logging.getLogger("deskgate.drain")


def draining() -> bool:
    """Whether this instance is draining (false when it was not started by `deskgate serve`)."""
    path = os.environ.get(DRAIN_ENV)
    return path is not None and os.path.exists(path)


class Drain:
    """The serving process's side: owns the mark file and delays the server's own stop."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._dir = tempfile.TemporaryDirectory(prefix="deskgate-drain-")
        self.path = Path(self._dir.name) / "draining"
        os.environ[DRAIN_ENV] = str(self.path)
        self._started = False
        self._lock = threading.Lock()

    def begin(self, stop: Callable[[], None]) -> None:
        """Called from a SIGTERM handler: mark, then call `stop` after the drain (at once on a second call)."""
        with self._lock:
            again, self._started = self._started, True
        if again or self.seconds <= 0:
            stop()
            return
        self.path.touch()
        log.info("draining: /readyz answers 503 for %g s, then the server stops", self.seconds)
        timer = threading.Timer(self.seconds, stop)
        timer.daemon = True
        timer.start()

    def close(self) -> None:
        os.environ.pop(DRAIN_ENV, None)
        self._dir.cleanup()
