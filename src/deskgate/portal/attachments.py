"""Which of a request's attachments its customer may see (and download).

Deskgate asks JSM as an agent, and to an agent JSM lists every attachment of a request — also the files
agents added with an internal comment or straight to the issue — without a visibility flag. A file is
public through the public comment it came with, so the customer sees exactly:

- the files of the request's public comments (from the comment list asked with `expand=attachment`, the
  call the request page makes anyway), and
- the files they uploaded themselves (JSM names them as the author).

Everything else stays hidden, and its download answers like a file of someone else's request.
"""

from __future__ import annotations

from collections.abc import Iterable

from deskgate.jsm.models import Attachment, Comment


def visible_attachments(
    attachments: Iterable[Attachment], public_comments: Iterable[Comment], customer_id: str
) -> tuple[Attachment, ...]:
    """The attachments (in JSM's order) that the customer `customer_id` may see.

    `public_comments` must hold public comments only (`JsmClient.comments`); any other is ignored here
    as well. A file without an id cannot be matched to a comment, so it is never shown.
    """
    shared = {a.id for c in public_comments if c.public for a in c.attachments if a.id}
    return tuple(
        a for a in attachments if a.id and (a.id in shared or (customer_id and a.author_id == customer_id))
    )
