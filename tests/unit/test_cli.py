"""The ``deskgate`` command line, run in-process (CliRunner) and, for the servers, as a real process."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from deskgate.audit import AuditEvent
from deskgate.cli import app
from deskgate.demo.oidc_peer import DEMO_ACCOUNTS, OidcPeer, PeerClient
from deskgate.identity.oidc.probe import Check
from deskgate.identity.provider import ProviderConfig
from deskgate.services import CALLBACK_PATH, Services, build_services
from deskgate.settings import Settings, load_settings
from tests.support.admin import sign_in
from tests.support.cli_process import Process, wait_until_answering
from tests.support.live import free_port

T = TypeVar("T")

SECRET_KEY = "cli-test-secret-key-0123456789-abcdefghijk"
CLIENT_ID = "deskgate-cli"
CLIENT_SECRET = "cli-client-secret-that-must-never-be-printed"
BASE_URL = "http://127.0.0.1:18080"

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_deskgate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test's file only, whatever the developer's shell exports."""
    for name in [*Settings.model_fields, "config"]:
        monkeypatch.delenv(f"DESKGATE_{name.upper()}", raising=False)


def write_config(path: Path, **values: Any) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.fixture
def config_file(db_url: str, tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "deskgate.yaml", base_url=BASE_URL, secret_key=SECRET_KEY, database_url=db_url
    )


def with_services(config: Path, action: Callable[[Services], Awaitable[T]]) -> T:
    async def run() -> T:
        services = await build_services(load_settings(config))
        try:
            return await action(services)
        finally:
            await services.aclose()

    return asyncio.run(run())


def save_idp(config: Path, idp: ProviderConfig) -> None:
    with_services(config, lambda s: s.providers.save(idp))


def idp(
    issuer: str = "https://idp.example.com", secret: str = CLIENT_SECRET, **changes: Any
) -> ProviderConfig:
    return ProviderConfig(
        name="gluu",
        title="Gluu",
        preset="gluu",
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret=SecretStr(secret),
        token_endpoint_auth_method="client_secret_post",
    ).model_copy(update=changes)


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


# -- config check / serve with bad settings ----------------------------------------------------------


def test_config_check_accepts_a_valid_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "ok.yaml", secret_key=SECRET_KEY)
    result = invoke("config", "check", str(config))
    assert (result.exit_code, result.stdout) == (0, "OK\n")


def test_config_check_lists_every_problem_at_once(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "bad.yaml",
        base_url="ftp://help.example.com",
        secret_key="short",
        session_idle_minutes=0,
        trusted_proxies=["10.0.0.0/8", "not-an-ip"],
    )
    result = invoke("config", "check", str(config))
    assert result.exit_code == 1
    problems = result.stderr.splitlines()
    assert "OK" not in result.stdout
    assert len(problems) == 4, problems
    assert any(p.startswith("base_url:") for p in problems)
    assert any(p.startswith("secret_key: must be at least 32") for p in problems)
    assert any(p.startswith("session_idle_minutes:") for p in problems)
    assert "trusted_proxies: 'not-an-ip' is not an IP address or CIDR range" in problems


