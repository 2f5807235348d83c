"""The two measurements: wrk against a protected resource, and complete logins timed hop by hop.

A login is driven over plain HTTP the way a browser would: the RP's protected URL, its redirect to the
OP, the OP's login form (`OidcPeer.login_over_http`), the redirect back to the RP's callback, the RP's
redirect to the original URL, and that URL answering 200. Every request is timed on the client; the
hops addressed to the RP add up to the RP's share (including whatever the RP itself asks of the OP
meanwhile: the token request, keys, userinfo), the others to the OP's.
"""

from __future__ import annotations

import re
import secrets
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from servers import BenchError, tool

from deskgate.demo.oidc_peer import OidcPeer, PeerAccount

MAX_RP_HOPS = 10


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- logins --------------------------------------------------------------------------------------------


@dataclass
class Hop:
    side: str  # "rp" or "op"
    method: str
    path: str
    status: int
    ms: float


@dataclass
class Login:
    total_ms: float
    hops: list[Hop]

    @property
    def rp_ms(self) -> float:
        return sum(h.ms for h in self.hops if h.side == "rp")

    @property
    def op_ms(self) -> float:
        return sum(h.ms for h in self.hops if h.side == "op")


class _HopTimer:
    """httpx event hooks: time each request from sending to its body read, and note whose it was."""

    def __init__(self, rp_origin: str) -> None:
        self.rp_origin = rp_origin
        self.hops: list[Hop] = []
        self._started: dict[int, float] = {}

    def on_request(self, request: httpx.Request) -> None:
        self._started[id(request)] = time.perf_counter()

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        ms = (time.perf_counter() - self._started.pop(id(request))) * 1000
        side = "rp" if origin_of(str(request.url)) == self.rp_origin else "op"
        self.hops.append(Hop(side, request.method, request.url.path, response.status_code, ms))


def _follow_on(client: httpx.Client, response: httpx.Response, origin: str) -> httpx.Response:
    """Follow redirects while they stay on `origin`; return the first answer that is not one of those."""
    for _ in range(MAX_RP_HOPS):
        if not response.is_redirect:
            return response
        target = urljoin(str(response.url), response.headers["location"])
        if origin_of(target) != origin:
            return response
        response = client.get(target)
    raise BenchError(f"more than {MAX_RP_HOPS} redirects on {origin}")


def login_once(peer: OidcPeer, start_url: str, account: PeerAccount, cookie_name: str) -> tuple[Login, str]:
    """One complete login in a fresh client (no cookies: a full login at the OP too); returns its timing
    and the RP's session cookie value."""
    rp_origin = origin_of(start_url)
    timer = _HopTimer(rp_origin)
    hooks: dict[str, list[Any]] = {"request": [timer.on_request], "response": [timer.on_response]}
    with httpx.Client(event_hooks=hooks, timeout=30.0, follow_redirects=False) as client:
        started = time.perf_counter()
        response = _follow_on(client, client.get(start_url), rp_origin)
        if not response.is_redirect:
            raise BenchError(f"{start_url} answered {response.status_code} instead of a redirect to the OP")
        authorize_url = urljoin(str(response.url), response.headers["location"])
        response = peer.login_over_http(client, authorize_url, account.id, account.password)
        if not response.is_redirect:
            raise BenchError(f"the OP did not send the browser back (status {response.status_code})")
        callback = urljoin(str(response.url), response.headers["location"])
        if origin_of(callback) != rp_origin:
            raise BenchError(f"the OP redirected to {callback}, not to the RP")
        response = _follow_on(client, client.get(callback), rp_origin)
        total_ms = (time.perf_counter() - started) * 1000
        if response.status_code != httpx.codes.OK:
            raise BenchError(
                f"login through {rp_origin} ended with {response.status_code} at {response.url}: "
                f"{response.text[:300]}"
            )
        cookie = next((c.value for c in client.cookies.jar if c.name == cookie_name and c.value), None)
        if cookie is None:
            raise BenchError(f"login through {rp_origin} set no {cookie_name} cookie")
    return Login(total_ms, timer.hops), cookie


