"""Attribute mapping: which claims become Deskgate's internal attributes (data the admin edits)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ClaimPaths = tuple[str, ...]


class AttributeMapping(BaseModel):
    """Per internal attribute, the ordered candidate claim paths (dotted for nested claims)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: ClaimPaths = ("email",)
    email_verified: ClaimPaths = ("email_verified",)
    first_name: ClaimPaths = ("given_name",)
    last_name: ClaimPaths = ("family_name",)
    display_name: ClaimPaths = ("name",)
    groups: ClaimPaths = ("groups",)
    organization: ClaimPaths = ()
    extra: dict[str, ClaimPaths] = Field(default_factory=dict)
