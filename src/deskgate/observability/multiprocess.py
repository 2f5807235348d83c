"""The shared directory of prometheus_client's multiprocess mode, for `deskgate serve --workers N`.

Each worker keeps its counts in files named after its pid in that directory; a scrape sums every file.
So the directory is emptied before the workers start (counts of an earlier run would be added in), and a
worker that ends is marked dead (`mark_process_dead`: its live gauges stop being reported, while its
counters stay in the sums, as counters must never go down). A worker killed without a word is marked by
the next worker that starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from prometheus_client import multiprocess

from deskgate.observability.metrics import MULTIPROC_ENV, multiprocess_dir

_PID = re.compile(r"_(\d+)\.db$")


def prepare(directory: str | None = None) -> Path:
    """The directory for this run's workers, created or emptied of an earlier run's files, and named in
    the environment the workers inherit. Without `directory`: ``PROMETHEUS_MULTIPROC_DIR`` if set, else a
    new private temporary directory."""
    path = Path(directory or os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="deskgate-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def worker_started() -> None:
    """Mark the workers whose files are there but whose process is gone (killed, crashed)."""
    directory = multiprocess_dir()
    if directory is None:
        return
    pids = {int(m.group(1)) for f in os.listdir(directory) if (m := _PID.search(f))}
    for pid in pids - {os.getpid()}:
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def worker_stopping() -> None:
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove(path: Path) -> None:
    """The directory and its files, once every worker has stopped."""
    for leftover in path.glob("*.db"):
        leftover.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.rmdir()
