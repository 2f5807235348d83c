"""`deskgate serve --workers 2`: the counts of both workers are summed by whichever one answers /metrics
(prometheus_client's multiprocess mode, set up by serve), and log_format json makes every line JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from deskgate.services import CALLBACK_PATH
from tests.support.live import free_port
from tests.support.metrics import BEARER, TOKEN, sample
from tests.support.serve import write_config

SECRET = "workers-test-secret-key-0123456789-abcdef"
SIGN_INS = "deskgate_sign_ins_total"


def forged_callbacks(url: str, count: int) -> None:
    def one(_: int) -> int:
        return httpx.get(url + CALLBACK_PATH + "?state=forged&code=x", timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(count))) == {400}


def pids_counting(directory: Path) -> set[str]:
    return {m.group(1) for f in directory.iterdir() if (m := re.fullmatch(r"counter_(\d+)\.db", f.name))}


def test_two_workers_counts_are_summed_and_logs_are_json(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over from an earlier run")  # emptied at start
    config = write_config(
        tmp_path / "deskgate.yaml",
        secret_key=SECRET,
        database_url=f"sqlite:///{tmp_path / 'deskgate.db'}",
        metrics_token=TOKEN,
        log_format="json",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKGATE_")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "deskgate.cli", "serve", "--config", str(config), "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--workers", "2", "--drain-seconds", "0"],
            cwd=tmp_path,
            stdout=out,
            stderr=out,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert not (metrics_dir / "counter_1.db").exists()
        sent = 0
        for _ in range(10):  # until both workers have counted some (the kernel picks who accepts)
            forged_callbacks(url, 20)
            sent += 20
            if len(pids_counting(metrics_dir)) == 2:
                break
        assert len(pids_counting(metrics_dir)) == 2, "one worker served every request"
        seen = set()
        for _ in range(8):  # each scrape, whichever worker answers it, sums both
            answer = httpx.get(url + "/metrics", headers=BEARER, timeout=10)
            assert answer.status_code == 200
            seen.add(sample(answer.text, SIGN_INS, idp="none", outcome="failure"))
        assert seen == {sent}
    finally:
        process.terminate()
        process.wait(timeout=30)
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    access = [
        r for r in records if r["logger"] == "uvicorn.access" and r.get("path", "").startswith(CALLBACK_PATH)
    ]
    assert access and all(r["path"] == CALLBACK_PATH + "?…" for r in access)  # no code, no state
    assert all(r["request_id"] for r in access)
    audit = [r for r in records if r["logger"] == "deskgate.audit"]
    assert audit and all(r["request_id"] for r in audit)
    assert "state=forged" not in log.read_text()
