"""Customer sessions in Redis, for deployments that already run one (`session_store: redis`).

The layout, all under one key prefix (so that several instances, or tests, can share a server):

- ``{prefix}{id_hash}``: one hash per session, expiring by itself at the session's absolute end;
- ``{prefix}subject:…`` and ``{prefix}sid:…``: sets of ids per IdP + subject and per IdP + IdP session id,
  the lookups of `delete_matching` (back-channel and front-channel logout);
- ``{prefix}created`` and ``{prefix}expires``: sorted sets of every id by start and by end, for the
  console's listing and `delete_idp`, and for `purge_expired`;
- ``{prefix}links``: which index sets hold an id, so that the indexes can be cleaned after Redis itself
  expired the record.

Each write is a Lua script, so it is atomic: a session is saved once, and ended once. The scripts find
the index keys inside Redis, so this needs one Redis server (with replicas if wanted), not Redis Cluster.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Unpack

import redis.asyncio as aioredis

from deskgate.crypto import SecretBox, digest
from deskgate.sessions.store import (
    DuplicateSession,
    SessionMatch,
    SessionPage,
    SessionRecord,
    active_page,
    matches,
)

DEFAULT_PREFIX = "deskgate:session:"
LOAD_BATCH = 500  # records read per round trip when the listing goes through every session

# KEYS: record, created, expires, links, index set(s)…  ARGV: id, expires (ms), created score, expires
# score, links value, then field/value pairs.
_SAVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
for i = 5, #KEYS do redis.call('SADD', KEYS[i], ARGV[1]) end
return 1
"""

# KEYS: record, created, expires, links.  ARGV: id.  Returns the record's fields (empty when it had gone).
_REMOVE = """
local fields = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
local links = redis.call('HGET', KEYS[4], ARGV[1])
if links then
  for index in string.gmatch(links, '%S+') do redis.call('SREM', index, ARGV[1]) end
end
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return fields
"""

# KEYS: record.  ARGV: last seen.  HSET alone would bring an ended session back as a bare hash.
_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'last_seen_at', ARGV[1]) end
return 0
"""


def _score(when: datetime) -> int:
    """Microseconds since the epoch: exact in a sorted set's double, unlike float seconds."""
    return int(when.timestamp() * 1_000_000)


