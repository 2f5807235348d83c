"""Files a customer attaches (to a new request or a comment): read with a size limit, content type kept,
and the name cleaned once (`clean_filename`): the cleaned name is the one stored, sent to JSM and shown."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import UploadFile

from deskgate.jsm.files import clean_filename
from deskgate.portal.submissions import UploadedFile
from deskgate.web.portal.common import MAX_FILE_BYTES, MAX_FILES

CHUNK = 64 * 1024


async def read_uploads(
    files: Sequence[UploadFile], *, limit: int = MAX_FILE_BYTES
) -> tuple[list[UploadedFile], str | None]:
    """The files' contents, or a message for the customer when there are too many or one is too large.

    A file is read in chunks and given up on as soon as it passes the limit, so a huge upload costs at
    most `limit` bytes of memory (Starlette has already spooled it to disk)."""
    if len(files) > MAX_FILES:
        return [], f"Attach at most {MAX_FILES} files at a time."
    read: list[UploadedFile] = []
    for upload in files:
        chunks: list[bytes] = []
        size = 0
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                name = clean_filename(upload.filename or "A file")
                return [], f"“{name}” is larger than the limit of {limit / 1_048_576:.1f} MB."
            chunks.append(chunk)
        content_type = upload.content_type or "application/octet-stream"
        name = clean_filename(upload.filename or "attachment")
        read.append(UploadedFile(name, content_type, b"".join(chunks)))
    return read, None
