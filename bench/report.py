"""The tables and the ratios the issue asks for (Deskgate / Apache + mod_auth_openidc, in one run)."""

from __future__ import annotations

import argparse
from typing import Any

TARGET_RPS_RATIO = 2.0  # for information when wrk ran
TARGET_CALLBACK_RATIO = 1.0  # Deskgate's callback hop / mod_auth_openidc's, by p50
TARGET_SHARE_RATIO = 1.0  # Deskgate's whole share of a login / mod_auth_openidc's, by p50


def report(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    targets: dict[str, Any] = results["targets"]
    keys = list(targets)
    labels = [targets[k]["label"] for k in keys]
    seq = {k: targets[k]["logins_sequential"] for k in keys}
    rows: list[tuple[str, list[str]]] = []
    names: list[str] = []
    for k in keys:
        names += [h["name"] for h in seq[k]["hops"] if h["name"] not in names]
    for name in names:
        cells = []
        for k in keys:
            hop = next((h for h in seq[k]["hops"] if h["name"] == name), None)
            cells.append(f"{hop['p50']:.1f} / {hop['p95']:.1f}" if hop else "-")
        rows.append((("RP " if name in ("start", "callback", "protected") else "") + name, cells))
    rows += [
        ("RP's whole share", [_p(seq[k]["rp_ms"]) for k in keys]),
        ("OP's share", [_p(seq[k]["op_ms"]) for k in keys]),
        ("whole login", [_p(seq[k]["total_ms"]) for k in keys]),
        ("requests per login", [f"{seq[k]['hops_per_login']:.0f}" for k in keys]),
        ("logins/s, one client", [f"{seq[k]['logins_per_second']:.1f}" for k in keys]),
    ]
    if all(targets[k]["logins_concurrent"] for k in keys):
        rows.append(
            (
                f"logins/s, {args.login_concurrency} clients",
                [f"{targets[k]['logins_concurrent']['logins_per_second']:.1f}" for k in keys],
            )
        )
    wrk = all(targets[k]["requests_per_second_runs"] for k in keys)
    if wrk:
        rows += [
            (
                "protected resource, req/s (median)",
                [f"{targets[k]['requests_per_second_median']:,.0f}" for k in keys],
            ),
            ("  CPU used by other processes, %", [_others(targets[k]["wrk_runs"]) for k in keys]),
        ]
    print(f"\nsequential logins, {seq[keys[0]]['logins']} per RP; ms, p50 / p95")
    _table(["", *labels], rows)
    print()
    for k in keys:
        calls = "; ".join(targets[k]["backchannel_calls_per_login"]) or "(not recorded)"
        print(f"{targets[k]['label']}: its calls to the OP during a login: {calls}")
    backchannel = results.get("backchannel")
    if backchannel:
        print(
            f"OP back-channel per login, measured from Python: token {backchannel['token_ms_mean']:.1f} ms + "
            f"userinfo {backchannel['userinfo_ms_mean']:.1f} ms = {backchannel['total_ms_mean']:.1f} ms "
            "(inside both RPs' callback hop)"
        )

    compared, apache = keys[1], "apache"
    mine, theirs = seq[compared], seq[apache]
    callback = {q: mine_hop / theirs_hop for q, mine_hop, theirs_hop in _both(mine, theirs, "callback")}
    share = {q: mine["rp_ms"][q] / theirs["rp_ms"][q] for q in ("p50", "p95")}
    met = callback["p50"] <= TARGET_CALLBACK_RATIO and share["p50"] <= TARGET_SHARE_RATIO
    ratios: dict[str, Any] = {
        "compared": compared,
        "callback_ratio": callback,
        "share_ratio": share,
        "targets": {"callback_ratio": TARGET_CALLBACK_RATIO, "share_ratio": TARGET_SHARE_RATIO},
        "met": met,
    }
    label = targets[compared]["label"]
    print()
    print(
        f"callback hop, {label} / Apache: {callback['p50']:.2f} by p50, {callback['p95']:.2f} by p95 "
        f"(target ≤ {TARGET_CALLBACK_RATIO}) {_verdict(callback['p50'] <= TARGET_CALLBACK_RATIO)}"
    )
    print(
        f"whole share of a login, {label} / Apache: {share['p50']:.2f} by p50, {share['p95']:.2f} by p95 "
        f"(target ≤ {TARGET_SHARE_RATIO}) {_verdict(share['p50'] <= TARGET_SHARE_RATIO)}"
    )
    if wrk:
        rps = targets[compared]["requests_per_second_median"] / targets[apache]["requests_per_second_median"]
        ratios["requests_per_second_ratio"] = rps
        print(
            f"protected resource req/s, {label} / Apache: {rps:.2f} (for information; aim ≥ {TARGET_RPS_RATIO})"
        )
    if backchannel:
        floor = backchannel["total_ms_mean"] / theirs["hops"][_index(theirs, "callback")]["mean"]
        ratios["backchannel_floor_ratio"] = floor
        print(
            f"  for information: the OP's token + userinfo answers alone are {floor:.2f} of Apache's mean "
            "callback hop, a floor for any RP that waits for them"
        )
    if "floor" in targets:
        bare = {q: b / a for q, b, a in _both(seq["floor"], theirs, "callback")}
        own = {q: m - b for q, m, b in _both(mine, seq["floor"], "callback")}
        ratios["floor_callback_ratio"] = bare
        ratios["callback_beyond_floor_ms"] = own
        print(
            f"  for information: the bare Python RP's callback / Apache's: {bare['p50']:.2f} by p50, "
            f"{bare['p95']:.2f} by p95 (two calls to the OP under granian, no checks: a floor for an RP in Python)"
        )
        print(
            f"  {label}'s callback beyond that floor: {own['p50']:.1f} ms by p50, {own['p95']:.1f} ms by p95"
        )
    load_before = results["load_average_before"][0]
    cpus = results["cpus"] or 1
    print(f"load average (1 min) before the run: {load_before:.1f} on {cpus} CPUs", end="")
    print(" — other work was running: expect noise" if load_before > cpus / 2 else "")
    return ratios


def _index(stats: dict[str, Any], name: str) -> int:
    return next(i for i, h in enumerate(stats["hops"]) if h["name"] == name)


def _both(mine: dict[str, Any], theirs: dict[str, Any], name: str) -> list[tuple[str, float, float]]:
    a, b = mine["hops"][_index(mine, name)], theirs["hops"][_index(theirs, name)]
    return [(q, a[q], b[q]) for q in ("p50", "p95")]


def _p(spread: dict[str, float]) -> str:
    return f"{spread['p50']:.1f} / {spread['p95']:.1f}"


def _others(runs: list[dict[str, Any]]) -> str:
    shares = [run["others_cpu_share"] for run in runs]
    return " ".join("?" if share is None else f"{share * 100:.0f}" for share in shares)


def _verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def _table(headers: list[str], rows: list[tuple[str, list[str]]]) -> None:
    widths = [max(len(headers[0]), *(len(name) for name, _ in rows))]
    widths += [
        max(len(headers[i + 1]), *(len(values[i]) for _, values in rows)) for i in range(len(headers) - 1)
    ]
    print(
        "  ".join(
            [headers[0].ljust(widths[0]), *(h.rjust(w) for h, w in zip(headers[1:], widths[1:], strict=True))]
        )
    )
    for name, values in rows:
        print(
            "  ".join([name.ljust(widths[0]), *(v.rjust(w) for v, w in zip(values, widths[1:], strict=True))])
        )