class RedisSessionStore:
    """Redis through redis-py's asyncio client; the ID token is encrypted at rest, as in the SQL store."""

    def __init__(self, client: aioredis.Redis, box: SecretBox, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = client
        self._box = box
        self._prefix = prefix
        self._created = prefix + "created"
        self._expires = prefix + "expires"
        self._links = prefix + "links"
        self._save = client.register_script(_SAVE)
        self._remove = client.register_script(_REMOVE)
        self._touch = client.register_script(_TOUCH)

    @classmethod
    def from_url(cls, url: str, box: SecretBox, *, prefix: str = DEFAULT_PREFIX) -> RedisSessionStore:
        """Connects lazily: the first command opens the connection (and reports a Redis that is away)."""
        return cls(aioredis.Redis.from_url(url, decode_responses=True), box, prefix=prefix)

    @classmethod
    async def connect(cls, url: str, box: SecretBox, *, prefix: str = DEFAULT_PREFIX) -> RedisSessionStore:
        """The store, once Redis has answered: a server that is away stops the start, not a first sign-in."""
        store = cls.from_url(url, box, prefix=prefix)
        try:
            await store.ping()
        except BaseException:
            await store.aclose()
            raise
        return store

    async def ping(self) -> None:
        """Raises when Redis does not answer (redis-py's ConnectionError, TimeoutError…)."""
        await self._redis.ping()

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _key(self, id_hash: str) -> str:
        return self._prefix + id_hash

    def _index(self, kind: str, idp: str, value: str) -> str:
        # Hashed: a subject or sid may hold any character, the prefix's separator included.
        return f"{self._prefix}{kind}:{digest(json.dumps([idp, value]))}"

    def _indexes(self, record: SessionRecord) -> list[str]:
        keys = [self._index("subject", record.idp, record.subject)]
        if record.idp_session_id is not None:
            keys.append(self._index("sid", record.idp, record.idp_session_id))
        return keys

    async def save(self, record: SessionRecord) -> None:
        fields: dict[str, str] = {
            "idp": record.idp,
            "subject": record.subject,
            "display_name": record.display_name,
            "created_at": record.created_at.isoformat(),
            "last_seen_at": record.last_seen_at.isoformat(),
            "expires_at": record.expires_at.isoformat(),
            "attributes": json.dumps(record.attributes),
        }
        if record.email is not None:
            fields["email"] = record.email
        if record.idp_session_id is not None:
            fields["idp_session_id"] = record.idp_session_id
        if record.client_ip is not None:
            fields["client_ip"] = record.client_ip
        if record.user_agent is not None:
            fields["user_agent"] = record.user_agent
        if record.id_token:
            fields["id_token"] = self._box.encrypt(record.id_token)
        indexes = self._indexes(record)
        ends_ms = int(record.expires_at.timestamp() * 1000)
        pairs = [item for pair in fields.items() for item in pair]
        saved = await self._save(
            keys=[self._key(record.id_hash), self._created, self._expires, self._links, *indexes],
            args=[
                record.id_hash,
                ends_ms,
                _score(record.created_at),
                _score(record.expires_at),
                " ".join(indexes),
                *pairs,
            ],
        )
        if not saved:
            raise DuplicateSession(record.id_hash[:8])

    def _parse(self, id_hash: str, fields: dict[str, str], *, decrypt: bool = True) -> SessionRecord:
        token = fields.get("id_token")
        return SessionRecord(
            id_hash=id_hash,
            idp=fields["idp"],
            subject=fields["subject"],
            email=fields.get("email"),
            display_name=fields["display_name"],
            created_at=datetime.fromisoformat(fields["created_at"]),
            last_seen_at=datetime.fromisoformat(fields["last_seen_at"]),
            expires_at=datetime.fromisoformat(fields["expires_at"]),
            idp_session_id=fields.get("idp_session_id"),
            attributes=json.loads(fields["attributes"]),
            id_token=self._box.decrypt(token) if token and decrypt else token,
            client_ip=fields.get("client_ip"),
            user_agent=fields.get("user_agent"),
        )

    async def load(self, id_hash: str) -> SessionRecord | None:
        fields: dict[str, str] = await self._redis.hgetall(self._key(id_hash))  # type: ignore[misc]  # redis-py types sync|async
        return self._parse(id_hash, fields) if fields else None

    async def touch(self, id_hash: str, when: datetime) -> None:
        await self._touch(keys=[self._key(id_hash)], args=[when.isoformat()])

    async def delete(self, id_hash: str) -> SessionRecord | None:
        flat: list[str] = await self._remove(
            keys=[self._key(id_hash), self._created, self._expires, self._links], args=[id_hash]
        )
        return self._parse(id_hash, dict(zip(flat[::2], flat[1::2], strict=True))) if flat else None

    async def delete_matching(self, **match: Unpack[SessionMatch]) -> list[SessionRecord]:
        if (sid := match.get("idp_session_id")) is not None:
            index = self._index("sid", match["idp"], sid)
        elif (subject := match.get("subject")) is not None:
            index = self._index("subject", match["idp"], subject)
        else:
            return []
        candidates = sorted(await self._redis.smembers(index))  # type: ignore[misc]  # as above
        ended = []
        for record in await self._load_many(candidates, decrypt=False):
            # The index narrows the search; the rule itself is the one every store shares.
            if not matches(record, match):
                continue
            if (gone := await self.delete(record.id_hash)) is not None:  # None: ended meanwhile elsewhere
                ended.append(gone)
        return ended

    async def delete_idp(self, idp: str) -> list[SessionRecord]:
        """Through every session, as `active` goes: an admin's rare action needs no index of its own to keep
        in step (and would miss no session saved before such an index existed)."""
        ids: list[str] = await self._redis.zrange(self._created, 0, -1)
        ended = []
        for record in await self._load_many(ids, decrypt=False):
            if record.idp == idp and (gone := await self.delete(record.id_hash)) is not None:
                ended.append(gone)
        return ended

    async def purge_expired(self, now: datetime) -> int:
        """Redis has dropped most ended records already; this removes them from the indexes too."""
        expired: list[str] = await self._redis.zrangebyscore(self._expires, "-inf", _score(now))
        for id_hash in expired:
            await self.delete(id_hash)
        return len(expired)

    async def count_unexpired(self, now: datetime) -> int:
        """From the index of ends: records Redis expired but purge_expired has not unlisted yet are past
        `now` there too, so they are not counted."""
        return int(await self._redis.zcount(self._expires, f"({_score(now)}", "+inf"))

    async def _load_many(self, ids: Iterable[str], *, decrypt: bool) -> list[SessionRecord]:
        """The records still there, in the order given (ids whose record Redis expired are left out)."""
        ids = list(ids)
        records = []
        for start in range(0, len(ids), LOAD_BATCH):
            batch = ids[start : start + LOAD_BATCH]
            async with self._redis.pipeline(transaction=False) as pipe:
                for id_hash in batch:
                    pipe.hgetall(self._key(id_hash))
                found: list[dict[str, Any]] = await pipe.execute()
            records += [
                self._parse(id_hash, fields, decrypt=decrypt)
                for id_hash, fields in zip(batch, found, strict=True)
                if fields
            ]
        return records

    async def active(
        self, *, now: datetime, seen_after: datetime, text: str = "", offset: int = 0, limit: int = 50
    ) -> SessionPage:
        # Every live session is read to count the matches; the ID tokens are decrypted for one page only.
        ids: list[str] = await self._redis.zrange(self._created, 0, -1, desc=True)
        records = await self._load_many(ids, decrypt=False)
        page = active_page(records, now=now, seen_after=seen_after, text=text, offset=offset, limit=limit)
        decrypted = [
            dataclasses.replace(r, id_token=self._box.decrypt(r.id_token)) if r.id_token else r
            for r in page.records
        ]
        return SessionPage(decrypted, page.total)
