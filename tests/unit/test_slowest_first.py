"""The suite's files handed to workers slowest first (dev/test), from measured seconds per file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.support import slowest_first


@dataclass(frozen=True)
class Item:
    nodeid: str


def _ids(items: list[Item]) -> list[str]:
    return [item.nodeid for item in items]


def test_files_go_slowest_first_and_keep_their_tests_in_order() -> None:
    items = [
        Item("tests/a.py::one"),
        Item("tests/a.py::two"),
        Item("tests/slow.py::only"),
        Item("tests/b.py::one"),
        Item("tests/a.py::three"),
    ]
    slowest_first.order(items, {"tests/a.py": 3.0, "tests/slow.py": 140.0, "tests/b.py": 0.5}, 0.1)  # type: ignore[arg-type]
    assert _ids(items) == [
        "tests/slow.py::only",
        "tests/a.py::one",
        "tests/a.py::two",
        "tests/a.py::three",
        "tests/b.py::one",
    ]


def test_a_file_not_measured_yet_is_estimated_from_its_number_of_tests() -> None:
    items = [Item("tests/known.py::x")] + [Item(f"tests/new.py::t{n}") for n in range(30)]
    # 30 tests at 0.2 s is 6 s: before a file measured at 5 s; ties keep the collection order.
    slowest_first.order(items, {"tests/known.py": 5.0}, 0.2)  # type: ignore[arg-type]
    assert items[0].nodeid == "tests/new.py::t0" and items[-1].nodeid == "tests/known.py::x"
    assert slowest_first.estimates(items, {}, 0.2)["tests/new.py"] == 6.0


def test_durations_are_read_from_junit_xml_per_file(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.unit.test_slowest_first" name="a" time="1.5"/>'
        '<testcase classname="tests.unit.test_slowest_first" name="b" time="2.0"/>'
        '<testcase classname="tests.conftest" name="c" time="7.0"/>'
        '<testcase classname="tests.unit.no_such_file" name="d" time="9.0"/>'
        "</testsuite></testsuites>"
    )
    record = slowest_first.from_junit(junit)
    assert record["files"] == {"tests/conftest.py": 7.0, "tests/unit/test_slowest_first.py": 3.5}
    assert record["seconds_per_test"] == 2.0
    path = tmp_path / "durations.json"
    path.write_text(json.dumps(record))
    assert slowest_first.load(path) == (
        {"tests/conftest.py": 7.0, "tests/unit/test_slowest_first.py": 3.5},
        2.0,
    )
    assert slowest_first.load(tmp_path / "absent.json") == ({}, 0.1)


def test_the_recorded_durations_name_files_that_exist() -> None:
    seconds, _ = slowest_first.load()
    root = slowest_first.DURATIONS.parent.parent
    missing = [name for name in seconds if not (root / name).exists()]
    assert not missing, (
        f"tests/durations.json names files that are gone (rewrite it from a CI run): {missing}"
    )
