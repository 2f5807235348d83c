"""Moments are shown in the viewer's own time zone, with the zone named, by static/localtime.js under the
real Content-Security-Policy (an external script, no inline code); without it the page says UTC."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser

from tests.a11y.test_axe_console import Console, console

__all__ = ["console"]  # the console fixture: customer sessions behind /admin/sessions
pytestmark = [pytest.mark.browser]


def _first_moment(browser: Browser, console: Console, **context_options: object) -> tuple[str, str | None]:
    context = browser.new_context(**context_options)  # type: ignore[arg-type]
    context.add_cookies([{"name": "deskgate_admin", "value": console.admin_session, "url": console.base}])
    page = context.new_page()
    page.goto(console.base + "/admin/sessions")
    moment = page.locator("time").first
    shown = (moment.text_content() or "", moment.get_attribute("title"))
    context.close()
    return shown


def test_times_are_shown_in_the_viewers_zone_with_utc_kept_in_the_title(
    browser: Browser, console: Console
) -> None:
    text, title = _first_moment(browser, console, timezone_id="Europe/Paris", locale="en-GB")
    assert title is not None and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", title)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d (CET|GMT\+1)", text), text
    utc_hour, local_hour = int(title[11:13]), int(text[11:13])
    assert (local_hour - utc_hour) % 24 == 1  # Paris in December: UTC+1


def test_without_javascript_the_utc_text_stays(browser: Browser, console: Console) -> None:
    text, title = _first_moment(browser, console, timezone_id="Europe/Paris", java_script_enabled=False)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text) and title is None
