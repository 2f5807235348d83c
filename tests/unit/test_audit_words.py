"""Every audit event code the source records has words for the console (deskgate.audit_words)."""

from __future__ import annotations

import ast
from pathlib import Path

import deskgate
from deskgate.audit_words import EVENT_WORDS, event_words, outcome_words

SOURCE = Path(deskgate.__file__).parent
# Where a call takes the event code: by keyword `event=`, or at this position.
EVENT_POSITION = {"audit_change": 2, "save_idp": 3}


def _codes_in(expression: ast.expr, where: str) -> set[str]:
    """The string literals an event argument can be (a conditional picks one of two literals)."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return {expression.value}
    if isinstance(expression, ast.IfExp):
        return _codes_in(expression.body, where) | _codes_in(expression.orelse, where)
    if isinstance(expression, ast.JoinedStr):
        raise AssertionError(f"{where}: an event code built by an f-string cannot be checked; use literals")
    return set()  # a variable passed through (the helper's own parameter)


def _event_arguments(tree: ast.AST, path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            where = f"{path.relative_to(SOURCE)}:{node.lineno}"
            for keyword in node.keywords:
                if keyword.arg == "event" and name in {"AuditEvent", *EVENT_POSITION}:
                    found |= _codes_in(keyword.value, where)
            position = EVENT_POSITION.get(name)
            if position is not None and len(node.args) > position:
                found |= _codes_in(node.args[position], where)
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "event" for t in node.targets
        ):
            found |= _codes_in(node.value, f"{path.relative_to(SOURCE)}:{node.lineno}")
    return found


def recorded_codes() -> set[str]:
    codes: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        codes |= _event_arguments(ast.parse(path.read_text(), str(path)), path)
    return codes


def test_the_scan_finds_the_codes_it_should() -> None:
    codes = recorded_codes()
    # One of each way a code reaches the log: AuditEvent(event=…), audit_change, save_idp, a conditional.
    assert {
        "login",
        "admin.jira.connect",
        "admin.idp.create",
        "portal.comment",
        "admin.deliveries.cancel",
    } <= codes


def test_every_recorded_event_code_has_words() -> None:
    missing = sorted(code for code in recorded_codes() if code not in EVENT_WORDS)
    assert missing == []


def test_words_read_as_words() -> None:
    for code, words in EVENT_WORDS.items():
        assert words[0].isupper() and "." not in words and "_" not in words, code
    assert event_words("login") == "Customer sign-in"
    assert event_words("from.a.newer.version") == "from.a.newer.version"
    assert outcome_words("failure") == "failed"
