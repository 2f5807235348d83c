"""A User-Agent header in short, for the sessions list: "Firefox 120 on Linux".

A tiny table rather than a parser package: the list only has to tell an admin which browser a session is
in, and the full header stays beside it (a title attribute). Order matters: Edge and Opera say "Chrome",
Chrome says "Safari", every one says "Mozilla".
"""

from __future__ import annotations

import re

# (name shown, pattern whose first group is the version)
BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
        ("Opera", r"(?:OPR|Opera)/(\d+)"),
        ("Samsung Internet", r"SamsungBrowser/(\d+)"),
        ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
        ("Chrome", r"(?:Chrome|CriOS)/(\d+)"),
        ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"),
        ("curl", r"curl/(\d+(?:\.\d+)?)"),
    )
)
SYSTEMS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("Android", r"Android"),
        ("iOS", r"iPhone|iPad|iPod"),
        ("ChromeOS", r"CrOS"),
        ("Windows", r"Windows"),
        ("macOS", r"Mac OS X|Macintosh"),
        ("Linux", r"Linux|X11"),
    )
)


def short_user_agent(header: str | None) -> str:
    """The browser and its major version, and the system it runs on, as far as the header says."""
    if not header:
        return "unknown browser"
    browser = next(
        (f"{name} {found.group(1)}" for name, pattern in BROWSERS if (found := pattern.search(header))), None
    )
    system = next((name for name, pattern in SYSTEMS if pattern.search(header)), None)
    if browser is None:
        browser = header.split("/", 1)[0].split(" ", 1)[0][:40] or "unknown browser"
    return f"{browser} on {system}" if system else browser
