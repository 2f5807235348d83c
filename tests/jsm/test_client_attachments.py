"""JsmClient's attachments against the in-process emulator, Cloud and Data Center: upload, attach and
download with their content type, the agent's list that holds internal files too, and files filed under a
public or an internal comment."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deskgate.jsm import JsmBadRequest
from tests.jsm.conftest import Rig

pytestmark = pytest.mark.anyio


async def _chunks() -> AsyncIterator[bytes]:
    yield b"%PDF-1.4 "
    yield b"streamed"


async def test_attachments_round_trip_with_their_content_type(rig: Rig) -> None:
    png = bytes(range(256)) * 10
    first = await rig.client.attach_temporary_file("1", "screen shot ü.png", png, "image/png")
    second = await rig.client.attach_temporary_file("1", 'quote".pdf', _chunks(), "application/pdf")
    attached = await rig.client.attach_to_request("ITH-1", [first, second])
    assert [(a.filename, a.mime_type, a.size) for a in attached] == [
        ("screen shot ü.png", "image/png", len(png)),
        ('quote".pdf', "application/pdf", 17),
    ]
    listed = await rig.client.attachments("ITH-1")
    assert [a.filename for a in listed[-2:]] == ["screen shot ü.png", 'quote".pdf']
    async with await rig.client.download_attachment(listed[-2]) as download:
        assert download.content_type == "image/png" and download.size == len(png)
        assert b"".join([chunk async for chunk in download.iter_bytes(1000)]) == png
    download = await rig.client.download_attachment(listed[-1].id)  # by id: the flavour's content path
    assert (download.content_type, await download.read()) == ("application/pdf", b"%PDF-1.4 streamed")
    with pytest.raises(JsmBadRequest):  # a temporary id is used once
        await rig.client.attach_to_request("ITH-1", [first])
    calls = len(rig.app.calls)
    for not_an_id in ("https://elsewhere.example/secure/attachment/1/x.png", "1/../2", "", "١٢"):
        with pytest.raises(JsmBadRequest, match="not a numeric id"):  # content only by id, never a URL
            await rig.client.download_attachment(not_an_id)
    assert len(rig.app.calls) == calls


async def test_cloud_content_is_asked_for_without_a_redirect(rig: Rig) -> None:
    """Cloud answers a content request with a 303 to a media URL unless asked `redirect=false`; the client
    asks so, and would refuse to follow a redirect (its target is a URL from JSM's answer)."""
    (listed, *_) = await rig.client.attachments("ITH-1")
    async with await rig.client.download_attachment(listed) as download:
        assert download.size is not None and download.size > 0
    method, path = rig.app.calls[-1]
    assert method == "GET" and "/__media__/" not in path
    if rig.app.flavour == "cloud":
        assert path.endswith(f"/attachment/content/{listed.id}")


async def test_the_attachment_list_holds_internal_files_and_only_comments_tell_them_apart(rig: Rig) -> None:
    store = rig.app.store
    alice, agent = store.user_by_email("alice@example.com"), store.user_by_email("sam.agent@example.com")
    assert alice is not None and agent is not None
    listed = await rig.client.attachments("ITH-1")
    # To an agent, JSM lists every file of the request, without a visibility flag.
    assert [(a.filename, a.author_id) for a in listed] == [
        ("beeping.png", store.user_id(alice)),
        ("power-guide.txt", store.user_id(agent)),
        ("warranty-quote.pdf", store.user_id(agent)),
        ("agent-diagnostics.log", store.user_id(agent)),
    ]
    comments = await rig.client.comments("ITH-1")
    assert [[a.filename for a in c.attachments] for c in comments] == [["power-guide.txt"], []]
    assert comments[0].attachments[0].id == listed[1].id  # the same file, told by the same id
    assert all(c.public for c in comments)


async def test_files_are_filed_under_a_comment_public_or_internal_as_asked(rig: Rig) -> None:
    files = [await rig.client.attach_temporary_file("1", f"f{n}.txt", b"x", "text/plain") for n in range(3)]
    await rig.client.attach_to_request("ITH-1", files, comment="Three files")
    hidden = await rig.client.attach_temporary_file("1", "secret.txt", b"s", "text/plain")
    await rig.client.attach_to_request("ITH-1", [hidden], public=False)
    last = (await rig.client.comments("ITH-1"))[-1]
    # Three files under one comment, more than the emulator's page of two: the rest is read page by page
    # (an experimental call, opted in). JSM appended its wiki markup for the files to the text.
    assert (last.body, [a.filename for a in last.attachments]) == (
        "Three files [^f0.txt] _(1 kB)_ [^f1.txt] _(1 kB)_ [^f2.txt] _(1 kB)_",
        ["f0.txt", "f1.txt", "f2.txt"],
    )
    assert rig.calls_to(f"/comment/{last.id}/attachment") == 2
    issue = rig.app.store.issue("ITH-1")
    assert issue is not None and not issue.comments[-1].public
    assert [a.filename for a in issue.comments[-1].attachments] == ["secret.txt"]
