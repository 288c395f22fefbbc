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
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

Policy = ResourceValidationPolicy | StackValidationPolicy
RUNNING: ContextVar[str] = ContextVar("conduit_policy_running", default="")


@dataclass(frozen=True)
class Rule:
    """A policy as the pack declares it: what it holds, the one thing to do about a finding (`fix`,
    which `conduit check` prints under the policy's findings), and how firmly."""

    name: str
    description: str
    fix: str
    validate: Callable[..., Any]
    stack: bool
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY
    config_schema: PolicyConfigSchema | None = None

    def policy(self) -> Policy:
        """The pulumi-policy object, validating as this rule (see `_as`)."""
        kind = StackValidationPolicy if self.stack else ResourceValidationPolicy
        return kind(name=self.name, description=self.description, validate=_as(self.name, self.validate),
                    enforcement_level=self.enforcement, config_schema=self.config_schema)


def resource_rule(name: str, description: str, fix: str, enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
                  config_schema: PolicyConfigSchema | None = None) -> Callable[[Callable[..., Any]], Rule]:
    """`@resource_rule(...)` on a validator of one resource at a time (or called on a validator made
    by a factory): the validator becomes its policy's one `Rule`."""
    return lambda validate: Rule(name, description, fix, validate, False, enforcement, config_schema)


def stack_rule(name: str, description: str, fix: str, enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
               config_schema: PolicyConfigSchema | None = None) -> Callable[[Callable[..., Any]], Rule]:
    """`@stack_rule(...)` on a validator of the whole stack's resources: as `resource_rule`."""
    return lambda validate: Rule(name, description, fix, validate, True, enforcement, config_schema)


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


def register(*groups: Iterable[Rule]) -> list[Rule]:
    """The rules of `groups`, in order; a name used twice, or a rule without a fix, is refused."""
    registered: list[Rule] = []
    for rule in (r for group in groups for r in group):
        if any(r.name == rule.name for r in registered):
            raise ValueError(f"policy name {rule.name!r} is registered twice")
        if not rule.fix.strip():
            raise ValueError(f"policy {rule.name!r} has no fix: say what to do about a finding")
        registered.append(rule)
    return registered


def running() -> str:
    """The name of the policy whose validator is running ("" outside one)."""
    return RUNNING.get()
