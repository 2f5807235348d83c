"""Settings: every problem reported at once; secrets required outside the demo; env over file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deskgate.errors import ConfigError
from deskgate.settings import load_settings

KEY = "k" * 40


def problems(**values: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(**values)
    return caught.value.problems


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        base_url="ftp://help.example.com/x",
        secret_key="short",
        trusted_proxies=["10.0.0.0/8", "not-an-ip"],
        session_idle_minutes=0,
        database_url="mysql://x",
    )
    assert any(p.startswith("session_idle_minutes:") for p in found)
    assert any(p.startswith("base_url:") for p in found)
    assert any(p.startswith("secret_key:") and "32" in p for p in found)
    assert any("not-an-ip" in p for p in found)
    assert any(p.startswith("database_url:") for p in found)
    assert len(found) == 5


def test_secret_key_is_required_outside_demo_mode() -> None:
    assert problems() == [
        "secret_key: required outside demo mode (set DESKGATE_SECRET_KEY to 32+ random characters)"
    ]
    assert load_settings(demo=True).secret_key is None


def test_base_url_must_be_a_bare_origin() -> None:
    assert any("path" in p for p in problems(secret_key=KEY, base_url="https://help.example.com/deskgate"))
    assert load_settings(secret_key=KEY, base_url="https://help.example.com/").is_https


def test_problems_in_several_idps_are_reported_together(tmp_path: Path) -> None:
    config = tmp_path / "deskgate.yaml"
    config.write_text(
        f"""
secret_key: {KEY}
idps:
  - {{name: corp, title: A, issuer: "https://a.test", client_id: x, client_secret: y}}
  - {{name: corp, title: B, issuer: "https://b.test", client_id: x, client_secret: y}}
  - {{name: Bad Name, title: C, issuer: "https://c.test", client_id: x, client_secret: y}}
  - {{name: nosecret, title: D, issuer: "https://d.test", client_id: x}}
"""
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    found = caught.value.problems
    assert any(p.startswith("idps.2.name") and "lowercase" in p for p in found)
    assert any(p.startswith("idps.3") and "client secret" in p for p in found)
    assert len(found) == 2  # the duplicate-name check needs valid entries: tested on its own below


def test_yaml_file_and_environment_with_environment_winning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "deskgate.yaml"
    config.write_text(f"secret_key: {KEY}\nbase_url: https://file.example.com\nsession_idle_minutes: 5\n")
    monkeypatch.setenv("DESKGATE_BASE_URL", "https://env.example.com")
    settings = load_settings(config)
    assert settings.base_url == "https://env.example.com"
    assert settings.session_idle_minutes == 5


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("- a\n- b\n", "top level must be a mapping"),
        ("a: [unclosed\n", "not valid YAML"),
        (None, "no such file"),
    ],
)
def test_unreadable_config_files_are_explained(tmp_path: Path, content: str | None, expected: str) -> None:
    config = tmp_path / "deskgate.yaml"
    if content is not None:
        config.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert expected in caught.value.problems[0]


def test_database_urls_map_to_async_drivers() -> None:
    assert (
        load_settings(demo=True, database_url="postgresql://u@h/db").sqlalchemy_url
        == "postgresql+asyncpg://u@h/db"
    )
    assert (
        load_settings(demo=True, database_url="sqlite:///var/x.db").sqlalchemy_url
        == "sqlite+aiosqlite:///var/x.db"
    )


def test_duplicate_idp_names_are_refused() -> None:
    idp = {"name": "corp", "title": "A", "issuer": "https://a.test", "client_id": "x", "client_secret": "y"}
    assert problems(secret_key=KEY, idps=[idp, idp | {"title": "B"}]) == [
        "idps: the name 'corp' is used twice"
    ]


def test_the_page_budget_is_a_few_seconds_and_bounded() -> None:
    assert load_settings(secret_key=KEY).page_budget_seconds == 5.0
    assert load_settings(secret_key=KEY, page_budget_seconds=2).page_budget_seconds == 2.0
    for wrong in (0, 0.1, 61):
        assert [p.split(":")[0] for p in problems(secret_key=KEY, page_budget_seconds=wrong)] == [
            "page_budget_seconds"
        ]
