"""The table and the two ratios the issue asks for (Deskgate / Apache + mod_auth_openidc)."""

from __future__ import annotations

import argparse
from typing import Any

TARGET_RPS_RATIO = 2.0
TARGET_RP_SHARE_RATIO = 0.5


def report(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    targets: dict[str, Any] = results["targets"]
    keys = list(targets)
    rows: list[tuple[str, list[str]]] = [
        (
            "protected resource, req/s (median)",
            [f"{targets[k]['requests_per_second_median']:,.0f}" for k in keys],
        ),
        (
            "  per round",
            [" ".join(f"{r / 1000:.1f}k" for r in targets[k]["requests_per_second_runs"]) for k in keys],
        ),
        ("  CPU used by other processes, %", [_others(targets[k]["wrk_runs"]) for k in keys]),
        ("  wrk mean latency, ms (median)", [f"{targets[k]['latency_ms_median']:.2f}" for k in keys]),
        ("login, ms (mean / median)", [_pair(targets[k]["logins_sequential"], "total_ms") for k in keys]),
        ("  RP share, ms (mean / median)", [_pair(targets[k]["logins_sequential"], "rp_ms") for k in keys]),
        ("  OP share, ms (mean)", [f"{targets[k]['logins_sequential']['op_ms_mean']:.1f}" for k in keys]),
        ("  requests per login", [f"{targets[k]['logins_sequential']['hops_per_login']:.0f}" for k in keys]),
        (
            "logins/s, one client",
            [f"{targets[k]['logins_sequential']['logins_per_second']:.1f}" for k in keys],
        ),
    ]
    if all(targets[k]["logins_concurrent"] for k in keys):
        rows += [
            (
                f"logins/s, {args.login_concurrency} clients",
                [f"{targets[k]['logins_concurrent']['logins_per_second']:.1f}" for k in keys],
            ),
            (
                "  RP share under concurrency, ms",
                [f"{targets[k]['logins_concurrent']['rp_ms_mean']:.1f}" for k in keys],
            ),
        ]
    _table(["", *(targets[k]["label"] for k in keys)], rows)
    print()
    for k in keys:
        hops = ", ".join(
            f"{h['method']} {h['path']} → {h['status']}: {h['ms_mean']:.1f} ms"
            for h in targets[k]["logins_sequential"]["rp_hops"]
        )
        calls = "; ".join(targets[k]["backchannel_calls_per_login"]) or "(not recorded)"
        print(
            f"{targets[k]['label']}\n  RP hops (mean): {hops}\n  its calls to the OP during a login: {calls}"
        )
    backchannel = results.get("backchannel")
    if backchannel:
        print(
            f"OP back-channel per login, measured from Python: token {backchannel['token_ms_mean']:.1f} ms + "
            f"userinfo {backchannel['userinfo_ms_mean']:.1f} ms = {backchannel['total_ms_mean']:.1f} ms "
            "(inside both RPs' callback hop)"
        )

    compared, apache = targets[keys[1]], targets["apache"]
    rps_ratio = compared["requests_per_second_median"] / apache["requests_per_second_median"]
    paired = [
        d / a
        for d, a in zip(compared["requests_per_second_runs"], apache["requests_per_second_runs"], strict=True)
    ]
    share = compared["logins_sequential"]["rp_ms_mean"] / apache["logins_sequential"]["rp_ms_mean"]
    share_median = compared["logins_sequential"]["rp_ms_median"] / apache["logins_sequential"]["rp_ms_median"]
    ratios: dict[str, Any] = {
        "compared": keys[1],
        "requests_per_second_ratio": rps_ratio,
        "requests_per_second_ratio_per_round": paired,
        "rp_share_ratio": share,
        "rp_share_ratio_by_median": share_median,
        "targets": {"requests_per_second_ratio": TARGET_RPS_RATIO, "rp_share_ratio": TARGET_RP_SHARE_RATIO},
    }
    print()
    print(
        f"req/s ratio, {compared['label']} / Apache: {rps_ratio:.2f} (rounds: "
        f"{', '.join(f'{r:.2f}' for r in paired)}; target ≥ {TARGET_RPS_RATIO}) {_verdict(rps_ratio >= TARGET_RPS_RATIO)}"
    )
    print(
        f"RP share of a login, {compared['label']} / Apache: {share:.2f} by mean, {share_median:.2f} by median "
        f"(target ≤ {TARGET_RP_SHARE_RATIO}) {_verdict(share <= TARGET_RP_SHARE_RATIO)}"
    )
    if backchannel:
        floor = backchannel["total_ms_mean"]
        ratios["backchannel_floor_ratio"] = floor / apache["logins_sequential"]["rp_ms_mean"]
        print(
            f"  for information: the OP's token + userinfo answers ({floor:.1f} ms, measured from Python) sit "
            f"inside every RP's callback hop; alone they are {ratios['backchannel_floor_ratio']:.2f} of Apache's "
            "RP share, a floor for any RP that waits for them"
        )
    load_before = results["load_average_before"][0]
    cpus = results["cpus"] or 1
    print(f"load average (1 min) before the run: {load_before:.1f} on {cpus} CPUs", end="")
    print(" — other work was running: expect noise" if load_before > cpus / 2 else "")
    return ratios


def _others(runs: list[dict[str, Any]]) -> str:
    shares = [run["others_cpu_share"] for run in runs]
    return " ".join("?" if share is None else f"{share * 100:.0f}" for share in shares)


def _pair(stats: dict[str, Any], name: str) -> str:
    return f"{stats[name + '_mean']:.1f} / {stats[name + '_median']:.1f}"


def _verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def _table(headers: list[str], rows: list[tuple[str, list[str]]]) -> None:
    widths = [max(len(headers[0]), *(len(name) for name, _ in rows))]
    widths += [
        max(len(headers[i + 1]), *(len(values[i]) for _, values in rows)) for i in range(len(headers) - 1)
    ]
    print()
    print(
        "  ".join(
            [headers[0].ljust(widths[0]), *(h.rjust(w) for h, w in zip(headers[1:], widths[1:], strict=True))]
        )
    )
    for name, values in rows:
        print(
            "  ".join([name.ljust(widths[0]), *(v.rjust(w) for v, w in zip(values, widths[1:], strict=True))])
        )
