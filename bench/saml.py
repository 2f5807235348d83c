"""The SAML ACS beside the OIDC callback, in one run, on loopback: `python bench/saml.py --help`.

Starts Deskgate (granian, 2 workers, as `deskgate serve` runs it) with two IdPs: the real OP that
bench/run.py uses (oidc-provider) and a real SAML IdP (SimpleSAMLphp, served by `php -S`, which signs
its responses and assertions). Then times N complete sequential logins through each, alternating, every
request timed on the client, and prints the SAML ACS step's own time per sign-in (p50, p95) beside the
OIDC callback's, measured in the same run, with every other hop of both logins. See bench/README.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import deskgate  # noqa: F401 - only: is the project importable from this Python?
except ImportError:  # a plain `python bench/saml.py`: run again with the project's virtualenv
    VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
    if VENV_PYTHON.is_file() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606 - the project's own interpreter
    raise

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT))  # the SimpleSAMLphp runner the tests use (tests/saml/simplesamlphp.py)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urljoin  # noqa: E402

import httpx  # noqa: E402
from measure import Login, LoginStats, _HopTimer, login_once, origin_of  # noqa: E402
from servers import BenchError, free_port, start_deskgate  # noqa: E402
from tests.saml.simplesamlphp import ANA, available, simplesamlphp  # noqa: E402

from deskgate.demo.oidc_peer import DEMO_ACCOUNTS, OidcPeer, PeerClient  # noqa: E402
from deskgate.identity.saml.metadata import idp_settings  # noqa: E402
from deskgate.identity.saml.settings import ServiceProvider  # noqa: E402
from deskgate.services import CALLBACK_PATH, build_services  # noqa: E402
from deskgate.settings import load_settings  # noqa: E402

COOKIE = "deskgate_session"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--logins", type=int, default=100, help="timed sequential logins per IdP, alternating (default 100)")
    add("--login-warmup", type=int, default=4, help="untimed logins per IdP first (default 4)")
    add("--workers", type=int, default=2, help="Deskgate worker processes (default 2)")
    add("--database", help="Deskgate's database URL (default: a SQLite file)")
    add("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if min(args.logins, args.workers) < 1 or args.login_warmup < 0:
        parser.error("--logins and --workers must be ≥ 1, --login-warmup ≥ 0")
    return args


def saml_login(start_url: str) -> Login:
    """One complete SAML sign-in in a fresh client: Deskgate's /login → the IdP's SSO URL and login form,
    posted → its auto-posting form, posted to the ACS (as the browser's script would) → the page the
    ACS sends to. Each request timed; the ACS is the first request to Deskgate after the IdP."""
    rp_origin = origin_of(start_url)
    timer = _HopTimer(rp_origin)
    hooks: dict[str, list[Any]] = {"request": [timer.on_request], "response": [timer.on_response]}
    with httpx.Client(event_hooks=hooks, timeout=30.0, follow_redirects=False) as client:
        started = time.perf_counter()
        start = client.get(start_url)
        if start.status_code != httpx.codes.FOUND:
            raise BenchError(f"{start_url} answered {start.status_code} instead of a redirect to the IdP")
        form = client.get(start.headers["location"], follow_redirects=True)
        if 'name="password"' not in form.text:
            raise BenchError(f"no login form at the IdP ({form.status_code} {form.url})")
        fields = _hidden(form.text) | {"username": ANA[0], "password": ANA[1]}
        posted = client.post(str(form.url), data=fields, follow_redirects=True)
        answer = _hidden(posted.text)
        action = re.search(r'<form[^>]*action="([^"]+)"', posted.text)
        if "SAMLResponse" not in answer or action is None or origin_of(html.unescape(action[1])) != rp_origin:
            raise BenchError(f"the IdP did not answer with a form to Deskgate's ACS: {posted.text[-500:]}")
        landed = client.post(html.unescape(action[1]), data=answer)
        if landed.status_code != httpx.codes.SEE_OTHER:
            raise BenchError(f"the ACS answered {landed.status_code}: {landed.text[-500:]}")
        page = client.get(urljoin(str(landed.url), landed.headers["location"]))
        total_ms = (time.perf_counter() - started) * 1000
        if page.status_code != httpx.codes.OK or not client.cookies.get(COOKIE):
            raise BenchError(f"signed in through SAML, but {page.url} answered {page.status_code}")
    return Login(total_ms, timer.hops)


def _hidden(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


async def _prepare_database(env: dict[str, str]) -> None:
    """Migrate once, before the workers start (workers starting together would all migrate)."""
    settings = load_settings(
        base_url=env["DESKGATE_BASE_URL"],
        secret_key=env["DESKGATE_SECRET_KEY"],
        database_url=env["DESKGATE_DATABASE_URL"],
        idps=json.loads(env["DESKGATE_IDPS"]),
    )
    services = await build_services(settings)
    await services.aclose()


def run(args: argparse.Namespace, stack: contextlib.ExitStack) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="deskgate-bench-saml-"))
    stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(24)
    peer = stack.enter_context(
        OidcPeer(clients=[PeerClient("deskgate", secret, [base + CALLBACK_PATH])], accounts=DEMO_ACCOUNTS)
    )
    print(f"OP (oidc-provider) at {peer.issuer}", flush=True)
    (workdir / "ssp").mkdir()
    ssp_base = stack.enter_context(simplesamlphp(workdir / "ssp", ServiceProvider.for_idp(base, "ssp")))
    metadata = httpx.get(ssp_base + "/saml2/idp/metadata.php", timeout=10).content
    saml = idp_settings(metadata, signed="both")
    print(f"SAML IdP (SimpleSAMLphp) at {ssp_base}", flush=True)
    idps = [
        {
            "name": "bench",
            "title": "Bench OP",
            "issuer": peer.issuer,
            "client_id": "deskgate",
            "client_secret": secret,
            "token_endpoint_auth_method": "client_secret_post",
            "scopes": ["openid", "email", "profile"],
        },
        {"name": "ssp", "title": "SimpleSAMLphp", "protocol": "saml", "saml": saml.model_dump(mode="json")},
    ]
    env = {
        "DESKGATE_BASE_URL": base,
        "DESKGATE_SECRET_KEY": secrets.token_urlsafe(48),
        "DESKGATE_DATABASE_URL": args.database or f"sqlite:///{workdir / 'deskgate.db'}",
        "DESKGATE_IDPS": json.dumps(idps),
        "DESKGATE_LOG_LEVEL": "WARNING",
    }
    asyncio.run(_prepare_database(env))
    print(f"Deskgate under granian on :{port} ({args.workers} workers)", flush=True)
    deskgate = start_deskgate("granian", workdir, port, workers=args.workers, env=env)
    stack.callback(deskgate.stop)
    account = DEMO_ACCOUNTS[0]
    oidc_start, saml_start = f"{base}/login?idp=bench&next=/me", f"{base}/login?idp=ssp&next=/me"
    logins: dict[str, list[Login]] = {"oidc": [], "saml": []}

    def once(kind: str) -> Login:
        if kind == "oidc":
            return login_once(peer, oidc_start, account, COOKIE)[0]
        return saml_login(saml_start)

    try:
        for _ in range(args.login_warmup):  # discovery, keys, connection pools, PHP's opcode cache
            once("oidc")
            once("saml")
        for number in range(args.logins):
            order = ("oidc", "saml") if number % 2 == 0 else ("saml", "oidc")  # neither always first
            for kind in order:
                logins[kind].append(once(kind))
            if (number + 1) % 25 == 0:
                print(f"  sequential logins: {number + 1}/{args.logins} per IdP", flush=True)
    except BenchError:
        print(f"--- Deskgate, the end of its log:\n{deskgate.output()}", file=sys.stderr)
        raise
    return {
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "oidc": LoginStats.of(logins["oidc"], 1, sum(x.total_ms for x in logins["oidc"]) / 1000).as_dict(),
        "saml": LoginStats.of(logins["saml"], 1, sum(x.total_ms for x in logins["saml"]) / 1000).as_dict(),
    }


def report(results: dict[str, Any]) -> None:
    oidc, saml = results["oidc"], results["saml"]
    callback = next(h for h in oidc["hops"] if h["name"] == "callback")
    acs = next(h for h in saml["hops"] if h["name"] == "callback")  # the first Deskgate hop after the IdP
    for label, stats in (("OIDC (oidc-provider)", oidc), ("SAML (SimpleSAMLphp)", saml)):
        print(f"\n{label}: {stats['logins']} sequential logins, each request (ms):")
        print(f"  {'hop':<40} {'side':<4} {'status':>6} {'p50':>8} {'p95':>8}")
        for hop in stats["hops"]:
            name = "ACS" if stats is saml and hop["name"] == "callback" else hop["name"]
            name = name.replace("OP ", "IdP ") if stats is saml else name
            print(f"  {name:<40} {hop['side']:<4} {hop['status']:>6} {hop['p50']:>8.1f} {hop['p95']:>8.1f}")
        rp, total = stats["rp_ms"], stats["total_ms"]
        print(
            f"  Deskgate's share: p50 {rp['p50']:.1f}, p95 {rp['p95']:.1f}; whole login p50 {total['p50']:.1f}"
        )
    print("\nDeskgate's own step, per sign-in (ms):")
    print(f"  SAML ACS        p50 {acs['p50']:7.1f}   p95 {acs['p95']:7.1f}")
    print(f"  OIDC callback   p50 {callback['p50']:7.1f}   p95 {callback['p95']:7.1f}")
    print(f"  ratio ACS / callback, p50: {acs['p50'] / callback['p50']:.2f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if missing := available():
        print(f"benchmark failed: {missing}", file=sys.stderr)
        return 1
    started = time.monotonic()
    try:
        with contextlib.ExitStack() as stack:
            results = run(args, stack)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    report(results)
    print(f"(whole run: {time.monotonic() - started:.0f} s; everything stopped and removed)")
    if args.json:
        args.json.write_text(
            json.dumps({"settings": vars(args) | {"json": str(args.json)}, "results": results})
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
