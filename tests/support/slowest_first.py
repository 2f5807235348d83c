"""The suite's files in the order that finishes soonest on a few workers: the slowest first.

`dev/test` runs whole files per worker (`--dist loadfile`) in collection order (`--no-loadscope-reorder`;
pytest-xdist would otherwise order them by their number of tests). A file that takes minutes with two
tests in it (a topology, a browser journey) used to start last and leave the other workers idle at the
end; handed out longest first, the files fill the workers evenly (LPT scheduling).

How long each file takes is measured, not guessed: `tests/durations.json` holds the seconds of every file
in a CI run (`python -m tests.support.slowest_first JUNIT.xml` writes it from pytest's `--junitxml`). A
file it does not know yet is estimated from its number of tests, at the suite's median seconds per test.
"""

from __future__ import annotations

import json
import statistics
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

DURATIONS = Path(__file__).resolve().parents[1] / "durations.json"


class Item(Protocol):
    @property
    def nodeid(self) -> str: ...


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def estimates(items: Sequence[Item], seconds: Mapping[str, float], per_test: float) -> dict[str, float]:
    """Each file's expected seconds: measured, or its number of tests times `per_test`."""
    counts = Counter(file_of(item.nodeid) for item in items)
    return {name: seconds.get(name, count * per_test) for name, count in counts.items()}


def order(items: list[Item], seconds: Mapping[str, float], per_test: float) -> None:
    """Sort `items` in place: files by expected seconds, longest first; a file's tests keep their order."""
    expected = estimates(items, seconds, per_test)
    position = {name: n for n, name in enumerate(dict.fromkeys(file_of(i.nodeid) for i in items))}
    items.sort(key=lambda item: (-expected[file_of(item.nodeid)], position[file_of(item.nodeid)]))


def load(path: Path = DURATIONS) -> tuple[dict[str, float], float]:
    """The measured seconds per file and the median seconds per test ({} and 0.1 without a record)."""
    if not path.exists():
        return {}, 0.1
    record = json.loads(path.read_text())
    return {str(k): float(v) for k, v in record["files"].items()}, float(record["seconds_per_test"])


def from_junit(junit: Path) -> dict[str, object]:
    """Seconds per file (setup, call and teardown of its tests) and the median per test, from JUnit XML."""
    files: defaultdict[str, float] = defaultdict(float)
    tests: list[float] = []
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 (our own pytest run's report)
        module = case.get("classname", "")
        parts = module.split(".")
        # pytest writes the class path ("tests.web.test_x.TestY"): the file is the longest existing prefix
        path = next(
            (
                "/".join(parts[:n]) + ".py"
                for n in range(len(parts), 0, -1)
                if (DURATIONS.parent.parent / ("/".join(parts[:n]) + ".py")).exists()
            ),
            None,
        )
        if path is None:
            continue
        seconds = float(case.get("time", "0"))
        files[path] += seconds
        tests.append(seconds)
    return {
        "seconds_per_test": round(statistics.median(tests), 3) if tests else 0.1,
        "files": {name: round(files[name], 1) for name in sorted(files)},
    }


if __name__ == "__main__":
    record = from_junit(Path(sys.argv[1]))
    DURATIONS.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{DURATIONS}: {len(record['files'])} files")  # type: ignore[arg-type]
