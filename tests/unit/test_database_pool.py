"""Each worker's PostgreSQL pool follows `database_pool_size`, so that instances times workers times pool stays
under the server's connection limit (the topology's 3 instances of 2 workers once exceeded PostgreSQL's 100)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.pool import QueuePool

from deskgate.settings import Settings
from deskgate.store.db import create_engine

SECRET = "a-secret-key-of-at-least-32-characters!"


@pytest.mark.parametrize("size", [1, 5, 12])
def test_the_pool_opens_at_most_the_setting_and_closes_none_after_a_peak(size: int) -> None:
    settings = Settings(
        secret_key=SECRET, database_url="postgresql://deskgate@127.0.0.1/deskgate", database_pool_size=size
    )
    engine = create_engine(settings.sqlalchemy_url, pool_size=settings.database_pool_size)
    pool = engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool._max_overflow) == (size, 0)


def test_the_default_fits_three_instances_of_two_workers_under_postgresqls_default_limit() -> None:
    default = Settings(secret_key=SECRET).database_pool_size
    assert 3 * 2 * default < 100


@pytest.mark.parametrize("size", [0, -1, 101])
def test_a_pool_size_out_of_range_is_refused(size: int) -> None:
    with pytest.raises(ValidationError, match="database_pool_size"):
        Settings(secret_key=SECRET, database_pool_size=size)
