"""Names the aws provider makes for resources whose program sets none, made offline as the provider
makes them (the rows: `conduit_policies.auto_names`), so a check judges the name a real preview
shows, never a made-up one. The random part is derived from the type and name: runs reproduce.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conduit.offline.provider_types import resource_class, settable
from conduit_policies.auto_names import DEFAULT, OVERRIDES, AutoName, override


def rule_for(token: str, inputs: Mapping[str, Any]) -> AutoName | None:
    """How the provider names a resource of this type, or None when it does not."""
    if not token.startswith("aws:"):
        return None
    if token in OVERRIDES:
        return override(token, inputs)
    cls = resource_class(token)
    return DEFAULT if cls is not None and "name" in settable(cls) else None


def with_auto_name(token: str, logical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as the provider's Check returns them: the auto-name added where none is set."""
    rule = rule_for(token, inputs)
    if rule is None or inputs.get(rule.prop) not in (None, "") or inputs.get(f"{rule.prop}Prefix"):
        return dict(inputs)  # named, or named from the program's prefix (the provider's own suffix)
    return {**inputs, rule.prop: rule.make(logical, inputs, f"{token}::{logical}")}
