"""The request id middleware, JSON log lines and the metrics settings, without a database."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import sys
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from deskgate.errors import ConfigError
from deskgate.observability import context
from deskgate.observability.logs import (
    JsonFormatter,
    RequestIdFilter,
    configure_logging,
    server_log_config,
)
from deskgate.settings import load_settings
from deskgate.web.request_id import RequestIds
from deskgate.web.security import HideQueryStrings

pytestmark = pytest.mark.anyio
log = logging.getLogger("deskgate.test.observability")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the `deskgate.test` loggers write, as JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("deskgate.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def echo(request: Request) -> JSONResponse:
    log.info("handling %s", request.url.path)
    return JSONResponse(
        {"state": request.state.request_id, "context": context.current_request_id()},
        headers={"X-Request-Id": "set-by-the-route"},  # the middleware's id wins
    )


def client() -> httpx.AsyncClient:
    app = RequestIds(Starlette(routes=[Route("/echo", echo)]))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_each_request_gets_a_new_id_in_state_context_logs_and_the_answer(
    json_lines: io.StringIO,
) -> None:
    async with client() as http:
        first, second = await http.get("/echo"), await http.get("/echo")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert ids[0] != ids[1]
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
    assert first.headers.get_list("x-request-id") == [ids[0]]
    assert first.json() == {"state": ids[0], "context": ids[0]}
    logged = lines(json_lines)
    assert [line["request_id"] for line in logged] == ids
    assert logged[0]["message"] == "handling /echo"
    assert set(logged[0]) == {"time", "level", "logger", "message", "request_id"}
    assert logged[0]["level"] == "INFO" and logged[0]["logger"] == "deskgate.test.observability"
    assert context.current_request_id() is None  # nothing leaks out of the request


@pytest.mark.parametrize(
    "inbound",
    ["0f3c2a9e-7d41-4c8e-9a55-3e1b2c4d5e6f", "7F000001:C2A5_7F000001:1F90_65A1B2C3_0001:2F3A", "abcdef12"],
)
async def test_a_plain_inbound_id_is_kept(inbound: str) -> None:
    async with client() as http:
        answer = await http.get("/echo", headers={"X-Request-Id": inbound})
    assert answer.headers["x-request-id"] == inbound
    assert answer.json()["state"] == inbound


@pytest.mark.parametrize(
    "inbound",
    [
        "short",
        "has space inside",
        "x" * 101,
        'quote"inside-123',
        "-starts-with-dash",
        "semi;colon;12345",
        "é" * 10,
    ],
)
async def test_an_inbound_id_that_is_not_plain_is_replaced(inbound: str) -> None:
    async with client() as http:
        answer = await http.get("/echo", headers={b"X-Request-Id": inbound.encode("utf-8")})
    replaced = answer.headers["x-request-id"]
    assert replaced != inbound and len(replaced) == 16
    assert answer.json()["state"] == replaced


def test_a_json_line_keeps_the_access_logs_redaction_and_the_traceback() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/plugins/servlet/oauth/callback?code=SECRET&state=S", "1.1", 303), None,
    )  # fmt: skip
    assert HideQueryStrings().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert "SECRET" not in json.dumps(line)
    assert line["path"] == "/plugins/servlet/oauth/callback?…"
    assert (line["method"], line["status"], line["client"]) == ("GET", 303, "127.0.0.1:5000")
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("deskgate.web", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
        failed.exc_info = sys.exc_info()
    text = JsonFormatter().format(failed)
    assert "\n" not in text  # one line, whatever the traceback
    assert "ValueError: boom" in json.loads(text)["exception"]


def test_configure_logging_switches_deskgate_to_json_lines() -> None:
    logger = logging.getLogger("deskgate")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    try:
        logger.handlers = []
        configure_logging("INFO", "json")
        (handler,) = logger.handlers
        assert isinstance(handler.formatter, JsonFormatter)
        assert any(isinstance(f, RequestIdFilter) for f in handler.filters)
        configure_logging("INFO", "text")
        assert not isinstance(handler.formatter, JsonFormatter)
    finally:
        logger.handlers, logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


def test_the_servers_json_logging_config_is_valid() -> None:
    assert server_log_config("text") is None
    config = server_log_config("json")
    assert config is not None
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate) for n in names}
    try:
        logging.config.dictConfig(config)
        (handler,) = logging.getLogger("uvicorn.access").handlers
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        for name, (handlers, propagate) in saved.items():
            logging.getLogger(name).handlers, logging.getLogger(name).propagate = handlers, propagate


def test_metrics_and_log_settings_are_checked_with_the_rest() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            secret_key="x" * 40,
            metrics_token="short",
            metrics_allow_networks=["10.0.0.0/8", "not-a-network"],
            log_format="xml",
            trusted_proxies=["nope"],
        )
    problems = "\n".join(caught.value.problems)
    assert "metrics_token: at least 16 characters" in problems
    assert "short" not in problems.replace("metrics_token: at least", "")  # the token is never echoed
    assert "metrics_allow_networks: 'not-a-network' is not an IP address or CIDR range" in problems
    assert "log_format" in problems
    assert "trusted_proxies" in problems
    settings = load_settings(secret_key="x" * 40, metrics_token="t" * 16, metrics_allow_networks=["::1/128"])
    assert settings.log_format == "text"
    assert "t" * 16 not in repr(settings)
