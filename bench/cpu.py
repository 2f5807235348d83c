"""How much of the machine's CPU went to processes that are not the benchmark's own (Linux /proc).

Ours are the process groups the benchmark started (Apache, Deskgate's servers) and its own group (this
script, the OP, wrk — wrk's time is counted once it has been waited for, as the script's children's time).
Whatever else ran meanwhile (other test suites, builds) competed for the same cores: the share is printed
next to each wrk run, so that a noisy measurement can be recognised as such.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    busy_ticks: int  # all CPUs, everything but idle and iowait
    our_ticks: int


def snapshot(groups: Iterable[int]) -> CpuSnapshot | None:
    """None where /proc is not there (not Linux): the share is then simply not reported."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    busy = sum(values) - values[3] - (values[4] if len(values) > 4 else 0)  # minus idle, iowait
    wanted = set(groups) | {os.getpgrp()}
    ours = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # it ended meanwhile
        # The command name (field 2) may contain spaces: split after its closing parenthesis.
        rest = text[text.rindex(")") + 2 :].split()
        pid, pgrp = int(stat.parent.name), int(rest[2])
        if pgrp in wanted:
            ours += int(rest[11]) + int(rest[12])  # utime, stime
            if pid == os.getpid():
                ours += int(rest[13]) + int(rest[14])  # children waited for (wrk)
    return CpuSnapshot(time.monotonic(), busy, ours)


def others_share(before: CpuSnapshot | None, after: CpuSnapshot | None) -> float | None:
    """The fraction of all CPUs' time, between the snapshots, used by processes that are not ours."""
    if before is None or after is None or after.at <= before.at:
        return None
    capacity = (after.at - before.at) * TICKS * (os.cpu_count() or 1)
    others = (after.busy_ticks - before.busy_ticks) - (after.our_ticks - before.our_ticks)
    return max(0.0, min(1.0, others / capacity))
