"""The part of JQL the emulator understands, parsed properly (strings, escapes, parentheses, precedence).

    query   := expr? (ORDER BY field (ASC|DESC)? ("," field (ASC|DESC)?)*)?
    expr    := term (OR term)*
    term    := factor (AND factor)*
    factor  := NOT factor | "(" expr ")" | field op value
    op      := = | != | ~ | !~ | IN | NOT IN        value := string | word | "(" value ("," value)* ")"

Fields: project, key/issuekey, reporter, "Request participants", organizations, "Customer Request
Type" (or "Request Type"), status, statusCategory, summary, description, text, labels; ORDER BY created,
key or updated. Anything else is a `JqlError` (Jira answers 400). Text (`~`) is cut
into words by `analysis` (Jira's word breaks, or the former ASCII runs: `FaultPlan.unicode_word_breaks`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from deskgate.jsm.emulator.analysis import words
from deskgate.jsm.emulator.state import EmulatorStore, Issue

_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|!~|[=~(),])|(?P<word>[^\s"'=!~(),]+))""",
    re.DOTALL,
)
_CATEGORY_NAMES = {"to do": "new", "new": "new", "in progress": "indeterminate", "done": "done"}

Predicate = Callable[[Issue], bool]


class JqlError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    kind: str  # string | op | word
    text: str


