"""AWS's Serverless Rules (awslabs/serverless-rules) for Pulumi programs: the rules serverless teams
use on CloudFormation, SAM and Terraform, judged on the resources a Pulumi program declares.

The rules the pack already had under other names are mapped in the README (ES1001, ES1007, ES4000,
ES7000, WS1003). Each advisory rule takes a `reason` in the pack config, so a stack that accepts a
finding says why.
"""

from __future__ import annotations

import datetime
import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from conduit_policies.documents import Props, as_list, only, statements_of
from conduit_policies.graph import StackGraph, value
from conduit_policies.registry import Rule, resource_rule, stack_rule
from conduit_policies.unjudged import is_set, judged, known_or_none

FUNCTION = "aws:lambda/function:Function"
REST_STAGE, HTTP_STAGE = "aws:apigateway/stage:Stage", "aws:apigatewayv2/stage:Stage"
ADVISORY = EnforcementLevel.ADVISORY
REASON = PolicyConfigSchema(properties={"reason": {
    "type": "string", "description": "why a stack accepts this rule's findings (with enforcementLevel disabled)"}})


@functools.cache
def runtime_lifecycle() -> dict[str, dict[str, str | None]]:
    """AWS's Lambda runtime lifecycle as cfn-lint (pinned) ships it: deprecated, create-block, successor."""
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or spec.origin is None:
        raise RuntimeError("cfn-lint is not installed: the pack's requirements.txt names it")
    data = Path(spec.origin).parent / "data" / "AdditionalSpecs" / "LmbdRuntimeLifecycle.json"
    return json.loads(data.read_text())


@resource_rule("lambda-deprecated-runtime", "Functions run on runtimes AWS has not deprecated (E2531).",
               "move the function to a runtime AWS still supports")
