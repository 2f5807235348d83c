"""The SP's own key pairs: one signs AuthnRequests, every published one can decrypt assertions.

A key moves through four states, one way only, so that an IdP that reloads metadata now and then never
holds a certificate we cannot use:

    next      published (IdPs may start encrypting to it), decrypts, does not sign
    current   published, decrypts, signs — exactly one, created on first use
    retiring  published, decrypts (answers already on their way), no longer signs
    retired   kept for the record only: neither published nor used

`rotate` adds a next key, `promote` makes it current (the current one retires), `retire` ends a
retiring key once the IdPs have the new certificate. The private key is stored only encrypted with the
secret key (`deskgate.crypto.SecretBox`); the certificate is public. Workers that start together may
each try to create the first key: the `slot` unique constraint lets one win, the others read its key.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.audit import AuditEvent, AuditLog
from deskgate.crypto import SecretBox
from deskgate.errors import NotFound
from deskgate.store.models import SamlSpKeyRow

KeyState = Literal["next", "current", "retiring", "retired"]
PUBLISHED: tuple[KeyState, ...] = ("next", "current", "retiring")
KEY_SIZE = 3072  # NIST SP 800-57: RSA 3072 for use beyond 2030
LIFETIME = timedelta(days=3650)  # the certificate only carries the key; SAML peers do not check its dates


@dataclass(frozen=True, slots=True)
class SpKey:
    id: str
    state: KeyState
    certificate_pem: str
    private_key: rsa.RSAPrivateKey
    created_at: datetime

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode())

    @property
    def certificate_base64(self) -> str:
        """The certificate as metadata and IdP consoles take it: its DER in base64, one line."""
        return "".join(self.certificate_pem.strip().splitlines()[1:-1])

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def new_key_pair(common_name: str, *, key_size: int = KEY_SIZE) -> tuple[rsa.RSAPrivateKey, str]:
    """A fresh RSA key and a self-signed certificate for it (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM).decode()


class SpKeys:
    """The key pairs in the database. Private keys are decrypted once per process and kept in memory."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        audit: AuditLog | None = None,
        common_name: str = "Deskgate SAML SP",
        key_size: int = KEY_SIZE,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._audit = audit
        self._common_name = common_name
        self._key_size = key_size
        self._private: dict[str, rsa.RSAPrivateKey] = {}

    def _key(self, row: SamlSpKeyRow) -> SpKey:
        private = self._private.get(row.id)
        if private is None:
            loaded = serialization.load_pem_private_key(
                self._box.decrypt(row.private_key_encrypted).encode(), password=None
            )
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise ValueError(f"SAML SP key {row.id} is not an RSA key")
            private = self._private[row.id] = loaded
        state: KeyState = row.state  # type: ignore[assignment]  # the column only ever holds a KeyState
        return SpKey(row.id, state, row.certificate_pem, private, row.created_at)

    def _new_row(self, state: KeyState) -> SamlSpKeyRow:
        key, certificate_pem = new_key_pair(self._common_name, key_size=self._key_size)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        now = datetime.now(UTC)
        row = SamlSpKeyRow(
            id=secrets.token_hex(8),
            state=state,
            slot=state,
            private_key_encrypted=self._box.encrypt(pem),
            certificate_pem=certificate_pem,
            created_at=now,
            changed_at=now,
        )
        self._private[row.id] = key
        return row

    async def _record(self, event: str, key: SpKey, what: str) -> None:
        """Every change of the keys is audited, whoever made it (the first start, the CLI)."""
        if self._audit is not None:
            detail = f"{what}: key {key.id}, certificate SHA-256 {key.fingerprint}"
            await self._audit.record(AuditEvent(event=event, outcome="success", detail=detail))

    async def all(self) -> list[SpKey]:
        """Every key, retired ones included, oldest first."""
        async with self._sessions() as db:
            rows = (await db.scalars(select(SamlSpKeyRow).order_by(SamlSpKeyRow.created_at))).all()
        return [self._key(row) for row in rows]

    async def _in_states(self, states: tuple[KeyState, ...]) -> list[SpKey]:
        async with self._sessions() as db:
            found = select(SamlSpKeyRow).where(SamlSpKeyRow.state.in_(states))
            rows = (await db.scalars(found.order_by(SamlSpKeyRow.created_at))).all()
        return [self._key(row) for row in rows]

    async def current(self) -> SpKey:
        """The signing key, created on first use (safe when several workers ask at once)."""
        for _ in range(3):
            found = await self._in_states(("current",))
            if found:
                return found[0]
            row = await asyncio.to_thread(self._new_row, "current")  # a second or so of CPU
            try:
                async with self._sessions.begin() as db:
                    db.add(row)
            except IntegrityError:
                continue  # another worker created it first: read theirs
            created = self._key(row)
            await self._record("admin.saml_keys.create", created, "first SAML SP key created")
            return created
        raise RuntimeError("no current SAML SP key could be created or read")

    async def published(self) -> list[SpKey]:
        """The keys in the SP's metadata, which are also the keys that may decrypt (current first)."""
        current = await self.current()
        others = [k for k in await self._in_states(PUBLISHED) if k.id != current.id]
        return [current, *others]

    async def rotate(self) -> SpKey:
        """Add the next key; publish the metadata, wait for the IdPs to load it, then `promote`."""
        await self.current()
        if await self._in_states(("next",)):
            raise ValueError("a next key exists already: promote it first")
        row = await asyncio.to_thread(self._new_row, "next")
        try:
            async with self._sessions.begin() as db:
                db.add(row)
        except IntegrityError:
            raise ValueError("a next key exists already: promote it first") from None
        added = self._key(row)
        await self._record("admin.saml_keys.rotate", added, "next SAML SP key added (published, not signing)")
        return added

    async def promote(self) -> SpKey:
        """The next key becomes current; the current one retires (still published, still decrypts)."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as db:
            following = await db.scalar(select(SamlSpKeyRow).where(SamlSpKeyRow.slot == "next"))
            if following is None:
                raise NotFound("there is no next key to promote: rotate first")
            await db.execute(
                update(SamlSpKeyRow)
                .where(SamlSpKeyRow.slot == "current")
                .values(state="retiring", slot=None, changed_at=now)
            )
            moved = await db.execute(
                update(SamlSpKeyRow)
                .where(SamlSpKeyRow.id == following.id, SamlSpKeyRow.slot == "next")
                .values(state="current", slot="current", changed_at=now)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise RuntimeError("the next key changed meanwhile: try again")
            key_id = following.id
        promoted = next(k for k in await self.all() if k.id == key_id)
        await self._record(
            "admin.saml_keys.promote", promoted, "SAML SP key now signs (the previous one retiring)"
        )
        return promoted

    async def retire(self, key_id: str) -> SpKey:
        """A retiring key leaves the metadata and decrypts no more."""
        async with self._sessions.begin() as db:
            moved = await db.execute(
                update(SamlSpKeyRow)
                .where(SamlSpKeyRow.id == key_id, SamlSpKeyRow.state == "retiring")
                .values(state="retired", slot=None, changed_at=datetime.now(UTC))
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise NotFound(f"no retiring key {key_id!r} (only a retiring key can be retired)")
        retired = next(k for k in await self.all() if k.id == key_id)
        await self._record("admin.saml_keys.retire", retired, "SAML SP key retired (unpublished, unused)")
        return retired