def test_config_check_reports_a_missing_file(tmp_path: Path) -> None:
    result = invoke("config", "check", str(tmp_path / "absent.yaml"))
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_serve_with_an_invalid_config_exits_2_listing_the_problems(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad.yaml", base_url="help.example.com", database_url="mysql://x/y")
    result = invoke("serve", "--config", str(config), "--port", str(free_port()))
    assert result.exit_code == 2
    assert "The configuration is invalid" in result.stderr
    for field in ("base_url", "secret_key", "database_url"):
        assert f"  {field}:" in result.stderr


def test_config_is_also_read_from_deskgate_config(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad.yaml", secret_key="short")
    result = runner.invoke(app, ["db", "upgrade"], env={"DESKGATE_CONFIG": str(config)})
    assert result.exit_code == 2
    assert "secret_key: must be at least 32" in result.stderr


# -- db, idp list, idp presets ------------------------------------------------------------------------


def test_db_upgrade_is_repeatable(config_file: Path) -> None:
    for _ in range(2):
        result = invoke("db", "upgrade", "--config", str(config_file))
        assert result.exit_code == 0, result.output
        assert "up to date" in result.stdout


def test_idp_list_and_presets(config_file: Path) -> None:
    empty = invoke("idp", "list", "--config", str(config_file))
    assert (empty.exit_code, empty.stdout) == (0, "No identity providers are configured.\n")
    save_idp(config_file, idp())
    save_idp(
        config_file, idp(name="off", preset="keycloak", enabled=False, issuer="https://kc.example/realms/x")
    )
    listed = invoke("idp", "list", "--config", str(config_file))
    assert listed.exit_code == 0
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows == [
        ["NAME", "PRESET", "PROTOCOL", "ENABLED", "ISSUER"],
        ["gluu", "gluu", "oidc", "yes", "https://idp.example.com"],
        ["off", "keycloak", "oidc", "no", "https://kc.example/realms/x"],
    ]
    assert CLIENT_SECRET not in listed.output

    presets = invoke("idp", "presets")
    assert presets.exit_code == 0
    names = [line.split()[0] for line in presets.stdout.splitlines()[1:]]
    assert names[:3] == ["gluu", "janssen", "keycloak"]
    assert "generic-oidc" in names
    assert "Gluu Server 4.x with oxAuth" in presets.stdout


# -- config export / import ---------------------------------------------------------------------------


def test_export_import_round_trip_never_shows_a_secret(
    config_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    save_idp(config_file, idp())
    exported = invoke("config", "export", "--config", str(config_file))
    assert exported.exit_code == 0, exported.output
    document = yaml.safe_load(exported.stdout)
    assert [entry["name"] for entry in document["idps"]] == ["gluu"]
    assert "client_secret" not in document["idps"][0]
    assert "warning" not in exported.stderr

    secret_file = tmp_path / "with-secrets.yaml"
    with_secrets = invoke(
        "config", "export", "--config", str(config_file), "--include-secrets", "-o", str(secret_file)
    )
    assert with_secrets.exit_code == 0, with_secrets.output
    assert "warning: the export contains client secrets" in with_secrets.stderr
    assert yaml.safe_load(secret_file.read_text())["idps"][0]["client_secret"] == CLIENT_SECRET
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600

    plain_file = tmp_path / "plain.yaml"
    plain_file.write_text(exported.stdout)
    fresh = write_config(
        tmp_path / "fresh.yaml",
        base_url=BASE_URL,
        secret_key=SECRET_KEY,
        database_url=f"sqlite:///{tmp_path}/fresh.db",
    )
    refused = invoke("config", "import", str(plain_file), "--config", str(fresh))
    assert refused.exit_code == 1
    assert "Nothing was imported" in refused.stderr
    assert "idps[0] (gluu): client_secret: missing" in refused.stderr
    assert with_services(fresh, lambda s: s.providers.all()) == []

    imported = invoke("config", "import", str(secret_file), "--config", str(fresh))
    assert imported.exit_code == 0, imported.output
    assert "created: gluu" in imported.stdout
    again = invoke("config", "import", str(plain_file), "--config", str(fresh))
    assert again.exit_code == 0, again.output
    assert "kept the stored client secret of: gluu" in again.stdout
    assert with_services(fresh, lambda s: s.providers.get("gluu")) == idp()

    for result in (exported, with_secrets, refused, imported, again):
        assert CLIENT_SECRET not in result.output
    assert CLIENT_SECRET not in caplog.text


def test_import_with_two_bad_idps_reports_both_and_writes_nothing(config_file: Path, tmp_path: Path) -> None:
    save_idp(config_file, idp())
    bad = tmp_path / "bad.yaml"
    good = {
        "name": "fine",
        "title": "Fine",
        "issuer": "https://fine.example",
        "client_id": "c",
        "client_secret": "s",
    }
    bad.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "idps": [
                    good,
                    good | {"name": "Nope!"},
                    good | {"name": "insecure", "id_token_signing_algs": ["HS256"]},
                ],
            }
        )
    )
    result = invoke("config", "import", str(bad), "--config", str(config_file), "--replace")
    assert result.exit_code == 1
    assert "idps[1] (Nope!): name:" in result.stderr
    assert "idps[2] (insecure): id_token_signing_algs:" in result.stderr
    assert [c.name for c in with_services(config_file, lambda s: s.providers.all())] == ["gluu"]


