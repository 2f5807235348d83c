"""CPU per call to JSM on Deskgate's side, httpx's own transport against the aiohttp one:
`python bench/back_channel.py --help`.

The JSM emulator runs in a process of its own on loopback (`deskgate jsm-sandbox`); this process makes the
same call (`JsmClient.request_types`, one page of request types) `--calls` times through each transport in
turn, `--rounds` rounds, and prints the CPU time this process spent per call (the emulator's work is not
counted): what a Deskgate worker spends on each JSM or IdP call. Both clients are `BackChannelClient`s (no
cookies); only the transport differs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import deskgate  # noqa: F401 - only: is the project importable from this Python?
except ImportError:  # a plain `python bench/back_channel.py`: run again with the project's virtualenv
    VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
    if VENV_PYTHON.is_file() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606 - the project's own interpreter
    raise

import argparse
import asyncio
import socket
import statistics
import subprocess
import time

import httpx

from deskgate.jsm import JsmClient, RetryPolicy
from deskgate.jsm.connection import JsmConnection
from deskgate.security.back_channel import AiohttpTransport, BackChannelClient


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise SystemExit(f"the JSM emulator did not answer at {url}")


async def measure(url: str, calls: int, rounds: int) -> None:
    await wait_for(url + "/__emulator__/faults")
    connection = JsmConnection.model_validate(
        {"site_url": url, "deployment": "cloud", "email": "deskgate-bot@example.com",
         "api_token": "emulator-api-token"}
    )  # fmt: skip
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "httpx (httpcore, h11)": httpx.AsyncHTTPTransport(),
        "aiohttp": AiohttpTransport(),
    }
    per_call: dict[str, list[float]] = {name: [] for name in transports}
    clients = {name: BackChannelClient(transport=t, timeout=5.0) for name, t in transports.items()}
    jsm = {name: JsmClient(c, connection, retry=RetryPolicy(max_attempts=1)) for name, c in clients.items()}
    for client in jsm.values():
        await client.request_types("1")  # warm: the connection is open
    for turn in range(rounds):
        for name, client in jsm.items():
            started = time.process_time()
            for _ in range(calls):
                await client.request_types("1")
            per_call[name].append((time.process_time() - started) / calls * 1000)
        print(f"round {turn + 1}: " + "   ".join(f"{n} {v[-1]:.3f} ms" for n, v in per_call.items()))
    for http in clients.values():
        await http.aclose()
    print("CPU per JSM call, median of the rounds:")
    for name, values in per_call.items():
        print(f"  {name:24} {statistics.median(values):.3f} ms")
    base, fast = (statistics.median(v) for v in per_call.values())
    print(f"  aiohttp / httpx          {fast / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500, help="calls per transport and round")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    port = free_port()
    emulator = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "deskgate.cli", "jsm-sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        asyncio.run(measure(f"http://127.0.0.1:{port}", arguments.calls, arguments.rounds))
    finally:
        emulator.terminate()
        emulator.wait(10)


if __name__ == "__main__":
    main()
