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


def _access(path: str, status: int) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.9:5000", "GET", path, "1.1", status), None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("path", "status", "logged"),
    [
        ("/healthz", 200, False),
        ("/readyz", 200, False),
        ("/readyz", 503, True),  # a failing probe is worth a line
        ("/healthz?x=1", 200, True),  # not the probe path as the server reports it
        ("/login", 200, True),
        ("/portal/healthz", 200, True),
    ],
)
async def test_passing_health_probes_leave_no_access_log_line(
    db_url: str, path: str, status: int, logged: bool
) -> None:
    async with running_app(db_url):
        assert bool(logging.getLogger("uvicorn.access").filter(_access(path, status))) is logged
