"""The file operations of `JsmClient`: upload, attach under a comment, list, download.

JSM has no visibility on a file itself: it is the comment a file was attached with, public or internal,
that decides whether a customer may see it. So listing a request's attachments as an agent returns the
internal ones too; the portal shows only files it found on public comments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deskgate.jsm import parsing
from deskgate.jsm.client_base import SD, JsmClientBase
from deskgate.jsm.errors import JsmError
from deskgate.jsm.files import AttachmentDownload, FileContent, multipart_file
from deskgate.jsm.models import Attachment
from deskgate.jsm.paging import segment_id, segment_key


class AttachmentCalls(JsmClientBase):
    async def attach_temporary_file(
        self, desk_id: str, filename: str, content: FileContent, content_type: str
    ) -> str:
        """Upload a file to the desk's temporary storage; its id goes to `attach_to_request` next.
        `content` may be an async iterator (streamed, then not retried)."""
        header, body = multipart_file(filename, content, content_type or "application/octet-stream")
        raw = await self._t.json(
            "POST",
            f"{SD}/servicedesk/{segment_id(desk_id)}/attachTemporaryFile",
            content=body,
            headers={"Content-Type": header, "X-Atlassian-Token": "no-check"},
            experimental=True,
            operation="upload attachment",
        )
        uploaded = (raw or {}).get("temporaryAttachments") or []
        if not uploaded or not uploaded[0].get("temporaryAttachmentId"):
            raise JsmError("no temporary attachment id in the answer", operation="upload attachment")
        return str(uploaded[0]["temporaryAttachmentId"])

    async def attach_to_request(
        self,
        issue_key_or_id: str,
        temporary_ids: Sequence[str],
        *,
        public: bool = True,
        comment: str | None = None,
    ) -> tuple[Attachment, ...]:
        """Attach uploaded files. JSM files them under a comment (with `comment` as its text, if given)
        that is public or internal as asked: that comment is what makes them visible to customers."""
        body: dict[str, Any] = {"temporaryAttachmentIds": list(temporary_ids), "public": public}
        if comment is not None:
            body["additionalComment"] = {"body": comment}
        raw = await self._t.json(
            "POST",
            f"{SD}/request/{segment_key(issue_key_or_id)}/attachment",
            json=body,
            operation="attach files",
            idempotent=False,
        )
        values = ((raw or {}).get("attachments") or {}).get("values") or []
        return tuple(self._attachment(a) for a in values)

    async def attachments(self, issue_key_or_id: str) -> tuple[Attachment, ...]:
        """Every attachment of the request. To an agent (the service account) JSM lists internal ones
        too, and says nothing of their visibility: filter with the public comments before showing any."""
        path = f"{SD}/request/{segment_key(issue_key_or_id)}/attachment"
        return await self._pages.read_all(path, "attachments", self._attachment)

    async def comment_attachments(self, issue_key_or_id: str, comment_id: str) -> tuple[Attachment, ...]:
        path = f"{SD}/request/{segment_key(issue_key_or_id)}/comment/{segment_id(comment_id)}/attachment"
        return await self._pages.read_all(path, "comment attachments", self._attachment)

    def _attachment(self, raw: Any) -> Attachment:
        return parsing.attachment(raw, self.flavour)

    async def download_attachment(self, attachment: Attachment | str) -> AttachmentDownload:
        """Open an attachment's content for streaming: an Attachment, its content URL, or its id.
        Only URLs on the JSM site are fetched (they get the service account's credentials)."""
        target = (
            (attachment.content_url or attachment.id) if isinstance(attachment, Attachment) else attachment
        )
        if target.isdigit():
            target = self.flavour.attachment_content_path(target)
        elif not target.startswith(("https://", "http://")):
            raise ValueError("an attachment id, content URL or Attachment is required")
        response = await self._t.send(
            "GET", target, operation="download attachment", stream=True, follow_redirects=True
        )
        return AttachmentDownload(response)
