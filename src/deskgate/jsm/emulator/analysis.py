"""How the emulator's JQL text search (`text ~`, `summary ~`, `description ~`, comments) cuts text into
words: as Jira's Lucene analyser does it, closely enough for what Deskgate relies on.

Jira indexes text fields with Apache Lucene (Atlassian, "Search syntax for text fields",
https://confluence.atlassian.com/jirasoftwareserver/search-syntax-for-text-fields-939938747.html), whose
StandardTokenizer splits words by the Unicode word-break rules (UAX #29). Emulated here:

- letters and digits form one word (`a3f`, `v2`), so do `_` joins (`foo_bar`) (WB5, WB8 to WB10, WB13a/b);
- a MidLetter (`:`, `·`) or an apostrophe or full stop between two letters does not split
  (`deskgate:a3f` and `don't` are one word; `deskgate:3af` is two, since `3` is no letter) (WB6/WB7);
- a comma, semicolon, full stop or apostrophe between two digits does not split (`1,000`, `3.14`)
  (WB11/WB12);
- combining marks and format characters stay with their word (WB4);
- every other character splits, brackets included (`[deskgate:a3f]` is the one word `deskgate:a3f`);
- each CJK ideograph and each Hiragana character is a word of its own;
- words are lower-cased.

Not emulated: stemming (Jira's English analyser finds "files" for "file"), stop words ("the", "and"),
possessive `'s` removal, Lucene query syntax inside the searched text (wildcards `*`/`?`, fuzzy `~`,
boolean operators, reserved characters), dictionary segmentation of Thai and similar scripts.
"""

from __future__ import annotations

import functools
import re
import unicodedata

MID_LETTER = frozenset(":\u00b7\u0387\u05f4\u2027\ufe13\ufe55\uff1a")
MID_NUM_LET = frozenset(".'\u2018\u2019\u2024\ufe52\uff07\uff0e")
MID_NUM = frozenset(",;\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b")
_WORD = frozenset("LNX")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
ANALYSED_TEXTS = 4096  # texts whose words are kept (issues' and articles' fields, queries)


def _kind(ch: str) -> str:
    """L letter, N digit, X joiner (`_`), I a word by itself, ML/MNL/MN the mid characters, E extend."""
    code = ord(ch)
    if 0x3040 <= code <= 0x309F or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or code >= 0x20000:
        return "I" if ch.isalpha() else "O"
    if ch.isalpha():
        return "L"
    if ch.isdigit():
        return "N"
    category = unicodedata.category(ch)
    if category == "Pc":
        return "X"
    if ch in MID_LETTER:
        return "ML"
    if ch in MID_NUM_LET:
        return "MNL"
    if ch in MID_NUM:
        return "MN"
    if category in ("Mn", "Mc", "Me", "Cf"):
        return "E"
    return "O"


def _bridges(mid: str, before: str, after: str | None) -> bool:
    letters = before == "L" and after == "L" and mid in ("ML", "MNL")
    digits = before == "N" and after == "N" and mid in ("MN", "MNL")
    return letters or digits


def words(text: str) -> list[str]:
    """The lower-cased words of `text`, as Jira's index holds them (see the module's text)."""
    return list(_words(text))


@functools.lru_cache(maxsize=ANALYSED_TEXTS)
def _words(text: str) -> tuple[str, ...]:
    # Each search analyses every issue's and article's text again: kept per text, as Jira's index keeps
    # its terms (under load the analysis was most of the emulator's CPU, which the load test shares).
    kinds = [_kind(ch) for ch in text]
    found: list[str] = []
    current: list[str] = []
    last = ""  # the kind of the current word's last letter, digit or joiner

    def flush() -> None:
        word = "".join(current)
        if any(ch.isalnum() for ch in word):
            found.append(word.lower())
        current.clear()

    for i, (ch, kind) in enumerate(zip(text, kinds, strict=True)):
        if kind == "E" and current:
            current.append(ch)
        elif kind in _WORD:
            current.append(ch)
            last = kind
        elif kind in ("ML", "MNL", "MN") and current:
            after = next((k for k in kinds[i + 1 :] if k != "E"), None)
            if _bridges(kind, last, after):
                current.append(ch)
            else:
                flush()
        else:
            flush()
            if kind == "I":
                found.append(ch)
    flush()
    return tuple(found)


def ascii_words(text: str) -> list[str]:
    """The emulator's former, too kind analysis (`FaultPlan.unicode_word_breaks` False): every run of a-z
    and 0-9, lower-cased. Jira never splits `deskgate:a3f` like this: `JsmClient.find_request_by_marker`
    finds a marker starting with a letter only here (issue 9)."""
    return _ASCII_WORD.findall(text.lower())
