"""`Recent`: values for `ttl` seconds, at most `limit` keys, the key stored longest ago dropped first."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskgate.portal.recent import Found, Recent


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_served_until_its_ttl_and_never_after() -> None:
    clock = Clock()
    recent: Recent[str, int] = Recent(5.0, monotonic=clock)
    recent.put("a", 1)
    clock.now += 4.99
    assert recent.get("a") == Found(1)
    clock.now += 0.01
    assert recent.get("a") is None
    assert len(recent) == 0  # the expired entry is gone, not kept


def test_none_is_a_value_and_a_miss_is_not() -> None:
    recent: Recent[str, str | None] = Recent(5.0)
    recent.put("no zone chosen", None)
    assert recent.get("no zone chosen") == Found(None)
    assert recent.get("never seen") is None


def test_one_key_past_the_limit_drops_the_one_stored_longest_ago() -> None:
    recent: Recent[str, int] = Recent(60.0, limit=3)
    for key in "abc":
        recent.put(key, ord(key))
    recent.put("a", 0)  # stored again: now the newest
    recent.put("d", 4)
    assert len(recent) == 3
    assert recent.get("b") is None
    assert [recent.get(k) for k in "acd"] == [Found(0), Found(ord("c")), Found(4)]


def test_a_storing_again_renews_the_ttl() -> None:
    clock = Clock()
    recent: Recent[str, int] = Recent(5.0, monotonic=clock)
    recent.put("a", 1)
    clock.now += 4
    recent.put("a", 2)
    clock.now += 4
    assert recent.get("a") == Found(2)


@pytest.mark.parametrize(("ttl", "limit"), [(-1, 10), (5, 0)])
def test_a_negative_ttl_or_no_room_is_refused(ttl: float, limit: int) -> None:
    with pytest.raises(ValueError, match="ttl of 0 or more"):
        Recent(ttl, limit=limit)


def test_a_ttl_of_zero_serves_nothing_and_a_discarded_key_is_gone() -> None:
    clock = Clock()
    never: Recent[str, int] = Recent(0, monotonic=clock)
    never.put("a", 1)
    assert never.get("a") is None
    recent: Recent[str, int] = Recent(5.0, monotonic=clock)
    recent.put("a", 1)
    recent.put("b", 2)
    recent.discard("a")
    recent.discard("never stored")
    assert (recent.get("a"), recent.get("b"), len(recent)) == (None, Found(2), 1)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, 6), st.integers()),
        st.tuples(st.just("get"), st.integers(0, 6), st.just(0)),
        st.tuples(st.just("wait"), st.integers(0, 4), st.just(0)),
    ),
    max_size=60,
)


@given(operations, st.integers(1, 4))
def test_it_answers_as_a_plain_model_of_ttl_and_limit_would(
    steps: list[tuple[str, int, int]], limit: int
) -> None:
    """Against a model: the last `limit` keys stored (by the time they were last stored), each for 3 s."""
    clock = Clock()
    recent: Recent[int, int] = Recent(3.0, limit=limit, monotonic=clock)
    stored: dict[int, tuple[float, int]] = {}  # key → (stored at, value)
    order: list[int] = []  # keys by when last stored, oldest first
    for op, key, value in steps:
        if op == "wait":
            clock.now += key
        elif op == "put":
            recent.put(key, value)
            stored[key] = (clock.now, value)
            order = [k for k in order if k != key] + [key]
            while len(order) > limit:
                stored.pop(order.pop(0))
        else:
            expected = stored.get(key)
            live = expected is not None and clock.now < expected[0] + 3.0
            assert recent.get(key) == (Found(expected[1]) if live and expected else None)
            if not live and key in stored:
                del stored[key]
                order.remove(key)
        assert len(recent) <= limit
