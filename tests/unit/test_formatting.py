"""The filters every page formats values with (deskgate.web.formatting) and the short User-Agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from jinja2 import Environment

from deskgate.sessions.user_agent import short_user_agent
from deskgate.web.formatting import (
    claim_cell,
    claim_json,
    day,
    epoch_claim,
    install,
    plain,
    preset_title,
    when,
)

MOMENT = datetime(2026, 12, 5, 1, 2, 3, 456789, tzinfo=UTC)


def test_a_moment_is_a_time_element_in_utc_to_the_minute_without_microseconds() -> None:
    shown = str(when(MOMENT))
    assert shown == '<time datetime="2026-12-05T01:02:03Z" data-show="minute">2026-12-05 01:02 UTC</time>'
    assert "456789" not in shown


def test_other_zones_naive_datetimes_and_iso_text_are_shown_in_utc() -> None:
    paris = MOMENT.astimezone(timezone(timedelta(hours=1)))
    assert str(when(paris)) == str(when(MOMENT))
    assert str(when(MOMENT.replace(tzinfo=None))) == str(when(MOMENT))
    assert str(when(MOMENT.isoformat())) == str(when(MOMENT))
    assert str(day(MOMENT)) == '<time datetime="2026-12-05T01:02:03Z" data-show="day">2026-12-05</time>'


def test_nothing_is_a_dash_and_text_that_is_no_moment_stays_text() -> None:
    assert when(None) == "—"
    assert when("soon") == "soon"


def test_claims_are_json_never_python() -> None:
    assert claim_json(True) == "true"
    assert claim_json(None) == "null"
    assert claim_json([]) == "[]"
    assert claim_json(["staff"]) == '["staff"]'
    assert claim_json({"a": False}) == '{"a": false}'
    assert claim_json("Zoë") == '"Zoë"'


@pytest.mark.parametrize("name", ["exp", "iat", "auth_time", "nbf", "updated_at"])
def test_epoch_claims_are_also_dates(name: str) -> None:
    assert epoch_claim(name, 1796432523) == datetime(2026, 12, 5, 1, 2, 3, tzinfo=UTC)
    cell = str(claim_cell(name, 1796432523))
    assert cell.startswith('<code class="claim">1796432523</code>') and "2026-12-05 01:02 UTC" in cell


def test_other_claims_and_values_that_are_no_epoch_are_not_dates() -> None:
    assert epoch_claim("sub", 1796432523) is None
    assert epoch_claim("exp", True) is None
    assert epoch_claim("exp", "tomorrow") is None
    assert epoch_claim("exp", 10**30) is None
    assert str(claim_cell("sub", "<b>")) == '<code class="claim">&#34;&lt;b&gt;&#34;</code>'


def test_plain_values_for_people() -> None:
    assert plain(True) == "yes" and plain(False) == "no"
    assert plain(None) == "—" and plain([]) == "—" and plain("") == "—"
    assert plain(["staff", "it"]) == "staff, it"
    assert plain({"team": True}) == '{"team": true}'
    assert plain(3) == "3"


def test_presets_by_title() -> None:
    assert preset_title("keycloak") == "Keycloak"
    assert preset_title("generic-oidc") != "generic-oidc"
    assert preset_title("from-a-newer-version") == "from-a-newer-version"


def test_templates_get_the_filters() -> None:
    env = Environment(autoescape=True)
    install(env)
    page = env.from_string("{{ at | when }} {{ v | claim_json }} {{ e | event_words }} {{ ua | user_agent }}")
    shown = page.render(at=MOMENT, v=None, e="login", ua=None)
    assert "2026-12-05 01:02 UTC</time> null Customer sign-in unknown browser" in shown


@pytest.mark.parametrize(
    ("header", "short"),
    [
        ("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "Firefox 120 on Linux"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Chrome 131 on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
            "Edge 131 on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari 17 on iOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Safari/605.1.15",
            "Safari 18 on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome 131 on Android",
        ),
        ("curl/8.5.0", "curl 8.5"),
        ("python-httpx/0.28.1", "python-httpx"),
        ("", "unknown browser"),
        (None, "unknown browser"),
    ],
)
def test_user_agents_in_short(header: str | None, short: str) -> None:
    assert short_user_agent(header) == short
