"""Deskgate's app with its sign-in callback profiled by pyinstrument: `bench/run.py --profile DIR`.

Each worker profiles every callback request (async mode: the time a request spends awaiting the IdP or
the database is charged to the line that awaited), adds them up, and writes the sum as text to
DIR/callback-<pid>.txt when the server stops (and every 50 callbacks, in case it is killed). Everything
else the worker serves runs as usual. pyinstrument is not a project dependency: run the benchmark with
`uv run --with pyinstrument python bench/run.py --profile DIR`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from pyinstrument.frame import Frame
from pyinstrument.session import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from deskgate.services import CALLBACK_PATH
from deskgate.web.asgi import app_from_environment

PROFILE_DIR_ENV = "DESKGATE_BENCH_PROFILE_DIR"
WRITE_EVERY = 50


class CallbackProfiler:
    def __init__(self, app: ASGIApp, out: Path) -> None:
        self.app = app
        self.out = out
        self.session: Session | None = None
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._writing_at_shutdown(send))
            return
        if scope["type"] != "http" or scope["path"] != CALLBACK_PATH:
            await self.app(scope, receive, send)
            return
        profiler = Profiler(interval=0.0002, async_mode="enabled")
        profiler.start()
        try:
            await self.app(scope, receive, send)
        finally:
            session = profiler.stop()
            self.session = session if self.session is None else Session.combine(self.session, session)
            self.count += 1
            if self.count % WRITE_EVERY == 0:
                self.write()

    def _writing_at_shutdown(self, send: Send) -> Send:
        async def wrapped(message: Any) -> None:
            if message.get("type") == "lifespan.shutdown.complete":
                self.write()
            await send(message)

        return wrapped

    def write(self) -> None:
        if self.session is None or (root := self.session.root_frame()) is None:
            return
        lines = [f"{self.count} callbacks; ms per callback, Deskgate's own frames (library frames folded in)"]
        lines += summary(root, self.count)
        (self.out / f"callback-{os.getpid()}.txt").write_text("\n".join(lines) + "\n")
        self.session.save(str(self.out / f"callback-{os.getpid()}.pyisession"))  # `pyinstrument --load`


def _own(frame: Frame) -> bool:
    return "/deskgate/" in (frame.file_path or "")


def summary(frames: Frame | list[Frame], count: int, depth: int = 0, max_depth: int = 7) -> list[str]:
    """The tree of Deskgate's frames (a library frame's children are lifted to its place), with the
    time of each per callback; the first Deskgate frame below the root starts the tree. The same function
    reached along different paths (a callback under one task of the server, the next under another) is
    one line: its frames are added up, and so are their children."""
    lines: list[str] = []
    groups: dict[tuple[str, str, int], list[Frame]] = {}
    for frame in frames if isinstance(frames, list) else [frames]:
        for child in _own_children(frame):
            groups.setdefault((child.function, child.file_path or "?", child.line_no or 0), []).append(child)
    for (function, file_path, line_no), group in sorted(groups.items(), key=lambda g: -_time(g[1])):
        ms = _time(group) * 1000 / count
        if ms < 0.05:
            continue
        awaited = sum(_time(_lib_leaves(f)) for f in group) * 1000 / count
        note = f"  (of which {awaited:.2f} in libraries)" if awaited >= 0.05 else ""
        lines.append(f"{'  ' * depth}{ms:6.2f}  {function}  {Path(file_path).name}:{line_no}{note}")
        if depth < max_depth:
            lines += summary(group, count, depth + 1, max_depth)
    return lines


def _time(frames: list[Frame]) -> float:
    return sum(f.time for f in frames)


def _own_children(frame: Frame) -> list[Frame]:
    found: list[Frame] = []
    for child in frame.children:
        found += [child] if _own(child) else _own_children(child)
    return found


def _lib_leaves(frame: Frame) -> list[Frame]:
    """The outermost library frames directly under `frame` (the time it spends outside Deskgate)."""
    return [c for c in frame.children if not _own(c)]


def app() -> CallbackProfiler:
    out = Path(os.environ[PROFILE_DIR_ENV])
    out.mkdir(parents=True, exist_ok=True)
    return CallbackProfiler(app_from_environment(), out)
