"""Attachments in the emulator: temporary uploads, attaching them under a comment, and the lists.

As in JSM, a file's visibility is the comment it came with: `POST /request/{key}/attachment` files the
uploads under a new public or internal comment, and `GET /request/{key}/attachment` lists every file of
the request to an agent, internal ones too, without saying which is which.

That comment's body is wiki markup: JSM appends a reference to each file after the text it was given,
`!name|thumbnail!` for a picture and `[^name] _(size)_` for any other file, as the contract's own example
of `POST /request/{key}/attachment` shows ("… attached. !screenshot.png|thumbnail! [^log.txt] _(32 kB)_").
The size wording is approximated (kB rounded up, MB with one decimal).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deskgate.jsm.emulator import render
from deskgate.jsm.emulator.context import body_json, context, desk_of, experimental, found, issue_of, page_of
from deskgate.jsm.emulator.state import Attachment, TemporaryFile

SD = render.SD


@experimental
async def attach_temporary_file(request: Request) -> Response:
    desk = desk_of(request)
    if request.headers.get("x-atlassian-token") != "no-check":
        return render.error(403, "XSRF check failed: send X-Atlassian-Token: no-check.")
    store, _ = context(request)
    created: list[dict[str, Any]] = []
    async with request.form() as form:
        files = [part for part in form.getlist("file") if not isinstance(part, str)]
        if not files:
            return render.error(400, "No file in the multipart part 'file'.")
        for upload in files:
            temporary = TemporaryFile(
                "temp" + store.next_id(),
                desk.id,
                upload.filename or "file",
                upload.content_type or "application/octet-stream",
                await upload.read(),
            )
            store.temporary_files[temporary.id] = temporary
            created.append({"temporaryAttachmentId": temporary.id, "fileName": temporary.filename})
    return JSONResponse({"temporaryAttachments": created}, status_code=201)


async def attachments(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    return page_of(request, [render.attachment_dto(store, a, base) for a in issue.attachments])


async def attach(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    body = await body_json(request)
    ids = body.get("temporaryAttachmentIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        return render.error(400, "temporaryAttachmentIds is required.")
    extra = body.get("additionalComment")
    text = extra.get("body") if isinstance(extra, dict) else None
    if extra is not None and not isinstance(text, str):
        return render.error(400, "additionalComment needs a body.")
    temporaries = [store.temporary_files.get(str(i)) for i in ids]
    if any(t is None or t.desk_id != issue.desk.id for t in temporaries):
        return render.error(400, "A temporary attachment does not exist or belongs to another service desk.")
    files = []
    for temporary in temporaries:
        assert temporary is not None
        del store.temporary_files[temporary.id]
        files.append(
            store.new_attachment(
                temporary.filename, temporary.mime_type, temporary.content, store.service_account
            )
        )
    # JSM files the attachments under a comment, public or internal as asked (`public` defaults to
    # internal here, as for comments): that comment decides who sees them.
    comment = store.add_comment(
        issue, with_file_markup(text or "", files), public=body.get("public") is True, attachments=files
    )
    added = [render.attachment_dto(store, a, base) for a in files]
    return JSONResponse(
        {
            "comment": render.comment_dto(store, issue, comment, base),
            "attachments": render.paged(added, 0, len(added), base, request.url.path),
        },
        status_code=201,
    )


def with_file_markup(text: str, files: list[Attachment]) -> str:
    """The comment text with JSM's wiki markup for each attached file appended (see the module's text)."""
    return " ".join([*([text.strip()] if text.strip() else []), *(file_markup(a) for a in files)])


def file_markup(attachment: Attachment) -> str:
    if attachment.mime_type.startswith("image/"):
        return f"!{attachment.filename}|thumbnail!"
    return f"[^{attachment.filename}] _({_size(len(attachment.content))})_"


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{math.ceil(size / 1024)} kB"
    return f"{size / (1024 * 1024):.1f} MB"


@experimental  # marked x-experimental in the contract: without the opt-in header JSM answers 412
async def comment_attachments(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    wanted = request.path_params["comment"]
    comment = found(next((c for c in issue.comments if c.id == wanted), None), "comment")
    return page_of(request, [render.attachment_dto(store, a, base) for a in comment.attachments])


ROUTES = [
    Route(f"{SD}/servicedesk/{{desk}}/attachTemporaryFile", attach_temporary_file, methods=["POST"]),
    Route(f"{SD}/request/{{key}}/attachment", attachments, methods=["GET"]),
    Route(f"{SD}/request/{{key}}/attachment", attach, methods=["POST"]),
    Route(f"{SD}/request/{{key}}/comment/{{comment}}/attachment", comment_attachments),
]
