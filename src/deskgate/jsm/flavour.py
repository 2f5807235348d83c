"""Everything that differs between Jira Cloud and Jira Data Center, in one place.

Each flavour is declarative: names of keys, paths and header values as class attributes, and the few
methods that read or build the JSON that differs. The client asks its flavour and never tests the
deployment type itself.

| what                      | Cloud                                    | Data Center                        |
| ------------------------- | ---------------------------------------- | ---------------------------------- |
| user identifier           | accountId                                | username (`name`)                  |
| POST /customer            | {email, displayName}, strict 409         | {email, fullName}, 400 if it exists |
| add users to desk / org   | {accountIds: [...]}                      | {usernames: [...]}                 |
| user search               | /rest/api/3/user/search?query=           | /rest/api/2/user/search?username=  |
| issue search              | POST /rest/api/3/search/jql (page tokens) | POST /rest/api/2/search (startAt)  |
| issue text fields         | Atlassian Document Format (JSON)         | plain strings (wiki markup)        |
| X-ExperimentalApi         | opt-in                                   | true                               |
| attachment content        | /rest/api/3/attachment/content/{id}?redirect=false | /secure/attachment/{id}/ |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from deskgate.jsm.endpoints import CloudPlatform, DataCenterPlatform, PlatformApi

Deployment = Literal["cloud", "datacenter"]


def adf_text(node: Any) -> str:
    """The plain text of an Atlassian Document Format node: paragraphs and hard breaks become newlines."""
    if isinstance(node, str):
        return node
    if not isinstance(node, Mapping):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    inner = "".join(adf_text(child) for child in node.get("content") or ())
    if kind in ("doc", "bulletList", "orderedList"):
        return inner.rstrip("\n")
    if kind in ("paragraph", "heading", "listItem", "codeBlock", "blockquote"):
        return inner + "\n"
    return inner


class Flavour:
    name: ClassVar[Deployment]
    platform: ClassVar[type[PlatformApi]]  # the platform API's endpoints (`deskgate.jsm.endpoints`)
    experimental_header: ClassVar[str]  # value of X-ExperimentalApi
    user_id_key: ClassVar[str]  # the key of a user object that identifies the user
    customer_name_key: ClassVar[str]  # the display name's key in POST /customer
    customer_ids_key: ClassVar[str]  # the list's key in POST /servicedesk/{id}/customer
    user_search_param: ClassVar[str]  # the query parameter of the platform user search
    create_customer_params: ClassVar[Mapping[str, str]] = {}
    token_paging: ClassVar[bool] = False  # issue search pages with nextPageToken rather than startAt

    def user_id(self, user: Mapping[str, Any]) -> str:
        return str(user.get(self.user_id_key) or "")

    def create_customer_body(self, email: str, display_name: str) -> dict[str, str]:
        return {"email": email, self.customer_name_key: display_name}

    def add_customers_body(self, user_ids: Sequence[str]) -> dict[str, list[str]]:
        return {self.customer_ids_key: list(user_ids)}

    def is_customer_conflict(self, status: int, error_message: str) -> bool:
        """Whether a failed POST /customer means "a customer with this e-mail exists already"."""
        return status == 409 or (status == 400 and "exist" in error_message.lower())

    def attachment_content_query(self) -> dict[str, str]:
        """The query of the attachment content call (Cloud's asks for the bytes instead of a redirect)."""
        return {}

    def search_body(
        self, jql: str, fields: Sequence[str], max_results: int, *, start_at: int, token: str | None
    ) -> dict[str, Any]:
        return {"jql": jql, "fields": list(fields), "maxResults": max_results, "startAt": start_at}

    def search_next(self, answer: Mapping[str, Any], start_at: int) -> tuple[str | None, bool]:
        """(next page token, is last page) after one page of issue search results."""
        issues = answer.get("issues") or []
        total = int(answer.get("total") or 0)
        return None, not issues or start_at + len(issues) >= total

    def text(self, value: Any) -> str:
        """The plain text of an issue's text field as the platform search returns it."""
        return value if isinstance(value, str) else ""


class CloudFlavour(Flavour):
    name = "cloud"
    platform = CloudPlatform
    experimental_header = "opt-in"
    user_id_key = "accountId"
    customer_name_key = "displayName"
    customer_ids_key = "accountIds"
    user_search_param = "query"
    token_paging = True
    # Without it, Cloud answers 400 for an existing e-mail, like any other invalid input.
    create_customer_params: ClassVar[Mapping[str, str]] = {"strictConflictStatusCode": "true"}

    def attachment_content_query(self) -> dict[str, str]:
        return {"redirect": "false"}

    def search_body(
        self, jql: str, fields: Sequence[str], max_results: int, *, start_at: int, token: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": max_results}
        if token:
            body["nextPageToken"] = token
        return body

    def search_next(self, answer: Mapping[str, Any], start_at: int) -> tuple[str | None, bool]:
        token = answer.get("nextPageToken")
        is_last = bool(answer.get("isLast", not token))
        return (str(token) if token and not is_last else None), is_last or not token

    def text(self, value: Any) -> str:
        return adf_text(value)


class DataCenterFlavour(Flavour):
    name = "datacenter"
    platform = DataCenterPlatform
    experimental_header = "true"
    user_id_key = "name"
    customer_name_key = "fullName"
    customer_ids_key = "usernames"
    user_search_param = "username"


CLOUD = CloudFlavour()
DATACENTER = DataCenterFlavour()


def flavour_for(deployment: Deployment) -> Flavour:
    return CLOUD if deployment == "cloud" else DATACENTER
