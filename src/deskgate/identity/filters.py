"""User filters: who may get in through one IdP (data the admin edits)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class ClaimRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    effect: Literal["allow", "deny"]
    claim: str  # "groups" (the mapped groups) or any dotted claim path
    match: Literal["exact", "regex"] = "exact"
    value: str


class FilterRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    require_email_verified: bool = False
    claim_rules: tuple[ClaimRule, ...] = ()
