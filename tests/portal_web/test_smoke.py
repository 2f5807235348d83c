from __future__ import annotations

import pytest

from tests.portal_web.conftest import Rig

pytestmark = pytest.mark.anyio


async def test_pages_render(rig: Rig) -> None:
    alice = await rig.sign_in("alice", "alice@example.com", "Alice Adams")
    for path in (
        "/portal",
        "/portal/1",
        "/portal/1?q=hardware",
        "/portal/1/create/2",
        "/portal/1/create/3",
        "/portal/requests",
        "/portal/requests/ITH-1",
    ):
        page = await alice.browser.get(path)
        assert page.status_code == 200, (path, page.text[-2000:])
