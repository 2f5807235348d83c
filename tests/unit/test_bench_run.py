"""bench/run.py in small: the real OP, Apache + mod_auth_openidc, Deskgate under granian and the bare
Python RP (bench/floor.py), three timed logins through each, and the exit code of --check agreeing with the ratios it printed. The full run (200
logins per RP) is the benchmark itself; this keeps it runnable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RP_HOPS = ["start", "callback", "protected"]


def test_the_login_benchmark_runs_and_its_check_agrees_with_its_ratios(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "--logins", "3", "--login-warmup", "1"]
    command += ["--duration", "0", "--servers", "granian", "--workers", "1", "--backchannel-samples", "0"]
    command += ["--no-install", "--check", "--floor", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert out.is_file(), done.stdout + done.stderr
    document = json.loads(out.read_text())
    ratios = document["ratios"]
    assert done.returncode == (0 if ratios["met"] else 1), done.stdout + done.stderr
    assert ratios["met"] == (ratios["callback_ratio"]["p50"] <= 1.0 and ratios["share_ratio"]["p50"] <= 1.0)
    targets = document["results"]["targets"]
    assert set(targets) == {"apache", "deskgate-granian", "floor"}
    for target in targets.values():
        logins = target["logins_sequential"]
        assert logins["logins"] == 3
        rp = [hop for hop in logins["hops"] if hop["side"] == "rp"]
        assert [hop["name"] for hop in rp] == RP_HOPS
        assert rp[-1]["status"] == 200  # the protected page, reached with the session the callback set
        assert all(hop["count"] == 3 and 0 < hop["p50"] <= hop["p95"] for hop in logins["hops"])
        assert any(hop["side"] == "op" for hop in logins["hops"])
    # Both RPs asked the OP for the same two things during a login: the token and userinfo.
    for target in targets.values():
        calls = " ".join(target["backchannel_calls_per_login"])
        assert "/token" in calls and "/userinfo" in calls
    assert "callback hop, Deskgate (granian) / Apache" in done.stdout
    assert "whole share of a login" in done.stdout
    # The bare Python RP's callback, and Deskgate's beyond it, from the same logins.
    floor_callback = ratios["floor_callback_ratio"]["p50"]
    assert floor_callback > 0
    hops = {
        k: next(h for h in t["logins_sequential"]["hops"] if h["name"] == "callback")
        for k, t in targets.items()
    }
    beyond = hops["deskgate-granian"]["p50"] - hops["floor"]["p50"]
    assert abs(ratios["callback_beyond_floor_ms"]["p50"] - beyond) < 1e-9
    assert "the bare Python RP's callback / Apache's" in done.stdout
