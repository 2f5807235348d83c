"""The least a Python relying party can do for a sign-in, for `bench/run.py --floor`.

An ASGI app with no framework, no database and no checks beyond the state: `/login` sends the browser to
the OP, the callback redeems the code (client_secret_post) and asks userinfo over one kept-alive aiohttp
session, then sets an HMAC-signed cookie; `/me` answers 200 with that cookie, 401 without. It validates no
ID token, keeps no session and writes no audit record, so it is not an RP anyone should run: its callback
hop, measured beside Apache + mod_auth_openidc and Deskgate in one run, is a floor under any RP written in
Python on the same server (granian) and the same HTTP client, and shows how much of Deskgate's callback is
Deskgate's own work.

Settings come from the environment: FLOOR_BASE_URL, FLOOR_ISSUER, FLOOR_CLIENT_ID, FLOOR_CLIENT_SECRET.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

import aiohttp

CALLBACK_PATH = "/callback"
COOKIE = "floor_session"
STATE_COOKIE = "floor_state"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class FloorRP:
    def __init__(self) -> None:
        self.base = os.environ["FLOOR_BASE_URL"]
        self.issuer = os.environ["FLOOR_ISSUER"]
        self.client_id = os.environ["FLOOR_CLIENT_ID"]
        self.client_secret = os.environ["FLOOR_CLIENT_SECRET"]
        self.key = hashlib.sha256(self.client_secret.encode()).digest()  # one key for every worker
        self.http: aiohttp.ClientSession | None = None
        self.endpoints: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode())
        cookies = SimpleCookie()
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookies.load(value.decode())
        if path == "/login":
            await self._login(send)
        elif path == CALLBACK_PATH:
            await self._callback(query, cookies, send)
        elif path == "/me":
            morsel = cookies.get(COOKIE)
            good = morsel is not None and self._valid(morsel.value)
            await _answer(send, 200 if good else 401, body=b'{"ok":true}' if good else b"{}")
        else:
            await _answer(send, 404)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
                async with self.http.get(self.issuer + "/.well-known/openid-configuration") as response:
                    self.endpoints = await response.json()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.http is not None:
                    await self.http.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _login(self, send: Send) -> None:
        state = secrets.token_urlsafe(24)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.base + CALLBACK_PATH,
            "scope": "openid email profile",
            "state": state,
            "nonce": secrets.token_urlsafe(24),
        }
        location = self.endpoints["authorization_endpoint"] + "?" + urlencode(params)
        await _answer(send, 302, location=location, cookie=f"{STATE_COOKIE}={state}; Path=/; HttpOnly")

    async def _callback(self, query: dict[str, list[str]], cookies: SimpleCookie, send: Send) -> None:
        state = cookies.get(STATE_COOKIE)
        if state is None or query.get("state") != [state.value] or "code" not in query:
            await _answer(send, 400)
            return
        assert self.http is not None
        form = {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": self.base + CALLBACK_PATH,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        async with self.http.post(self.endpoints["token_endpoint"], data=form) as response:
            tokens = await response.json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        async with self.http.get(self.endpoints["userinfo_endpoint"], headers=headers) as response:
            userinfo = await response.json()
        value = self._sign(str(userinfo["sub"]))
        await _answer(send, 302, location="/me", cookie=f"{COOKIE}={value}; Path=/; HttpOnly")

    def _sign(self, subject: str) -> str:
        payload = subject.encode().hex()
        return payload + "." + hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()

    def _valid(self, value: str) -> bool:
        payload, _, mac = value.partition(".")
        return hmac.compare_digest(mac, hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest())


async def _answer(
    send: Send, status: int, *, location: str = "", cookie: str = "", body: bytes = b""
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if location:
        headers.append((b"location", location.encode()))
    if cookie:
        headers.append((b"set-cookie", cookie.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def app() -> FloorRP:
    """The factory granian calls (`--factory floor:app`)."""
    return FloorRP()
