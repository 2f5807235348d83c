"""The demo's JSM emulator logs its requests under its own name and prefix, apart from Deskgate's lines."""

from __future__ import annotations

import logging

import httpx
import pytest

from deskgate.cli.demo import DemoJsm


def test_the_demo_jsm_logs_its_requests_as_the_demo_jsm(caplog: pytest.LogCaptureFixture) -> None:
    jsm = DemoJsm()
    jsm.start()
    try:
        with caplog.at_level(logging.INFO, logger="deskgate.demo.jsm"):
            answer = httpx.get(f"{jsm.site_url}/rest/servicedeskapi/servicedesk", auth=("nobody", "wrong"))
            missing = httpx.get(f"{jsm.site_url}/no/such/path")
    finally:
        jsm.stop()
    lines = [(r.name, r.getMessage()) for r in caplog.records if r.name == "deskgate.demo.jsm"]
    assert lines == [
        ("deskgate.demo.jsm", f"demo JSM: GET /rest/servicedeskapi/servicedesk -> {answer.status_code}"),
        ("deskgate.demo.jsm", f"demo JSM: GET /no/such/path -> {missing.status_code}"),
    ]
    assert not [r for r in caplog.records if r.name.startswith("deskgate.web")]