def hop_names(login: Login) -> list[str]:
    """A name for each request of a login, the same for both RPs: the RP's requests before the OP are
    "start", the first one after it is "callback" (code redemption, userinfo and the RP's own work), the
    rest "protected"; the OP's are named by method and path, ids left out."""
    names: list[str] = []
    seen_op = False
    after: list[str] = []
    for hop in login.hops:
        if hop.side == "op":
            seen_op = True
            path = "/".join(":id" if len(part) >= 16 else part for part in hop.path.split("/"))
            names.append(f"OP {hop.method} {path}")
        elif not seen_op:
            names.append("start")
        else:
            after.append(hop.path)
            names.append("callback" if len(after) == 1 else "protected")
    # A repeated name (two OP posts to one path, say) gets its rank: every name stands for one request.
    counts: dict[str, int] = {}
    unique = []
    for name in names:
        counts[name] = counts.get(name, 0) + 1
        unique.append(name if counts[name] == 1 else f"{name} #{counts[name]}")
    return unique


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (linear interpolation between the nearest two)."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "mean": statistics.fmean(values),
    }


@dataclass
class LoginStats:
    logins: int
    concurrency: int
    wall_seconds: float
    logins_per_second: float
    total_ms: dict[str, float]
    rp_ms: dict[str, float]  # the RP's whole share of a login: every request addressed to it
    op_ms: dict[str, float]
    hops_per_login: float
    # Each request of a login by name (see `hop_names`), in order: side, status, p50/p95/mean in ms.
    hops: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, logins: list[Login], concurrency: int, wall_seconds: float) -> LoginStats:
        timings: dict[str, list[float]] = {}
        first: dict[str, Hop] = {}
        for login in logins:
            for name, hop in zip(hop_names(login), login.hops, strict=True):
                timings.setdefault(name, []).append(hop.ms)
                first.setdefault(name, hop)
        hops = [
            {"name": name, "side": first[name].side, "status": first[name].status, "count": len(ms)}
            | spread(ms)
            for name, ms in timings.items()
        ]
        return cls(
            logins=len(logins),
            concurrency=concurrency,
            wall_seconds=wall_seconds,
            logins_per_second=len(logins) / wall_seconds,
            total_ms=spread([x.total_ms for x in logins]),
            rp_ms=spread([x.rp_ms for x in logins]),
            op_ms=spread([x.op_ms for x in logins]),
            hops_per_login=statistics.fmean([len(x.hops) for x in logins]),
            hops=hops,
        )

    def hop(self, name: str) -> dict[str, Any]:
        return next(h for h in self.hops if h["name"] == name)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_logins(
    peer: OidcPeer,
    start_url: str,
    account: PeerAccount,
    cookie_name: str,
    *,
    count: int,
    concurrency: int = 1,
) -> tuple[list[Login], float]:
    """`count` complete logins by `concurrency` clients, each logging in one after another; and the wall time."""
    if count < 1 or concurrency < 1:
        raise ValueError("count and concurrency must be at least 1")
    results: list[Login] = []
    lock = threading.Lock()
    shares = [count // concurrency + (1 if i < count % concurrency else 0) for i in range(concurrency)]

    def worker(n: int) -> None:
        for _ in range(n):
            login, _cookie = login_once(peer, start_url, account, cookie_name)
            with lock:
                results.append(login)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(worker, n) for n in shares if n]:
            future.result()
    return results, time.perf_counter() - started


# -- the OP's part of the RP's work --------------------------------------------------------------------


@dataclass
class Backchannel:
    """What the RP's callback waits for at the OP: the token request and the userinfo request."""

    samples: int
    token_ms_mean: float
    userinfo_ms_mean: float

    @property
    def total_ms_mean(self) -> float:
        return self.token_ms_mean + self.userinfo_ms_mean

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"total_ms_mean": self.total_ms_mean}


