"""The fault benchmark (`bench/faults.py`) in small: every fault of its mix, on both flavours, and no
customer write lost or doubled, also when the search index lags far longer than Deskgate assumes. The full
run (300 writes) is the benchmark itself."""

from __future__ import annotations

import argparse

import pytest
from bench.faults import run

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
async def test_a_mix_of_faults_loses_nothing_and_doubles_nothing(flavour: str) -> None:
    args = argparse.Namespace(
        writes=60, flavour=flavour, search_lag=20, rounds=40, seed=3, customers=4, database_url=None
    )
    result = await run(args)
    assert result["submitted"] == 60
    assert (result["lost"], result["duplicated"], result["files duplicated"]) == (0, 0, 0)
    assert result["delivered"] == 60


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
async def test_an_index_lagging_far_past_the_policys_search_lag_doubles_nothing(flavour: str) -> None:
    """Jira's index ten minutes behind, Deskgate assuming 20 s: committed creates are found by key."""
    args = argparse.Namespace(
        writes=60,
        flavour=flavour,
        search_lag=600,
        policy_lag=20,
        rounds=40,
        seed=3,
        customers=4,
        database_url=None,
    )
    result = await run(args)
    assert (result["lost"], result["duplicated"], result["files duplicated"]) == (0, 0, 0)
    assert result["delivered"] == 60
