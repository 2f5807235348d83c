"""Reading a configuration document (an export) from bytes nobody vouches for: a `ConfigError` listing what is
wrong, never a crash.

The console's backup page takes uploads, so the YAML parser is treated as facing an attacker:

* nesting deeper than `MAX_DEPTH` is refused while the document is composed: PyYAML composes recursively,
  and 5,000 ``[`` would otherwise end in RecursionError (a 500 page);
* aliases may repeat a node (``yaml.safe_dump`` writes them for shared objects), but the document as they
  expand it may hold at most `MAX_NODES` nodes, nested at most `MAX_DEPTH` deep, and no node may contain
  itself: "billion laughs" makes 10^9 strings of a kilobyte of anchors, and a ``<<`` merge copies them for
  real. The check visits each distinct node once, so it costs no more than the text;
* whatever else PyYAML raises (its own errors, and the ValueError of an impossible date or a 5,000-digit
  integer) becomes a problem naming the source, line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from deskgate.errors import ConfigError

MAX_BYTES = 1024 * 1024  # a configuration is a few kilobytes; anything near this is not one
MAX_DEPTH = 32  # an export nests about 8 deep (idps > entry > filters > claim_rules > rule > value)
MAX_NODES = 100_000  # about 2,000 IdPs' worth
MAX_PROBLEMS = 50  # more than this on one page helps nobody; the count of the others is given
MAX_PROBLEM_CHARS = 300  # a problem may quote a key from the file, which may be a megabyte long


class _DocumentTooLarge(yaml.composer.ComposerError):
    """The document nests too deep or expands too far (raised while composing, before anything is built)."""

    def __init__(self, problem: str, node_or_mark: Node | yaml.Mark | None) -> None:
        mark = node_or_mark.start_mark if isinstance(node_or_mark, Node) else node_or_mark
        super().__init__(problem=problem, problem_mark=mark)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses what would exhaust the stack or the memory (see the module docstring)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _DocumentTooLarge(f"nested deeper than {MAX_DEPTH} levels", parent)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Node | None:
        node = super().compose_document()
        if node is not None:
            _Expansion().measure(node, 1)
        return node


class _Expansion:
    """The size and height of the document as its aliases expand it, each distinct node measured once."""

    def __init__(self) -> None:
        self._measured: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, height)
        self._open: set[int] = set()  # on the current path: met again, the node contains itself

    def measure(self, node: Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in self._open:
            raise _DocumentTooLarge("an alias refers to a node that contains it", node)
        size, height = self._measured.get(key) or self._measure_new(node, depth)
        if depth + height - 1 > MAX_DEPTH:
            raise _DocumentTooLarge(f"its aliases nest it deeper than {MAX_DEPTH} levels", node)
        return size, height

    def _measure_new(self, node: Node, depth: int) -> tuple[int, int]:
        self._open.add(id(node))
        size, height = 1, 1
        for child in _children(node):
            child_size, child_height = self.measure(child, depth + 1)
            size, height = size + child_size, max(height, child_height + 1)
            if size > MAX_NODES:
                raise _DocumentTooLarge(f"its aliases expand it to more than {MAX_NODES:,} values", node)
        self._open.discard(id(node))
        self._measured[id(node)] = (size, height)
        return size, height


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def read_export_file(path: Path) -> dict[str, Any]:
    """The document in a YAML (or JSON) file, or ConfigError saying why it cannot be read."""
    try:
        with path.open("rb") as stream:
            content = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror or type(exc).__name__})"]) from None
    return parse_export_bytes(content, source=str(path))


def parse_export_bytes(content: bytes, *, source: str) -> dict[str, Any]:
    """The document in an uploaded or read file, or ConfigError saying why it is not one."""
    if len(content) > MAX_BYTES:
        raise ConfigError([f"{source}: larger than {MAX_BYTES // 1024} KB, not an export"])
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{source}: not a text file (UTF-8 expected)"]) from None
    return parse_export_text(text, source=source)


def parse_export_text(text: str, *, source: str) -> dict[str, Any]:
    """The document in YAML (or JSON) text, or ConfigError saying why it cannot be read."""
    try:
        data = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506  # a SafeLoader, with bounds
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        verdict = "refused" if isinstance(exc, _DocumentTooLarge | RecursionError) else "not valid YAML"
        raise ConfigError([f"{source}: {verdict}: {_yaml_problem(exc)}"]) from None
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {type(data).__name__}"
        raise ConfigError([f"{source}: expected a mapping with 'version' and 'idps', found {found}"])
    return data


def _yaml_problem(exc: BaseException) -> str:
    """One line: what is wrong and where (PyYAML's own text spans several, with a copy of the input)."""
    if isinstance(exc, RecursionError):  # unreachable with the depth bound; kept as the last line of defence
        return f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(part for part in (exc.context, exc.problem) if part) or type(exc).__name__
        return f"{what} (line {mark.line + 1}, column {mark.column + 1})" if mark else what
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def capped(problems: list[str]) -> list[str]:
    """At most `MAX_PROBLEMS` problems of at most `MAX_PROBLEM_CHARS` each, and how many more there were."""
    shown = [p if len(p) <= MAX_PROBLEM_CHARS else p[: MAX_PROBLEM_CHARS - 1] + "…" for p in problems]
    if len(shown) <= MAX_PROBLEMS:
        return shown
    return [*shown[:MAX_PROBLEMS], f"… and {len(shown) - MAX_PROBLEMS} more problems"]
