"""Least privilege judged as an attacker reads it: what a principal can reach with everything it
holds, not statement by statement.

- Privilege escalation: the published methods (Rhino Security Labs' catalogue, which cloudsplaining
  and policy_sentry's audit data follow), each a row of actions that together let the holder gain
  more than it was given: new policy versions, attaching or writing policies, credentials for other
  users, a trust policy rewritten, or iam:PassRole with a service that then runs the passed role.
  Whatever the resources: passing one named role is enough when that role is an administrator's.
  A PassRole limited by `iam:PassedToService` counts only for the services it names.
- Resource exposure: actions that write resource policies or grant permissions (policy_sentry's
  "Permissions management" audit list) on every resource of their type.
- Credentials and data exfiltration: actions that hand out credentials (policy_sentry's list) or
  read secrets, parameters, keys' plaintext and objects, on every resource of their type.

"Every resource of its type" understands wildcards inside ARNs: `function:*`, `secret:*`,
`user/*`, `table/*`, `arn:aws:s3:::*/*`. Actions AWS offers no resource-level permission for are
not findings here (`*` is the only way to grant them).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import policy_sentry
from pulumi_policy import ReportViolation, StackValidationArgs

from conduit_policies.documents import (
    IDENTITY_POLICY_PROPERTIES,
    as_list,
    every_resource_of_type,
    parse_document,
    statements_of,
)
from conduit_policies.graph import StackGraph, value
from conduit_policies.holdings import ROLE, Held, role_holdings, role_sources
from conduit_policies.iam_actions import matching_actions, requires_wildcard_resource, spelled
from conduit_policies.registry import stack_rule
from conduit_policies.unjudged import Unknown, note


@dataclass(frozen=True)
class Method:
    name: str
    actions: tuple[str, ...]  # all needed, lower case
    passed_to: str | None = None  # needs iam:PassRole to this service principal as well
    how: str = ""


# Each row a method of escalation; a new one is a row and its test.
METHODS = [
    Method("CreatePolicyVersion", ("iam:createpolicyversion",),
           how="writes a new default version of a policy it holds"),
    Method("SetDefaultPolicyVersion", ("iam:setdefaultpolicyversion",), how="switches a policy to an older, wider "
                                                                             "version"),
    Method("CreateAccessKey", ("iam:createaccesskey",), how="makes keys for another user"),
    Method("CreateLoginProfile", ("iam:createloginprofile",), how="sets a console password for another user"),
    Method("UpdateLoginProfile", ("iam:updateloginprofile",), how="resets another user's console password"),
    Method("AttachUserPolicy", ("iam:attachuserpolicy",), how="attaches any managed policy to a user"),
    Method("AttachGroupPolicy", ("iam:attachgrouppolicy",), how="attaches any managed policy to a group"),
    Method("AttachRolePolicy", ("iam:attachrolepolicy",), how="attaches any managed policy to a role"),
    Method("PutUserPolicy", ("iam:putuserpolicy",), how="writes any inline policy for a user"),
    Method("PutGroupPolicy", ("iam:putgrouppolicy",), how="writes any inline policy for a group"),
    Method("PutRolePolicy", ("iam:putrolepolicy",), how="writes any inline policy for a role"),
    Method("AddUserToGroup", ("iam:addusertogroup",), how="joins a more privileged group"),
    Method("UpdateAssumeRolePolicy", ("iam:updateassumerolepolicy", "sts:assumerole"),
           how="rewrites a role's trust policy to let itself in, then assumes it"),
    Method("PassRole to EC2", ("ec2:runinstances",), "ec2.amazonaws.com", "starts an instance as the passed role"),
    Method("PassRole to Lambda, invoked", ("lambda:createfunction", "lambda:invokefunction"), "lambda.amazonaws.com",
           "creates a function with the passed role and invokes it"),
    Method("PassRole to Lambda, by event source", ("lambda:createfunction", "lambda:createeventsourcemapping"),
           "lambda.amazonaws.com", "creates a function with the passed role and has an event source run it"),
    Method("PassRole to Lambda, by permission", ("lambda:createfunction", "lambda:addpermission"),
           "lambda.amazonaws.com", "creates a function with the passed role and lets a service invoke it"),
    Method("UpdateFunctionCode", ("lambda:updatefunctioncode",), how="replaces the code of a function that runs "
                                                                       "with its own role"),
    Method("PassRole to Glue", ("glue:createdevendpoint",), "glue.amazonaws.com", "opens a dev endpoint as the role"),
    Method("UpdateDevEndpoint", ("glue:updatedevendpoint",), how="puts its SSH key on an endpoint running as a role"),
    Method("PassRole to CloudFormation", ("cloudformation:createstack",), "cloudformation.amazonaws.com",
           "creates a stack that acts as the passed role"),
    Method("PassRole to Data Pipeline", ("datapipeline:createpipeline", "datapipeline:putpipelinedefinition"),
           "datapipeline.amazonaws.com", "runs a pipeline as the passed role"),
    Method("PassRole to ECS", ("ecs:registertaskdefinition", "ecs:runtask"), "ecs-tasks.amazonaws.com",
           "runs a task as the passed role"),
    Method("PassRole to SageMaker",
           ("sagemaker:createnotebookinstance", "sagemaker:createpresignednotebookinstanceurl"),
           "sagemaker.amazonaws.com", "opens a notebook running as the passed role"),
    Method("PassRole to CodeBuild", ("codebuild:createproject", "codebuild:startbuild"), "codebuild.amazonaws.com",
           "runs a build as the passed role"),
    Method("PassRole to Step Functions", ("states:createstatemachine", "states:startexecution"),
           "states.amazonaws.com", "runs a state machine (with AWS SDK tasks) as the passed role"),
    Method("PassRole to EventBridge Scheduler", ("scheduler:createschedule",), "scheduler.amazonaws.com",
           "schedules any AWS API call as the passed role"),
    Method("SendCommand", ("ssm:sendcommand",), how="runs commands on instances, as their roles"),
]
SELF_ONLY = re.compile(r":user/\$\{aws:username\}$", re.I)  # a user managing its own keys or password

@functools.cache
def _policy_sentry_list(name: str) -> frozenset[str]:
    """One of policy_sentry's audit lists (its data, shipped with the package)."""
    path = Path(policy_sentry.__file__).parent / "shared" / "data" / "audit" / name
    return frozenset(line.strip().lower() for line in path.read_text().splitlines() if ":" in line)