def measure_backchannel(
    peer: OidcPeer,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    account: PeerAccount,
    count: int,
) -> Backchannel:
    """Do what an RP does with the code (token request, then userinfo), from this Python client.

    The code is taken from the OP's redirect and never delivered to the RP. An estimate of the OP's part
    of the RP's callback hop: a C client (Apache) sends a little faster, the OP answers just the same.
    """
    metadata = peer.discovery
    token_ms: list[float] = []
    userinfo_ms: list[float] = []
    for _ in range(count):
        with httpx.Client(timeout=30.0) as client:
            query = urlencode(
                {
                    "response_type": "code",
                    "client_id": client_id,
                    "redirect_uri": redirect_uri,
                    "scope": "openid email profile",
                    "state": secrets.token_urlsafe(16),
                    "nonce": secrets.token_urlsafe(16),
                }
            )
            leaving = peer.login_over_http(
                client, f"{metadata['authorization_endpoint']}?{query}", account.id, account.password
            )
            code = parse_qs(urlsplit(leaving.headers.get("location", "")).query).get("code", [""])[0]
            if not code:
                raise BenchError(f"the OP gave no code to {client_id} (status {leaving.status_code})")
            started = time.perf_counter()
            tokens = client.post(
                metadata["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": client_id,
                    "client_secret": client_secret,
                },
            )
            redeemed = time.perf_counter()
            if tokens.status_code != httpx.codes.OK:
                raise BenchError(
                    f"token request for {client_id} answered {tokens.status_code}: {tokens.text}"
                )
            userinfo = client.get(
                metadata["userinfo_endpoint"],
                headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
            )
            done = time.perf_counter()
            if userinfo.status_code != httpx.codes.OK:
                raise BenchError(f"userinfo for {client_id} answered {userinfo.status_code}")
            token_ms.append((redeemed - started) * 1000)
            userinfo_ms.append((done - redeemed) * 1000)
    return Backchannel(count, statistics.fmean(token_ms), statistics.fmean(userinfo_ms))


def backchannel_calls(peer: OidcPeer, action: Callable[[], object]) -> list[str]:
    """The OP's log lines for server-to-server requests (token, userinfo, keys, discovery) during `action`."""
    before = peer.output
    action()
    # The OP writes a request's log line once it has answered, and a thread reads it: wait until no new
    # line has come for a moment (at most 3 s), or the last call of the action may be missing.
    after = peer.output
    quiet_since = began = time.monotonic()
    while time.monotonic() - quiet_since < 0.3 and time.monotonic() - began < 3.0:
        time.sleep(0.05)
        if len(now := peer.output) != len(after):
            after, quiet_since = now, time.monotonic()
    if len(before) >= 4000:  # the log keeps its last 5,000 lines: too close to tell what is new
        return []
    markers = ("/token", "/userinfo", "/jwks", "/.well-known/")
    return [line for line in after[len(before) :] if any(m in line for m in markers)]


# -- wrk -----------------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_second: float
    requests: int
    latency_avg_ms: float
    non_2xx_3xx: int
    socket_errors: int
    output: str

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "output"}


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def run_wrk(url: str, cookie: str, *, threads: int, connections: int, duration: int) -> WrkResult:
    command = [
        tool("wrk"), f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
        "-H", f"Cookie: {cookie}", url,
    ]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603 - arguments built here, no shell
            command, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk against {url} did not finish in time") from exc
    out = done.stdout + done.stderr
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s|m)\b", out)
    if done.returncode != 0 or not rps or not total or not latency:
        raise BenchError(f"wrk against {url} failed (exit {done.returncode}):\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        latency_avg_ms=float(latency.group(1)) * _UNITS_MS[latency.group(2)],
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        output=out,
    )
