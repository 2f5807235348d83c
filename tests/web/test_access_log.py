"""The ASGI server's access log never shows query strings (codes, states, tokens travel there)."""

from __future__ import annotations

import logging

import pytest

from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio


async def test_access_log_lines_lose_their_query_string(db_url: str) -> None:
    async with running_app(db_url):
        record = logging.LogRecord(
            "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "GET", "/plugins/servlet/oauth/callback?code=SECRET&state=S", "1.1", 303), None,
        )  # fmt: skip
        assert logging.getLogger("uvicorn.access").filter(record)
    message = record.getMessage()
    assert "SECRET" not in message
    assert "/plugins/servlet/oauth/callback?…" in message
    assert message.endswith("303")