READS_SECRETS = frozenset({"s3:getobject", "s3:getobjectversion", "ssm:getparameter", "ssm:getparameters",
                           "ssm:getparametersbypath", "secretsmanager:getsecretvalue", "kms:decrypt",
                           "dynamodb:scan", "dynamodb:getitem", "dynamodb:query"})


def _statement_matches(statement: dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(fnmatch.fnmatchcase(action, str(a).lower()) for a in as_list(statement["NotAction"]))
    return any(fnmatch.fnmatchcase(action, str(a).lower()) for a in as_list(statement.get("Action")))


def _resources(statement: dict[str, Any]) -> list[str]:
    return ["*"] if "NotResource" in statement else [str(r) for r in as_list(statement.get("Resource"))]


def _denied(statements: list[dict[str, Any]], action: str) -> bool:
    return any(s.get("Effect") == "Deny" and _statement_matches(s, action) and "*" in _resources(s)
               for s in statements)


def _passed_to(statement: dict[str, Any]) -> list[str] | None:
    """The services an iam:PassRole statement may pass to (`iam:PassedToService`); None: any."""
    for operator, keys in (statement.get("Condition") or {}).items():
        if "IfExists" in str(operator) or not isinstance(keys, dict):
            continue
        for key, values in keys.items():
            if key.lower() == "iam:passedtoservice" and str(operator).startswith("String"):
                return [str(v) for v in as_list(values)]
    return None


@dataclass(frozen=True)
class EscalationPath:
    method: Method
    grants: list[tuple[str, list[str], str]]  # (action, resources, source): one grant of each action needed


def escalation_paths(held: list[Held]) -> Iterator[EscalationPath]:
    statements = [h.raw for h in held]

    def grants_of(action: str, service: str | None = None) -> list[tuple[str, list[str], str]]:
        if _denied(statements, action):
            return []
        found = []
        for h in held:
            raw = h.raw
            if raw.get("Effect") != "Allow" or not _statement_matches(raw, action):
                continue
            resources = _resources(raw)
            if action in ("iam:createaccesskey", "iam:createloginprofile", "iam:updateloginprofile") and all(
                    SELF_ONLY.search(r) for r in resources):
                continue  # its own keys or password: no one else's
            if service is not None:
                allowed = _passed_to(raw)
                if allowed is not None and not any(fnmatch.fnmatchcase(service, a) for a in allowed):
                    continue
            found.append((action, resources, h.source))
        return found

    for method in METHODS:
        needed = [grants_of(a) for a in method.actions]
        if method.passed_to:
            needed.append(grants_of("iam:passrole", method.passed_to))
        if all(needed):
            yield EscalationPath(method, [g[0] for g in needed])


def _exposure(held: list[Held], actions: frozenset[str]) -> Iterator[tuple[str, str, str]]:
    """(action, resource, source) of every exposure action granted on every resource of its type."""
    statements = [h.raw for h in held]
    for h in held:
        raw = h.raw
        if raw.get("Effect") != "Allow":
            continue
        broad = [r for r in _resources(raw) if every_resource_of_type(r)]
        if not broad:
            continue
        patterns = ["*"] if "NotAction" in raw else [str(a) for a in as_list(raw.get("Action"))]
        services = {p.split(":", 1)[0].lower() for p in patterns if ":" in p}
        candidates = actions if "*" in patterns else {a for a in actions if a.split(":", 1)[0] in services}
        for action in sorted(candidates):
            if _statement_matches(raw, action) and not _denied(statements, action) and matching_actions(action) \
                    and not requires_wildcard_resource(action):
                yield action, broad[0], h.source


# --- who holds what ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Principal:
    urn: str
    what: str
    held: list[Held]


def principals(args: StackValidationArgs) -> Iterator[Principal]:
    """Every role of the stack with all it holds; every identity document no role of the stack holds
    (a user's, a group's, a policy attached elsewhere), judged alone."""
    graph = StackGraph(args)
    reached: set[str] = set()
    for role in graph.of_type(ROLE):
        try:
            held = role_holdings(graph, role)
        except Unknown as exc:  # listed under the role, whose finding it leaves undecided
            note(role.urn, exc.path if exc.urn == role.urn else f"{exc.path} of {exc.urn.rsplit('::', 1)[-1]}")
            continue
        reached |= role_sources(graph, role)
        yield Principal(role.urn, f"role '{role.name}'", held)
    for resource in graph.of_type(*IDENTITY_POLICY_PROPERTIES):
        if resource.urn in reached:
            continue
        try:
            documents = [value(resource, key) for key in IDENTITY_POLICY_PROPERTIES[resource.resource_type]]
        except Unknown as exc:
            note(exc.urn, exc.path)
            continue
        held = [Held(_parsed(raw), dict(raw), f"{resource.resource_type.split(':')[-1]} '{resource.name}'")
                for document in documents for raw in statements_of(document)]
        yield Principal(resource.urn, f"{resource.resource_type.split(':')[-1]} '{resource.name}'", held)


def _parsed(raw: Any) -> Any:
    return parse_document({"Statement": [raw]})[0]


@stack_rule("iam-no-privilege-escalation",
            "No principal holds, across all its policies, a known privilege-escalation path.",
            "name the roles, policies and users these actions may touch, or split the actions between "
            "principals")
def _escalation(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for principal in principals(args):
        for path in escalation_paths(principal.held):
            how = "; ".join(f"{spelled(action)} on {', '.join(resources)} ({source})"
                            for action, resources, source in path.grants)
            passes = f" passing a role to {path.method.passed_to}" if path.method.passed_to else ""
            report_violation(f"{principal.what} can escalate its privileges ({path.method.name}: it {path.method.how}"
                             f"{passes}): {how}. Remove one of these actions, or give it to a separate role that "
                             "cannot reach the others", principal.urn)


@stack_rule("iam-resource-exposure",
            "No principal may write resource policies or grant permissions on every resource of a type.",
            "name the resources whose policies the principal may write")
def _resource_exposure(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    exposing = _policy_sentry_list("resource-exposure.txt")
    for principal in principals(args):
        for action, resource, source in _exposure(principal.held, exposing):
            report_violation(f"{principal.what} may {spelled(action)} on {resource!r} ({source}): it can rewrite the "
                             "policy or grants of every such resource, opening them to anyone. Name the resources "
                             "it manages", principal.urn)


@stack_rule("iam-data-exfiltration",
            "No principal may read every secret, parameter, key plaintext, object or credential of a type.",
            "name the secrets, parameters, keys or objects the principal reads")
def _exfiltration(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    reading = _policy_sentry_list("credentials-exposure.txt") | READS_SECRETS
    for principal in principals(args):
        for action, resource, source in _exposure(principal.held, reading):
            report_violation(f"{principal.what} may {spelled(action)} on {resource!r} ({source}): every secret, "
                             "credential or object of that kind in the account is readable. Name the ones it reads",
                             principal.urn)


POLICIES = [
    _escalation,
    _resource_exposure,
    _exfiltration,
]
