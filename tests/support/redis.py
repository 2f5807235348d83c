"""A throw-away key prefix on the local Redis server, removed with everything under it afterwards.

No Redis answering is a failure, not a skip: dev/setup --tests starts one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

REDIS_URL = os.environ.get("DESKGATE_TEST_REDIS", "redis://127.0.0.1:6379/0")


@asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"deskgate-test:{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