def test_import_of_an_unreadable_file(config_file: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("idps: [unclosed")
    result = invoke("config", "import", str(broken), "--config", str(config_file))
    assert result.exit_code == 1
    assert "not valid YAML" in result.stderr


# -- audit -------------------------------------------------------------------------------------------


def test_audit_prints_recorded_events(config_file: Path) -> None:
    async def record(services: Services) -> None:
        old = datetime.now(UTC) - timedelta(days=3)
        await services.audit.record(
            AuditEvent("login", "success", idp="gluu", email="demo@example.com", at=old)
        )
        await services.audit.record(
            AuditEvent(
                "login", "refused", idp="gluu", email="mallory@evil.example", detail="allow_domains: no"
            )
        )
        await services.audit.record(
            AuditEvent("logout.rp", "success", idp="other", email="alice@example.org")
        )

    with_services(config_file, record)
    table = invoke("audit", "--config", str(config_file))
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["AT", "EVENT", "OUTCOME", "IDP"]
    assert [line.split()[1:4] for line in lines[1:]] == [
        ["logout.rp", "success", "other"],
        ["login", "refused", "gluu"],
        ["login", "success", "gluu"],
    ]
    assert "allow_domains: no" in lines[2]

    refused = invoke("audit", "--config", str(config_file), "--outcome", "refused", "--json")
    assert refused.exit_code == 0
    events = [json.loads(line) for line in refused.stdout.splitlines()]
    assert [(e["email"], e["detail"]) for e in events] == [("mallory@evil.example", "allow_domains: no")]

    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    recent = invoke("audit", "--config", str(config_file), "--since", since, "--idp", "gluu", "--json")
    assert [json.loads(line)["outcome"] for line in recent.stdout.splitlines()] == ["refused"]
    limited = invoke("audit", "--config", str(config_file), "--limit", "1", "--event", "login", "--json")
    assert [json.loads(line)["outcome"] for line in limited.stdout.splitlines()] == ["refused"]

    nonsense = invoke("audit", "--config", str(config_file), "--since", "last tuesday")
    assert nonsense.exit_code == 2
    assert "ISO 8601" in nonsense.output


# -- idp test against a real OpenID provider ----------------------------------------------------------


@pytest.fixture(scope="module")
def peer() -> Iterator[OidcPeer]:
    client = PeerClient(CLIENT_ID, CLIENT_SECRET, [BASE_URL + CALLBACK_PATH])
    with OidcPeer(clients=[client], accounts=DEMO_ACCOUNTS, test_admin=False) as running:
        yield running


def check_rows(output: str) -> dict[str, str]:
    rows = [line.split(maxsplit=2) for line in output.splitlines()[1:]]
    return {row[0]: row[1] for row in rows}


@pytest.mark.peer
def test_idp_test_accepts_the_right_client_secret(
    peer: OidcPeer, config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    save_idp(config_file, idp(peer.issuer))
    result = invoke("idp", "test", "gluu", "--config", str(config_file))
    assert result.exit_code == 0, result.output
    assert check_rows(result.stdout) == {"discovery": "ok", "jwks": "ok", "client_credentials": "ok"}
    assert "accepted the client id/secret" in result.stdout
    assert CLIENT_SECRET not in result.output
    assert CLIENT_SECRET not in caplog.text


@pytest.mark.peer
def test_idp_test_fails_for_a_wrong_client_secret(peer: OidcPeer, config_file: Path) -> None:
    save_idp(config_file, idp(peer.issuer, secret="not-the-registered-secret"))
    result = invoke("idp", "test", "gluu", "--config", str(config_file))
    assert result.exit_code == 1
    assert check_rows(result.stdout) == {"discovery": "ok", "jwks": "ok", "client_credentials": "failed"}
    assert "invalid_client" in result.stdout
    assert "not-the-registered-secret" not in result.output


@pytest.mark.peer
def test_idp_test_fails_when_discovery_fails(config_file: Path) -> None:
    save_idp(config_file, idp(f"http://127.0.0.1:{free_port()}"))  # nobody listens there
    result = invoke("idp", "test", "gluu", "--config", str(config_file))
    assert result.exit_code == 1
    assert check_rows(result.stdout) == {"discovery": "failed"}


@pytest.mark.parametrize(
    ("verdict", "shown", "message"),
    [
        (None, "unknown", "Could not tell: client_credentials"),
        (False, "failed", "Failed: client_credentials"),
    ],
)
def test_idp_test_exits_1_unless_every_check_passed(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, verdict: bool | None, shown: str, message: str
) -> None:
    async def probe(party: object) -> list[Check]:
        return [Check("discovery", True, "issuer ok"), Check("client_credentials", verdict, "HTTP 503")]

    monkeypatch.setattr("deskgate.cli.idp.probe", probe)
    save_idp(config_file, idp())
    result = invoke("idp", "test", "gluu", "--config", str(config_file))
    assert result.exit_code == 1
    assert check_rows(result.stdout) == {"discovery": "ok", "client_credentials": shown}
    assert message in result.stderr


def test_idp_test_of_an_unknown_idp(config_file: Path) -> None:
    result = invoke("idp", "test", "nobody", "--config", str(config_file))
    assert result.exit_code == 1
    assert "no identity provider named 'nobody'" in result.stderr


# -- the servers, as real processes ------------------------------------------------------------------


def test_serve_runs_the_factory_in_worker_processes(config_file: Path, tmp_path: Path) -> None:
    port = free_port()
    server = Process(["serve", "--config", str(config_file), "--port", str(port), "--workers", "2"], tmp_path)
    try:
        server.wait_for(r"Started parent process")
        page = wait_until_answering(f"http://127.0.0.1:{port}/login")
        assert page.status_code == 200  # no IdP yet: the (empty) chooser
    finally:
        server.interrupt()
    assert server.output.count("Application startup complete") == 2


@pytest.mark.peer
def test_demo_starts_the_provider_and_deskgate_in_one_step(tmp_path: Path) -> None:
    port = free_port()
    demo = Process(["demo", "--port", str(port)], tmp_path)
    try:
        url = demo.wait_for(r"Deskgate demo is running at (\S+)").group(1)
        admin = demo.wait_for(r"Admin user:\s+admin / (\S+)").group(1)
        issuer = demo.wait_for(r"OpenID provider:\s+(\S+)").group(1)
        assert url == f"http://127.0.0.1:{port}/"
        page = wait_until_answering(url + "login")
        assert page.status_code == 302
        assert page.headers["location"].startswith(issuer + "/oxauth/restv1/authorize?")
        with httpx.Client(timeout=10) as browser:
            signed_in = sign_in(browser, url.rstrip("/"), password=admin)
            assert signed_in.headers["location"] == "/admin/"
            assert browser.get(url + "admin/").status_code == 200
    finally:
        code = demo.interrupt()
    assert code == 0
    output = demo.output
    assert "ana.costa@lumen.example / ana" in output  # the demo people, with their passwords
    assert "The demo OpenID provider has stopped." in output
    with pytest.raises(httpx.TransportError):
        httpx.get(issuer + "/.well-known/openid-configuration", timeout=5)
    assert (tmp_path / "var" / "demo.db").is_file()


def test_import_of_a_hostile_or_unreadable_file_says_why(config_file: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 5000)
    refused = invoke("config", "import", str(deep), "--config", str(config_file))
    assert refused.exit_code == 1, refused.output
    assert "Nothing was imported" in refused.stderr
    assert f"{deep}: refused: nested deeper than 32 levels" in refused.stderr
    directory = invoke("config", "import", str(tmp_path), "--config", str(config_file))
    assert directory.exit_code != 0 and "Traceback" not in directory.output
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    not_text = invoke("config", "import", str(binary), "--config", str(config_file))
    assert not_text.exit_code == 1 and f"{binary}: not a text file" in not_text.stderr
