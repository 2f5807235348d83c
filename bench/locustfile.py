"""Locust's simulated customers of the portal (run by bench/load.py; also `locust -f bench/locustfile.py`).

Each simulated user is its own customer of the topology's OpenID provider (`customer<N>`, N from
DESKGATE_LOAD_FIRST_CUSTOMER up) and signs in for real when it starts: Deskgate's redirect, the provider's
login form, the callback. Then it browses the portal (help center, knowledge base search, my requests, a
request's page), raises up to CREATES requests and comments on them up to COMMENTS times: well under the
per-customer limits (10 requests an hour, 30 comments in 10 minutes), which refuse bursts with 429. A 429
from those limits is counted apart (`LIMITED`), not as an error: it is the product refusing on purpose.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import secrets
from collections import Counter
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from locust import FastHttpUser, between, task

FIRST_VISIT = (
    "help_center",
    "raise_request",
    "request_page",
    "comment",
    "knowledge_base_search",
    "my_requests",
)
LATER = {  # then pages at random, by weight
    "help_center": 4, "knowledge_base_search": 2, "my_requests": 3, "request_page": 3, "raise_request": 1,
    "comment": 1,
}  # fmt: skip

CREATE = "/portal/1/create/1"
CREATES = 2  # requests raised per customer at most
COMMENTS = 4  # comments per customer at most
LIMITED: Counter[str] = Counter()  # 429s of the product's own rate limits, by page
CREATED: Counter[str] = Counter()  # "requests": raised and answered 303, warm-up included
SIGN_INS: Counter[str] = Counter()  # "done" and "failed": how many users have finished signing in
_numbers = itertools.count(int(os.environ.get("DESKGATE_LOAD_FIRST_CUSTOMER", "101")))
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_KEY = re.compile(r"/portal/requests/([A-Z][A-Z0-9]*-\d+)")


def start_numbering(first: int) -> None:
    """The next simulated user is customer<first> (each run its own customers: their limits are fresh)."""
    global _numbers
    _numbers = itertools.count(first)


class _LoginForm(HTMLParser):
    """The provider's login form: its action and hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        elif tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")


class Customer(FastHttpUser):
    """One customer. FastHttpUser (geventhttpclient) rather than HttpUser (requests): Locust shares the
    machine with what it measures, and this client costs it several times less CPU per request."""

    wait_time = between(1.5, 3.5)
    max_redirects = 0  # every redirect is followed by hand (`_through`), as a browser's would be seen

    def on_start(self) -> None:
        self.number = next(_numbers)
        self.keys: list[str] = []
        self.created = self.commented = 0
        self.csrf = ""
        self.plan = list(FIRST_VISIT)  # every page once first: a short run still covers them all
        SIGN_INS["ok" if self._sign_in(f"customer{self.number}") else "failed"] += 1

    def _sign_in(self, login: str) -> bool:
        # Deskgate sends the browser to the provider (HAProxy, then the provider's login form).
        page, url = self._through("GET", "/account", "sign-in: to the IdP")
        form = _LoginForm()
        form.feed(page.text or "")
        if page.status_code != 200 or form.action is None or "password" not in form.fields:
            return self._failed("sign-in: to the IdP", f"no login form ({page.status_code})")
        action = url if not form.action else urljoin(url, form.action)
        data = form.fields | {"login": login, "password": login}
        back, _ = self._through("POST", action, "sign-in: IdP form, callback", data)
        if back.status_code != 200 or f"{login}@topology.example" not in (back.text or ""):
            return self._failed("sign-in: IdP form, callback", f"not signed in ({back.status_code})")
        return True

    def _through(
        self, method: str, url: str, name: str, data: dict[str, str] | None = None
    ) -> tuple[Any, str]:
        """The last answer of a redirect chain and its URL: the first request is counted under `name`,
        the redirects after it under "sign-in: redirects" (FastHttpUser would name a chain by its first URL,
        and the provider's form is relative to the last one)."""
        url = urljoin(self.host or "", url)
        response = self.client.request(method, url, name=name, data=data, allow_redirects=False)
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                break
            url = urljoin(url, (response.headers or {}).get("location", ""))
            response = self.client.get(url, name="sign-in: redirects", allow_redirects=False)
        return response, url

    def _failed(self, name: str, why: str) -> bool:
        self.environment.events.request.fire(
            request_type="CHECK", name=name, response_time=0, response_length=0, exception=Exception(why),
            context={},
        )  # fmt: skip
        return False

    @task
    def step(self) -> None:
        weights = list(LATER.values())
        name = self.plan.pop(0) if self.plan else random.choices(list(LATER), weights)[0]  # noqa: S311 - not a secret
        getattr(self, name)()

    def help_center(self) -> None:
        self._page("/portal", "help center")

    def knowledge_base_search(self) -> None:
        self._page("/portal?q=password", "knowledge base search")

    def my_requests(self) -> None:
        page = self._page("/portal/requests", "my requests")
        if page is not None:
            self.keys = sorted(set(self.keys) | set(_KEY.findall(page)))

    def request_page(self) -> None:
        if self.keys:
            page = self._page(f"/portal/requests/{secrets.choice(self.keys)}", "request page")
            if page is not None:
                self.csrf = _csrf(page) or self.csrf

    def raise_request(self) -> None:
        if self.created >= CREATES:
            return self.my_requests()
        form = self._page(CREATE, "create form")
        if form is None:
            return None
        self.csrf = _csrf(form) or self.csrf
        self.created += 1
        data = {
            "csrf_token": _csrf(form),
            "summary": f"Laptop {self.number}-{self.created} will not start",
            "description": "Raised by the load test.",
        }
        with self.client.post(
            CREATE, data=data, name="create", allow_redirects=False, catch_response=True
        ) as sent:
            if self._judge(sent, "create", 303):
                CREATED["requests"] += 1
            key = _KEY.search((sent.headers or {}).get("location", ""))  # no headers: the connection failed
            if key:
                self.keys.append(key.group(1))
        return None

    def comment(self) -> None:
        if not self.keys or not self.csrf or self.commented >= COMMENTS:
            return self.request_page()
        self.commented += 1
        key = secrets.choice(self.keys)
        data = {"csrf_token": self.csrf, "body": f"Still broken ({self.commented})."}
        path = f"/portal/requests/{key}/comment"
        with self.client.post(
            path, data=data, name="comment", allow_redirects=False, catch_response=True
        ) as sent:
            self._judge(sent, "comment", 303)
        return None

    def _page(self, path: str, name: str) -> str | None:
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as page:
            return page.text if self._judge(page, name, 200) else None

    def _judge(self, response: Any, name: str, expected: int) -> bool:
        if response.status_code == expected:
            response.success()
            return True
        if response.status_code == 429:  # the product's own limit: correct, counted apart
            LIMITED[name] += 1
            response.success()
            return False
        response.failure(f"{response.status_code} (expected {expected})")
        return False


def _csrf(page: str) -> str:
    found = _CSRF.search(page)
    return found.group(1) if found else ""
