"""bench/saml.py in small: Deskgate under granian with the real OP and SimpleSAMLphp, two timed logins
through each, the ACS and the callback reported from the hops they were measured in. The full run is the
benchmark itself; this keeps it runnable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_saml_benchmark_times_the_acs_beside_the_callback(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    command = [sys.executable, str(ROOT / "bench" / "saml.py"), "--logins", "2", "--login-warmup", "0"]
    command += ["--workers", "1", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())["results"]
    for kind, idp_hops in (
        ("oidc", "OP GET /oxauth/restv1/authorize"),
        ("saml", "OP GET /saml2/idp/SSOService.php"),
    ):
        stats = results[kind]
        assert stats["logins"] == 2
        deskgate = [hop for hop in stats["hops"] if hop["side"] == "rp"]
        assert [hop["name"] for hop in deskgate] == ["start", "callback", "protected"]
        assert [hop["status"] for hop in deskgate] == [
            302,
            303,
            200,
        ]  # the session the ACS/callback set works
        assert any(hop["name"] == idp_hops for hop in stats["hops"])  # the login went through that IdP
        assert all(hop["count"] == 2 and 0 < hop["p50"] <= hop["p95"] for hop in stats["hops"])
    acs = next(hop for hop in results["saml"]["hops"] if hop["name"] == "callback")
    callback = next(hop for hop in results["oidc"]["hops"] if hop["name"] == "callback")
    assert f"SAML ACS        p50 {acs['p50']:7.1f}   p95 {acs['p95']:7.1f}" in done.stdout
    assert f"OIDC callback   p50 {callback['p50']:7.1f}   p95 {callback['p95']:7.1f}" in done.stdout
