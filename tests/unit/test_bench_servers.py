"""The benchmark stops a server that never answers (its caller has not taken it over yet), so no worker is
left running after a failed start."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bench.servers import BenchError, Process, free_port


def test_a_server_that_never_answers_is_stopped(tmp_path: Path) -> None:
    silent = Process("silent", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "silent.log")
    with pytest.raises(BenchError, match="did not answer"):
        silent.wait_until_answering(f"http://127.0.0.1:{free_port()}/", timeout=0.5)
    assert silent.popen.poll() is not None
