"""What every outgoing HTTP call (to JSM, to the IdP) costs beyond the network: httpcore asks which async
library runs (`current_async_library`) several times per request by importing sniffio. Were sniffio not
installed, each of those imports would search sys.path again (~0.1 ms of CPU each; bench/README.md)."""

from __future__ import annotations

import importlib.machinery
from typing import Any

import pytest
from httpcore._synchronization import current_async_library

pytestmark = pytest.mark.anyio


async def test_telling_the_async_library_searches_no_path(monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[str] = []
    find_spec = importlib.machinery.PathFinder.find_spec

    def counting(name: str, *args: Any, **kwargs: Any) -> Any:
        searched.append(name)
        return find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.machinery.PathFinder, "find_spec", counting)
    for _ in range(10):
        assert current_async_library() == "asyncio"
    assert searched == []
