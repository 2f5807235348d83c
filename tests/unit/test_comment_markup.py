"""The wiki markup JSM appends for a comment's files is taken off for the portal; nothing else is."""

from __future__ import annotations

import pytest

from deskgate.portal.comment_markup import without_file_markup

FILES = ("screenshot.png", "log.txt")


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        # The contract's own example of POST /request/{key}/attachment.
        (
            "Please find the screenshot and the log file attached. !screenshot.png|thumbnail! "
            "[^log.txt] _(32 kB)_",
            "Please find the screenshot and the log file attached.",
        ),
        ("!screenshot.png|thumbnail!\n\n[^log.txt] _(0.1 kB)_\n", ""),  # files only: no text left
        ("Ann (ann@example.com) wrote:\n\nSee this [^log.txt]", "Ann (ann@example.com) wrote:\n\nSee this"),
        ("Compare [^other.txt] _(1 kB)_", "Compare [^other.txt] _(1 kB)_"),  # not this comment's file
        ("[^log.txt] is attached, see it", "[^log.txt] is attached, see it"),  # in the text: the author's
        ("Wow! Great!", "Wow! Great!"),
    ],
)
def test_only_the_trailing_references_to_the_comments_own_files_go(body: str, shown: str) -> None:
    assert without_file_markup(body, FILES) == shown
