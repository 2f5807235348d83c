"""The SP's own keys on SQLite and PostgreSQL: created once however many workers race for it, stored
encrypted, rotated with an overlap the metadata shows, every change audited; and the CLI over them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from sqlalchemy import select
from typer.testing import CliRunner

from deskgate.audit import AuditLog
from deskgate.cli import app
from deskgate.crypto import SecretBox
from deskgate.errors import NotFound
from deskgate.identity.saml.keys import SpKeys
from deskgate.identity.saml.metadata import sp_metadata
from deskgate.identity.saml.settings import ServiceProvider
from deskgate.identity.saml.xml import NS
from deskgate.store.models import SamlSpKeyRow
from tests.saml.hostile_idp import HostileIdp
from tests.support.databases import migrated

SP = ServiceProvider.for_idp("https://desk.example.com", "corp")
BOX = SecretBox("a-secret-key-for-the-sp-key-tests-0123456789")


def published_certificates(metadata: bytes, use: str) -> list[str]:
    root = etree.fromstring(metadata)
    return [
        str(cert.text)
        for descriptor in root.findall("md:SPSSODescriptor/md:KeyDescriptor", NS)
        if descriptor.get("use") == use
        for cert in descriptor.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    ]


@pytest.mark.anyio
async def test_racing_workers_create_one_key(db_url: str) -> None:
    async with migrated(db_url) as sessions:
        workers = [SpKeys(sessions, BOX, key_size=2048) for _ in range(5)]  # five processes starting
        keys = await asyncio.gather(*(worker.current() for worker in workers))
        assert len({key.id for key in keys}) == 1
        async with sessions() as db:
            rows = (await db.scalars(select(SamlSpKeyRow))).all()
        assert [(row.state, row.slot) for row in rows] == [("current", "current")]
        # Every worker signs with the key that won, whichever one it generated itself.
        winner = keys[0].private_key.public_key().public_numbers()
        assert all(k.private_key.public_key().public_numbers() == winner for k in keys)


@pytest.mark.anyio
async def test_the_private_key_is_stored_encrypted(db_url: str) -> None:
    async with migrated(db_url) as sessions:
        key = await SpKeys(sessions, BOX, key_size=2048).current()
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        async with sessions() as db:
            row = await db.get(SamlSpKeyRow, key.id)
        assert row is not None
        assert "PRIVATE KEY" not in row.private_key_encrypted
        assert all(line not in row.private_key_encrypted for line in pem.splitlines()[1:-1])
        assert BOX.decrypt(row.private_key_encrypted) == pem
        # Another process with the same secret key reads it back; with another secret key it cannot.
        assert (await SpKeys(sessions, BOX).current()).certificate_pem == key.certificate_pem
        with pytest.raises(ValueError, match="wrong secret key"):
            await SpKeys(sessions, SecretBox("another-secret-key-0123456789-abcdefgh")).current()


@pytest.mark.anyio
async def test_rotation_keeps_both_certificates_published(db_url: str) -> None:
    idp = HostileIdp(SP).settings()
    async with migrated(db_url) as sessions:
        audit = AuditLog(sessions)
        keys = SpKeys(sessions, BOX, audit=audit, key_size=2048)
        old = await keys.current()
        with pytest.raises(NotFound):
            await keys.promote()  # nothing to promote yet
        following = await keys.rotate()
        with pytest.raises(ValueError, match="exists already"):
            await keys.rotate()

        # Announced: both published for signing and encryption, the old one still signs.
        assert [k.id for k in await keys.published()] == [old.id, following.id]
        metadata = sp_metadata(SP, idp, await keys.published())
        for use in ("signing", "encryption"):
            assert published_certificates(metadata, use) == [
                old.certificate_base64,
                following.certificate_base64,
            ]
        assert (await keys.current()).id == old.id

        # Promoted: the new one signs, the old one retires but still decrypts and is still published.
        assert (await keys.promote()).id == following.id
        assert (await keys.current()).id == following.id
        published = await keys.published()
        assert [(k.id, k.state) for k in published] == [(following.id, "current"), (old.id, "retiring")]
        with pytest.raises(NotFound):
            await keys.retire(following.id)  # the current key cannot be retired

        # Retired: gone from the metadata and from decryption.
        assert (await keys.retire(old.id)).state == "retired"
        assert [k.id for k in await keys.published()] == [following.id]
        metadata = sp_metadata(SP, idp, await keys.published())
        assert published_certificates(metadata, "encryption") == [following.certificate_base64]
        assert [k.state for k in await keys.all()] == ["retired", "current"]

        events = [e.event for e in await audit.query()]
        assert sorted(events) == sorted(
            [
                "admin.saml_keys.create",
                "admin.saml_keys.rotate",
                "admin.saml_keys.promote",
                "admin.saml_keys.retire",
            ]
        )


def test_the_cli_rotates_promotes_and_retires(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {
        "DESKGATE_SECRET_KEY": "cli-secret-key-0123456789-abcdefghijklmnop",
        "DESKGATE_DATABASE_URL": f"sqlite:///{tmp_path}/deskgate.db",
    }

    def ids(state: str) -> list[str]:
        listed = runner.invoke(app, ["saml", "keys", "list"], env=env)
        assert listed.exit_code == 0, listed.output
        return [line.split()[0] for line in listed.output.splitlines()[1:] if line.split()[1] == state]

    first = ids("current")
    assert len(first) == 1
    assert runner.invoke(app, ["saml", "keys", "promote"], env=env).exit_code == 1  # no next key
    rotated = runner.invoke(app, ["saml", "keys", "rotate"], env=env)
    assert rotated.exit_code == 0 and "added as next" in rotated.output
    assert runner.invoke(app, ["saml", "keys", "rotate"], env=env).exit_code == 1  # one next at a time
    following = ids("next")
    assert runner.invoke(app, ["saml", "keys", "promote"], env=env).exit_code == 0
    assert ids("current") == following and ids("retiring") == first
    assert runner.invoke(app, ["saml", "keys", "retire", following[0]], env=env).exit_code == 1
    assert runner.invoke(app, ["saml", "keys", "retire", first[0]], env=env).exit_code == 0
    assert ids("retired") == first
    audit = runner.invoke(app, ["audit"], env=env)
    assert "admin.saml_keys.retire" in audit.output, audit.output
