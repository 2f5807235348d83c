"""Refusing regular expressions that could hang a login (catastrophic backtracking).

Admin-written claim rules run with Python's backtracking ``re`` on values the user's IdP sends, so a
pattern like ``(a+)+b`` fed a long run of ``a`` would keep a worker busy for minutes. Rather than a
time limit (``re`` has none), the shapes that cause it are refused when the rule is saved:

* patterns longer than :data:`MAX_PATTERN_LENGTH` characters;
* nested quantifiers: a repeated part inside another repeated part where either repeat is unbounded
  (``(a+)+``, ``(a*)*``, ``(\\w+\\s?)*``), or both are bounded with a product over
  :data:`MAX_BOUNDED_PRODUCT` (``(a{1,50}){1,50}``). Small bounded nests such as the IPv4 shape
  ``(\\d{1,3}\\.){3}`` stay allowed;
* an alternation under an unbounded quantifier whose branches can start with the same character,
  or can both match nothing (``(a|a)*``, ``(x|y|xz)+``). Alternatives CPython folds into one
  character class (``(a|\\w)+``) are harmless and allowed.

The check is deliberately simple and errs on the side of refusing: ``(\\w+\\.)*\\w+`` is refused too,
though harmless, and the message suggests the character-class form (``[\\w.]+``). It reads the tree of
CPython's own regex parser, so what is checked is exactly what ``re`` will run.
"""

from __future__ import annotations

import importlib
import re
import string
from collections.abc import Iterable
from typing import Any

MAX_PATTERN_LENGTH = 200
MAX_BOUNDED_PRODUCT = 100

# `re._parser` is CPython's own parser (the deprecated `sre_parse` warns on import); typed as Any.
_parser: Any = importlib.import_module("re._parser")
_c: Any = _parser  # the opcode constants are re-exported by the parser module
_UNBOUNDED: int = _c.MAXREPEAT
_REPEATS = frozenset({_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)})
# Printable ASCII is enough to tell whether two branches can start alike; other characters are
# covered by the classes that contain them (\w, \S, negations), which also accept ASCII probes.
_PROBES = string.printable
_CATEGORIES = {
    _c.CATEGORY_DIGIT: r"\d",
    _c.CATEGORY_NOT_DIGIT: r"\D",
    _c.CATEGORY_SPACE: r"\s",
    _c.CATEGORY_NOT_SPACE: r"\S",
    _c.CATEGORY_WORD: r"\w",
    _c.CATEGORY_NOT_WORD: r"\W",
}
_EMPTY = frozenset({""})  # marks "this branch can match nothing at all"
Anything = None  # first characters unknown: assumed to overlap with every other branch

NESTED = (
    "it repeats a part that itself repeats, such as (a+)+ or (\\w+\\s?)*, which can take exponential time; "
    "use a single character class instead, e.g. [\\w.]+ rather than (\\w+\\.)*\\w+"
)
OVERLAP = (
    "it repeats alternatives that can start with the same character, such as (a|a)* or (x|y|xz)+, "
    "which can take exponential time; make the alternatives start differently or use a character class"
)


def unsafe_reason(pattern: str) -> str | None:
    """Why ``pattern`` is refused as a claim rule, or None when it is accepted (and compiles)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"it is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH} are allowed"
    try:
        tree = _parser.parse(pattern)
    except re.error as exc:
        return f"it is not a valid regular expression: {exc}"
    return _check(tree, outer=None)


def _check(items: Iterable[tuple[Any, Any]], outer: tuple[int, int] | None) -> str | None:
    """Walk the parse tree; ``outer`` is the (min, max) of the nearest enclosing repeat, if any."""
    for op, av in items:
        if op in _REPEATS:
            low, high, body = av
            if high > 1 and outer is not None and _too_much(outer[1], high):
                return NESTED
            if high == _UNBOUNDED and _overlapping_branches(body):
                return OVERLAP
            reason = _check(body, (low, high) if high > 1 else outer)
        elif op == _c.SUBPATTERN:
            reason = _check(av[-1], outer)
        elif op == _c.BRANCH:
            reason = next(filter(None, (_check(branch, outer) for branch in av[1])), None)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            reason = _check(av[1], outer)
        else:
            reason = None
        if reason:
            return reason
    return None


def _too_much(outer_max: int, inner_max: int) -> bool:
    if _UNBOUNDED in (outer_max, inner_max):
        return True
    return bool(outer_max * inner_max > MAX_BOUNDED_PRODUCT)


def _overlapping_branches(body: list[tuple[Any, Any]]) -> bool:
    """True when an alternation directly repeated by ``body`` has branches that may start alike."""
    for op, av in _unwrap(body):
        if op != _c.BRANCH:
            continue
        seen: set[str] = set()
        for branch in av[1]:
            first = _first_chars(branch)
            if first is Anything or seen & first:
                return True
            seen |= first
    return False


def _unwrap(body: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The repeated items with groups opened up: ``(?:x|y)`` and ``(a(?:|b))`` both expose a branch."""
    found: list[tuple[Any, Any]] = []
    for op, av in body:
        if op == _c.SUBPATTERN:
            found.extend(_unwrap(av[-1]))
        else:
            found.append((op, av))
    return found


def _first_chars(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    """The ASCII characters a sequence can start with; ``_EMPTY`` if it is empty, None if unsure."""
    for op, av in items:
        if op == _c.AT:
            continue  # anchors consume nothing
        if op == _c.LITERAL:
            return frozenset({chr(av)})
        if op == _c.IN:
            return frozenset(ch for ch in _PROBES if _in_set(av, ch))
        if op == _c.SUBPATTERN:
            return _first_chars(av[-1])
        if op in _REPEATS and av[0] >= 1:
            return _first_chars(av[2])
        if op == _c.BRANCH:
            union: set[str] = set()
            for branch in av[1]:
                part = _first_chars(branch)
                if part is None:
                    return Anything
                union |= part
            return frozenset(union)
        return Anything
    return _EMPTY


def _in_set(members: list[tuple[Any, Any]], ch: str) -> bool:
    """Whether a character class (``[...]``, ``\\d``…) accepts ``ch``."""
    negate = False
    hit = False
    for op, av in members:
        if op == _c.NEGATE:
            negate = True
        elif op == _c.LITERAL:
            hit |= ch == chr(av)
        elif op == _c.RANGE:
            hit |= av[0] <= ord(ch) <= av[1]
        elif op == _c.CATEGORY:
            hit |= av in _CATEGORIES and re.fullmatch(_CATEGORIES[av], ch) is not None
        else:
            return True  # anything unexpected: assume it may start here
    return hit != negate
