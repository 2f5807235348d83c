"""The attack review's case, kept as it was found: Mallory attaches a file whose name climbs out of its
path (`../`) to a comment on her own request, then downloads it. Before the firewall, the download
followed the file's content link, httpx collapsed the dot segments, and the service account fetched
Alice's request (internal comments included) for Mallory. Now names are cleaned at upload, content is
fetched by attachment id, and a name JSM holds anyway cannot steer where the download goes."""

from __future__ import annotations

import pytest

from deskgate.jsm.emulator.state import Issue
from tests.portal_web.conftest import Rig
from tests.portal_web.test_adversarial_access import issue, mallory, own_request

pytestmark = pytest.mark.anyio
CLIMB = "../../../../../../rest/servicedeskapi/request/ITH-1/comment"


def _comments_of_alice(rig: Rig) -> int:
    return sum(1 for m, p in rig.jsm.calls if m == "GET" and "/request/ITH-1/" in p)


async def test_a_climbing_file_name_is_cleaned_when_mallory_uploads_it(rig: Rig) -> None:
    intruder = await mallory(rig)
    mine: Issue = await own_request(rig, intruder)
    token = await intruder.csrf(f"/portal/requests/{mine.key}")
    answer = await intruder.browser.post(
        f"/portal/requests/{mine.key}/comment",
        data={"csrf_token": token, "body": "see the file"},
        files={"attachment": (CLIMB, b"mallory's bytes", "text/plain")},
    )
    assert answer.status_code == 303, answer.text
    (stored,) = mine.comments[-1].attachments
    assert stored.filename == "comment"  # the last path component only: what is stored, sent and shown
    page = (await intruder.browser.get(f"/portal/requests/{mine.key}")).text
    assert "rest/servicedeskapi" not in page
    rig.jsm.calls.clear()
    download = await intruder.browser.get(f"/portal/requests/{mine.key}/attachments/{stored.id}")
    assert download.status_code == 200 and download.content == b"mallory's bytes"
    assert _comments_of_alice(rig) == 0


async def test_a_climbing_name_that_jsm_holds_anyway_downloads_only_its_own_bytes(rig: Rig) -> None:
    """A name JSM got from elsewhere (its own portal, an agent, an older Deskgate) is not cleaned by us;
    its download still asks JSM for that attachment's content by id, and for nothing else."""
    intruder = await mallory(rig)
    mine = await own_request(rig, intruder)
    author = rig.jsm.store.user_by_email("mallory@example.com")
    assert author is not None
    planted = rig.jsm.store.new_attachment(CLIMB, "application/json", b'{"mine": true}', author)
    rig.jsm.store.add_comment(mine, "my file", public=True, author=author, attachments=[planted])
    alice_internal = [c.body for c in issue(rig, "ITH-1").comments if not c.public]
    rig.jsm.calls.clear()
    answer = await intruder.browser.get(f"/portal/requests/{mine.key}/attachments/{planted.id}")
    assert answer.status_code == 200
    assert answer.content == b'{"mine": true}'
    assert not any(body and body in answer.text for body in alice_internal)
    assert _comments_of_alice(rig) == 0
    content_calls = [p for m, p in rig.jsm.calls if planted.id in p and "/servicedeskapi/" not in p]
    assert content_calls and all(
        p.endswith((f"/attachment/content/{planted.id}", f"/secure/attachment/{planted.id}/"))
        for p in content_calls
    )
    # Served as bytes, never as what the name or JSM's type claims (JSON, HTML…).
    assert answer.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("claimed", "served"),
    [
        ("image/png", "image/png"),
        ("IMAGE/JPEG; name=x.jpg", "image/jpeg"),
        ("application/pdf", "application/pdf"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("text/xml", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
async def test_a_download_keeps_its_type_only_when_it_is_safe_to_show(
    rig: Rig, claimed: str, served: str
) -> None:
    intruder = await mallory(rig)
    mine = await own_request(rig, intruder)
    author = rig.jsm.store.user_by_email("mallory@example.com")
    assert author is not None
    upload = rig.jsm.store.new_attachment("page", claimed, b"<script>alert(1)</script>", author)
    rig.jsm.store.add_comment(mine, "a file", public=True, author=author, attachments=[upload])
    answer = await intruder.browser.get(f"/portal/requests/{mine.key}/attachments/{upload.id}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == served
    assert answer.headers["content-disposition"].startswith("attachment;")
