"""Every policy of the pack, registered once: names unique, and each validator run as its policy.

While a validator runs, its policy's name is the current one (a context variable), so a value it
cannot judge is noted under that policy (`unjudged.note`) without the name being written twice. A
stack policy sees the resources by URN, not in the order the program happened to register them (a
preview, or another run, may register them in another order): which resource a finding names, and
what its message lists first, is the same every time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from pulumi_policy import ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy

Policy = ResourceValidationPolicy | StackValidationPolicy
RUNNING: ContextVar[str] = ContextVar("conduit_policy_running", default="")


def _as(name: str, validate: Callable[..., Any]) -> Callable[..., Any]:
    def validator(args: Any, report_violation: Any) -> Any:
        if isinstance(args, StackValidationArgs):
            args.resources = sorted(args.resources, key=lambda resource: resource.urn)
        token = RUNNING.set(name)
        try:
            return validate(args, report_violation)
        finally:
            RUNNING.reset(token)

    return validator


def register(*groups: Iterable[Policy]) -> list[Policy]:
    """The policies of `groups`, in order, each validating as itself; a name used twice is refused."""
    registered: list[Policy] = []
    for policy in (p for group in groups for p in group):
        if any(p.name == policy.name for p in registered):
            raise ValueError(f"policy name {policy.name!r} is registered twice")
        registered.append(type(policy)(name=policy.name, description=policy.description,
                                       validate=_as(policy.name, policy.validate),
                                       enforcement_level=policy.enforcement_level,
                                       config_schema=policy.config_schema))
    return registered


def running() -> str:
    """The name of the policy whose validator is running ("" outside one)."""
    return RUNNING.get()