def tokenize(jql: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(jql):
        if not jql[position:].strip():
            break
        match = _TOKEN.match(jql, position)
        if match is None or match.end() == position:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {position}.")
        position = match.end()
        if match.group("string") is not None:
            raw = match.group("string")[1:-1]
            tokens.append(Token("string", re.sub(r"\\(.)", r"\1", raw, flags=re.DOTALL)))
        elif match.group("op") is not None:
            tokens.append(Token("op", match.group("op")))
        else:
            tokens.append(Token("word", match.group("word")))
    return tokens


Analyser = Callable[[str], list[str]]


class Parser:
    def __init__(self, store: EmulatorStore, jql: str, analyse: Analyser = words) -> None:
        self.store = store
        self.tokens = tokenize(jql)
        self.analyse = analyse
        self.at = 0

    def peek(self, *keywords: str) -> bool:
        if self.at >= len(self.tokens):
            return False
        token = self.tokens[self.at]
        return token.kind != "string" and token.text.upper() in keywords

    def take(self) -> Token:
        if self.at >= len(self.tokens):
            raise JqlError("Error in the JQL Query: the query ended too early.")
        self.at += 1
        return self.tokens[self.at - 1]

    def expect(self, text: str) -> None:
        token = self.take()
        if token.kind == "string" or token.text.upper() != text:
            raise JqlError(f"Error in the JQL Query: expecting '{text}' but got '{token.text}'.")

    def parse(self) -> tuple[Predicate, list[tuple[str, bool]]]:
        predicate: Predicate = (lambda issue: True) if self.peek("ORDER") or not self.tokens else self.expr()
        order: list[tuple[str, bool]] = []
        if self.peek("ORDER"):
            self.take()
            self.expect("BY")
            while True:
                name = self.take().text.lower()
                descending = False
                if self.peek("ASC", "DESC"):
                    descending = self.take().text.upper() == "DESC"
                order.append((name, descending))
                if not self.peek(","):
                    break
                self.take()
        if self.at != len(self.tokens):
            raise JqlError(f"Error in the JQL Query: unexpected '{self.tokens[self.at].text}'.")
        return predicate, order

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.peek("OR"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda issue: any(p(issue) for p in parts))

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.peek("AND"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda issue: all(p(issue) for p in parts))

    def factor(self) -> Predicate:
        if self.peek("NOT"):
            self.take()
            inner = self.factor()
            return lambda issue: not inner(issue)
        if self.peek("("):
            self.take()
            inner = self.expr()
            self.expect(")")
            return inner
        return self.clause()

    def values(self) -> list[str]:
        if self.peek("("):
            self.take()
            found = [self.take().text]
            while self.peek(","):
                self.take()
                found.append(self.take().text)
            self.expect(")")
            return found
        token = self.take()
        if token.kind == "op":
            raise JqlError(f"Error in the JQL Query: expecting a value but got '{token.text}'.")
        return [token.text]

    def clause(self) -> Predicate:
        name = self.take()
        if name.kind == "op":
            raise JqlError(f"Error in the JQL Query: expecting a field name but got '{name.text}'.")
        operator = self.take().text.upper()
        if operator == "NOT":
            self.expect("IN")
            operator = "NOT IN"
        if operator not in ("=", "!=", "~", "!~", "IN", "NOT IN"):
            raise JqlError(f"Error in the JQL Query: unknown operator '{operator}'.")
        values = self.values()
        field = self.field_values(name.text.lower())
        if operator in ("~", "!~"):
            matches = _text_matcher(values[0], self.analyse)
            found: Predicate = lambda issue: any(matches(text) for text in field(issue))  # noqa: E731
        else:
            wanted = {v.casefold() for v in values}
            found = lambda issue: any(v.casefold() in wanted for v in field(issue))  # noqa: E731
        return found if operator in ("=", "~", "IN") else (lambda issue: not found(issue))

    def field_values(self, name: str) -> Callable[[Issue], list[str]]:
        store = self.store
        fields: dict[str, Callable[[Issue], list[str]]] = {
            "project": lambda i: [i.desk.project_key, i.desk.project_id, i.desk.project_name],
            "key": lambda i: [i.key, i.id],
            "issuekey": lambda i: [i.key, i.id],
            "reporter": lambda i: [store.user_id(i.reporter)],
            "request participants": lambda i: [store.user_id(u) for u in i.participants],
            "status": lambda i: [i.status],
            "statuscategory": lambda i: [k for k, v in _CATEGORY_NAMES.items() if v == i.status_category],
            "summary": lambda i: [i.summary],
            "description": lambda i: [i.description],
            "labels": lambda i: i.labels,
            # JSM's Organizations field, by organization id or name (`organizations in (1, 2)`).
            "organizations": lambda i: [
                text for o in store.organizations if o.id in i.organizations for text in (o.id, o.name)
            ],
            # The request type, by name (Data Center's field name; Cloud calls it "Request Type" too).
            "customer request type": lambda i: [i.request_type.name, i.request_type.id],
            "request type": lambda i: [i.request_type.name, i.request_type.id],
            "text": lambda i: [i.summary, i.description, *(c.body for c in i.comments)],
        }
        if name not in fields:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        return fields[name]


def _text_matcher(query: str, analyse: Analyser) -> Callable[[str], bool]:
    """Jira-like text search over the words `analyse` finds (`analysis.words`): every word must occur; a
    quoted phrase must occur in order."""
    phrase = query.strip()
    if len(phrase) > 1 and phrase.startswith('"') and phrase.endswith('"'):
        sequence = analyse(phrase)
        return lambda text: _contains_run(analyse(text), sequence)
    required = set(analyse(query))
    return lambda text: bool(required) and required <= set(analyse(text))


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    return bool(needle) and any(haystack[i : i + len(needle)] == needle for i in range(len(haystack)))


def search(store: EmulatorStore, jql: str, *, lag: float = 0.0, analyse: Analyser = words) -> list[Issue]:
    """The issues `jql` finds, matched as the search index saw them `lag` seconds ago (see
    `EmulatorStore.searchable`); the answer shows them as they are now, as Jira loads hits afresh."""
    predicate, order = Parser(store, jql, analyse).parse()
    found = [issue for issue, indexed in store.searchable(lag) if predicate(indexed)]
    for name, descending in reversed(order or [("created", True)]):
        if name not in ("created", "key", "updated"):
            raise JqlError(f"Not able to sort using field '{name}'.")
        if name == "updated":
            found.sort(key=lambda i: (i.updated, int(i.id)), reverse=descending)
        else:
            found.sort(key=lambda i: (i.created, int(i.id)), reverse=descending)
    return found
