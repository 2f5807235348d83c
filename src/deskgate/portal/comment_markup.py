"""The wiki markup JSM appends to a comment that carries files, taken off again for the portal's page.

When files are attached with a comment (`POST /request/{key}/attachment` with `additionalComment`), JSM
stores the comment as its text followed by a reference to each file: `!name|thumbnail!` for a picture,
`[^name] _(size)_` for any other file (the contract's own example: "Please find the screenshot and the log
file attached. !screenshot.png|thumbnail! [^log.txt] _(32 kB)_"). The portal lists the files themselves,
so it shows the text without those references; a comment that was only files then has no text at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# One reference at the very end: a picture (`!name|thumbnail!`, `!name!`) or a file (`[^name] _(size)_`).
_LAST_REFERENCE = re.compile(
    r"(?:!(?P<image>[^!\n|]+)(?:\|[^!\n]*)?!|\[\^(?P<file>[^\]\n]+)\](?:\s*_\([^)\n]*\)_)?)$"
)


def without_file_markup(body: str, filenames: Iterable[str]) -> str:
    """`body` without the trailing references to the comment's own files (`filenames`); a reference to
    any other name, or one in the middle of the text, is the author's and stays."""
    names = set(filenames)
    text = body.rstrip()
    while (found := _LAST_REFERENCE.search(text)) is not None:
        if (found.group("image") or found.group("file")) not in names:
            break
        text = text[: found.start()].rstrip()
    return text
