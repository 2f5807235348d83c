"""`visible_attachments`, on its own: the files of public comments and the customer's own, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from deskgate.jsm.models import Attachment, Comment
from deskgate.portal.attachments import visible_attachments

WHEN = datetime(2026, 1, 2, tzinfo=UTC)


def file(attachment_id: str, author_id: str = "agent") -> Attachment:
    return Attachment(attachment_id, f"f{attachment_id}.txt", 1, "text/plain", "Someone", WHEN, "", author_id)


def comment(public: bool, *files: Attachment) -> Comment:
    return Comment("c", "text", public, "Sam Agent", "agent", WHEN, files)


def test_public_comment_files_and_own_uploads_are_shown_in_jsms_order() -> None:
    listed = (file("1", "alice"), file("2"), file("3"), file("4"))
    shown = visible_attachments(listed, [comment(True, file("3")), comment(True)], "alice")
    assert [a.id for a in shown] == ["1", "3"]


def test_an_internal_comment_handed_in_by_mistake_shows_nothing() -> None:
    assert visible_attachments([file("2")], [comment(False, file("2"))], "alice") == ()


def test_files_without_an_id_or_an_author_never_match() -> None:
    # No id: cannot be tied to a comment. No customer id: must not match files without an author.
    assert visible_attachments([file("", "alice")], [comment(True, file(""))], "alice") == ()
    assert visible_attachments([file("5", "")], [], "") == ()


def test_a_comment_file_missing_from_the_list_is_not_invented() -> None:
    assert visible_attachments([], [comment(True, file("7"))], "alice") == ()
