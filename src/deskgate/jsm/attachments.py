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
from deskgate.jsm.endpoints import IssueRef, JsmId
from deskgate.jsm.errors import JsmError
from deskgate.jsm.files import AttachmentDownload, FileContent, multipart_file
from deskgate.jsm.models import Attachment


class AttachmentCalls(JsmClientBase):
    async def attach_temporary_file(
        self, desk_id: str, filename: str, content: FileContent, content_type: str
    ) -> str:
        """Upload a file to the desk's temporary storage; its id goes to `attach_to_request` next.
        `content` may be an async iterator (streamed, then not retried)."""
        header, body = multipart_file(filename, content, content_type or "application/octet-stream")
        raw = await self._t.json(
            SD.upload(desk=JsmId(desk_id)),
            content=body,
            headers={"Content-Type": header, "X-Atlassian-Token": "no-check"},
            experimental=True,
        )
        uploaded = (raw or {}).get("temporaryAttachments") or []
        if not uploaded or not uploaded[0].get("temporaryAttachmentId"):
            raise JsmError("no temporary attachment id in the answer", operation="upload attachment")
        return str(uploaded[0]["temporaryAttachmentId"])

    async def attach_to_request(
        self,
        issue: IssueRef | str,
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
        raw = await self._t.json(SD.attach(issue=IssueRef(issue)), json=body, idempotent=False)
        values = ((raw or {}).get("attachments") or {}).get("values") or []
        return tuple(self._attachment(a) for a in values)

    async def attachments(self, issue: IssueRef | str) -> tuple[Attachment, ...]:
        """Every attachment of the request. To an agent (the service account) JSM lists internal ones
        too, and says nothing of their visibility: filter with the public comments before showing any."""
        return await self._pages.read_all(SD.attachments(issue=IssueRef(issue)), self._attachment)

    async def comment_attachments(
        self, issue: IssueRef | str, comment_id: JsmId | str
    ) -> tuple[Attachment, ...]:
        """The files of one comment. Experimental in the contract (`x-experimental`): needs the opt-in."""
        call = SD.comment_attachments(issue=IssueRef(issue), comment=JsmId(comment_id))
        return await self._pages.read_all(call, self._attachment, experimental=True)

    def _attachment(self, raw: Any) -> Attachment:
        return parsing.attachment(raw, self.flavour)

    async def download_attachment(self, attachment: Attachment | JsmId | str) -> AttachmentDownload:
        """Open an attachment's content for streaming, by its id (never by a URL from an answer).

        The caller checks first that the id belongs to a request the customer may see."""
        attachment_id = JsmId(attachment.id if isinstance(attachment, Attachment) else attachment)
        response = await self._t.send(
            self.api.attachment_content(attachment=attachment_id),
            params=self.flavour.attachment_content_query(),
            stream=True,
        )
        if response.status_code != 200:  # a redirect is not followed: its target came from JSM
            await response.aclose()
            raise JsmError(
                "the attachment's content was not sent", status=response.status_code, operation="download"
            )
        return AttachmentDownload(response)