@only(FUNCTION)
def _deprecated_runtime(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    runtime = Props(args.props).get("runtime")
    life = runtime_lifecycle().get(str(runtime)) if runtime else None
    if not life or not life.get("deprecated"):
        return
    if datetime.date.fromisoformat(str(life["deprecated"])) <= datetime.date.today():
        block = life.get("create-block")
        blocked = f"; AWS blocks creating functions on it from {block}" if block else ""
        successor = f"move to {life['successor']}" if life.get("successor") else "move to a supported runtime"
        report_violation(f"function '{args.name}' runs on {runtime}, deprecated by AWS on {life['deprecated']}"
                         f"{blocked}: it gets no security patches; {successor}")


@stack_rule("sns-subscription-redrive", "SNS subscriptions of every protocol dead-letter to a queue SNS may send "
            "to (ES6000).", "set redrive_policy to a queue whose policy lets sns.amazonaws.com send to it")
def _subscription_redrive(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    for subscription in graph.of_type("aws:sns/topicSubscription:TopicSubscription"):
        def check(subscription: Any = subscription) -> str | None:
            if not is_set(lambda: value(subscription, "redrivePolicy")):
                return "has no redrive_policy: messages SNS cannot deliver are dropped after its retries"
            queues = graph.through(subscription, "redrivePolicy", "aws:sqs/queue:Queue")
            for queue in queues:
                inline = value(queue, "policy")
                separate = graph.referring(queue, "queueUrl", "aws:sqs/queuePolicy:QueuePolicy")
                policies = [value(p, "policy") for p in separate]
                if not any(_lets_sns_send(d) for d in [inline, *policies]):
                    return (f"dead-letters to queue '{queue.name}', whose policy does not let sns.amazonaws.com send "
                            "to it: undeliverable messages are lost anyway")
            return None

        problem = judged(subscription.urn, check)
        if problem:
            protocol = known_or_none(lambda s=subscription: value(s, "protocol")) or "?"
            report_violation(f"SNS subscription '{subscription.name}' ({protocol}) {problem}; give it a redrive_policy "
                             "to an SQS queue whose policy allows sns.amazonaws.com sqs:SendMessage", subscription.urn)


def _lets_sns_send(document: Any) -> bool:
    for statement in statements_of(document):
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        actions = [str(a).lower() for a in as_list(statement.get("Action"))]
        if statement.get("Effect") == "Allow" and ("sns.amazonaws.com" in services or principal == "*") and any(
                a in ("sqs:sendmessage", "sqs:*", "*") for a in actions):
            return True
    return False


@only(FUNCTION)
def _default_memory(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if Props(args.props).get("memorySize") is None:
        report_violation(f"function '{args.name}' is left at Lambda's default 128 MB: set memory_size for what it "
                         "needs (memory also buys CPU)")


@only(FUNCTION)
def _default_timeout(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if Props(args.props).get("timeout") is None:
        report_violation(f"function '{args.name}' is left at Lambda's default 3 s timeout: set timeout for the work "
                         "it does")


@only(FUNCTION)
def _function_tracing(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if (Props(args.props).get("tracingConfig") or {}).get("mode") != "Active":
        report_violation(f"function '{args.name}' has no active X-Ray tracing: set tracing_config mode 'Active'")


@only(REST_STAGE, "aws:sfn/stateMachine:StateMachine")
def _tracing(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props = Props(args.props)
    if args.resource_type == REST_STAGE and not props.get("xrayTracingEnabled"):
        report_violation(f"API Gateway stage '{args.name}' has no X-Ray tracing: set xray_tracing_enabled")
    elif args.resource_type != REST_STAGE and not (props.get("tracingConfiguration") or {}).get("enabled"):
        report_violation(f"state machine '{args.name}' has no X-Ray tracing: set tracing_configuration enabled")


@only("aws:appsync/graphQLApi:GraphQLApi")
def _appsync_tracing(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not Props(args.props).get("xrayEnabled"):
        report_violation(f"AppSync API '{args.name}' has no X-Ray tracing: set xray_enabled")


def _log_retention(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    retained_names, retained_urns = set(), set()
    for group in graph.of_type("aws:cloudwatch/logGroup:LogGroup"):
        if known_or_none(lambda g=group: value(g, "retentionInDays")):
            retained_urns.add(group.urn)
            retained_names.add(known_or_none(lambda g=group: value(g, "name")))
    for function in graph.of_type(FUNCTION):
        def lacks(function: Any = function) -> bool:
            if any(g.urn in retained_urns for g in graph.through(function, "loggingConfig")):
                return False
            logging = value(function, "loggingConfig") or {}
            name = value(function, "name")
            return not ({logging.get("logGroup"), f"/aws/lambda/{name}" if name else None} & retained_names)

        if judged(function.urn, lacks):
            report_violation(f"function '{function.name}' has no log group of its own with a retention: Lambda's "
                             "automatic log group keeps logs forever; declare /aws/lambda/<name> with "
                             "retention_in_days", function.urn)


def _permission_principals(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    principals: dict[str, set[str]] = {}
    names = {}
    for permission in graph.of_type("aws:lambda/permission:Permission"):
        principal = known_or_none(lambda p=permission: value(p, "principal"))
        for function in graph.through(permission, "function", FUNCTION):
            if principal:
                principals.setdefault(function.urn, set()).add(principal)
                names[function.urn] = function.name
    for urn, found in principals.items():
        if len(found) > 1:
            who = ", ".join(sorted(found))
            report_violation(f"function '{names[urn]}' is invoked by {len(found)} principals ({who}): split it, one "
                             "function per trigger, to keep permissions, scaling and failures apart", urn)


def _stage_logging(args: StackValidationArgs, report_violation: ReportViolation, structured: bool) -> None:
    for stage in args.resources:
        if stage.resource_type not in (REST_STAGE, HTTP_STAGE):
            continue

        def problem(stage: Any = stage) -> str | None:
            # Key by key: the log group's ARN is unknown in a preview, that it is set and the format are not.
            if not is_set(lambda stage=stage: value(stage, "accessLogSettings", "destinationArn")):
                return None if structured else "has no access logging: set access_log_settings"
            text = str(value(stage, "accessLogSettings", "format") or "").strip()
            if structured and not (text.startswith("{") and text.endswith("}")):
                return "writes access logs that are not JSON: give access_log_settings a JSON format"
            return None

        found = judged(stage.urn, problem)
        if found:
            report_violation(f"API Gateway stage '{stage.name}' {found}", stage.urn)


def _stage_throttling(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    throttled_rest = set()
    for settings in graph.of_type("aws:apigateway/methodSettings:MethodSettings"):
        if known_or_none(lambda s=settings: (value(s, "settings") or {}).get("throttlingBurstLimit")):
            throttled_rest |= {s.urn for s in graph.through(settings, "stageName", REST_STAGE)}
            throttled_rest.add(f"name:{known_or_none(lambda s=settings: value(s, 'stageName'))}")
    for stage in graph.of_type(REST_STAGE, HTTP_STAGE):
        def unthrottled(stage: Any = stage) -> bool:
            if stage.resource_type == HTTP_STAGE:
                defaults = value(stage, "defaultRouteSettings") or {}
                return not (defaults.get("throttlingBurstLimit") and defaults.get("throttlingRateLimit"))
            return stage.urn not in throttled_rest and f"name:{value(stage, 'stageName')}" not in throttled_rest

        if judged(stage.urn, unthrottled):
            report_violation(f"API Gateway stage '{stage.name}' has no throttling of its own (only the account's "
                             "limit): set default route throttling (HTTP) or method settings (REST)", stage.urn)


def _advisory(name: str, description: str, fix: str, validate: Any, stack: bool = False) -> Rule:
    rule = stack_rule if stack else resource_rule
    return rule(name, description, fix, ADVISORY, REASON)(validate)


POLICIES = [
    _deprecated_runtime,
    _subscription_redrive,
    _advisory("lambda-default-memory", "Functions set their memory size (ES1005).", "set memory_size",
              _default_memory),
    _advisory("lambda-default-timeout", "Functions set their timeout (ES1006).", "set timeout", _default_timeout),
    _advisory("lambda-tracing", "Functions trace with X-Ray (WS1000).", "set tracing_config.mode to Active",
              _function_tracing),
    _advisory("apigateway-stepfunctions-tracing", "REST API stages and state machines trace (WS2001, WS5000).",
              "turn X-Ray tracing on (xray_tracing_enabled, tracing_configuration.enabled)", _tracing),
    _advisory("appsync-tracing", "AppSync APIs trace (WS3000).", "set xray_enabled", _appsync_tracing),
    _advisory("lambda-log-retention", "Each function has its own log group with a retention (WS1004).",
              "declare the function's log group with retention_in_days", _log_retention, stack=True),
    _advisory("lambda-permission-multiple-principals", "A function is invoked by one principal (WS1002).",
              "split the function: one per caller", _permission_principals, stack=True),
    _advisory("apigateway-access-logging", "API stages write access logs (ES2000).", "set access_log_settings",
              lambda args, report: _stage_logging(args, report, structured=False), stack=True),
    _advisory("apigateway-structured-logging", "API stages write JSON access logs (ES2003).",
              "give access_log_settings a JSON format",
              lambda args, report: _stage_logging(args, report, structured=True), stack=True),
    _advisory("apigateway-throttling", "API stages throttle on their own (WS2002).",
              "set the stage's throttling burst and rate limits", _stage_throttling, stack=True),
]

