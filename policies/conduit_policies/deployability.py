"""Will AWS accept this wiring, and deliver through it? Mistakes no mock or emulator shows.

Each policy is a class of defect that passes every offline test and fails on AWS: a service that
cannot use the key of the topic or queue it delivers to, a queue that hides messages for less time
than its consumer may take, a delivery made before the permission that allows it, a name AWS
refuses. Resources are related by URN through the engine's dependencies, so the rules hold where
ARNs are not known yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from conduit_policies.auto_names import DEFAULT, OVERRIDES, AutoName, made_from, override
from conduit_policies.aws_names import NAMED_TYPES, PREFIX_LIMITS, RULES, bucket_problems
from conduit_policies.documents import as_list, statements_of
from conduit_policies.graph import StackGraph, value
from conduit_policies.registry import stack_rule
from conduit_policies.unjudged import Unknown, judged, note

TOPIC, QUEUE = "aws:sns/topic:Topic", "aws:sqs/queue:Queue"
KEY, ALIAS = "aws:kms/key:Key", "aws:kms/alias:Alias"
FUNCTION, PERMISSION = "aws:lambda/function:Function", "aws:lambda/permission:Permission"
QUEUE_POLICY, TOPIC_POLICY = "aws:sqs/queuePolicy:QueuePolicy", "aws:sns/topicPolicy:TopicPolicy"
AWS_MANAGED_KEY = re.compile(r"(^|:)alias/aws/")

# Who publishes on its own behalf, and through which properties it names its destinations.
PUBLISHERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch.amazonaws.com",
                                               ("alarmActions", "okActions", "insufficientDataActions")),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("cloudwatch.amazonaws.com",
                                                     ("alarmActions", "okActions", "insufficientDataActions")),
    "aws:cloudwatch/eventTarget:EventTarget": ("events.amazonaws.com", ("arn", "deadLetterConfig")),
    "aws:s3/bucketNotification:BucketNotification": ("s3.amazonaws.com", ("topics", "queues")),
    "aws:sns/topicSubscription:TopicSubscription": ("sns.amazonaws.com", ("endpoint", "redrivePolicy")),
}


def _grants(document: Any, service: str, action: str) -> bool:
    """Whether a resource or key policy lets AWS service `service` perform `action`."""
    for statement in statements_of(document):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        everyone = principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))
        if not (service in services or everyone):
            continue
        patterns = [str(a) for a in as_list(statement.get("Action"))]
        if any(re.fullmatch(re.escape(p).replace(r"\*", ".*").replace(r"\?", "."), action, re.I) for p in patterns):
            return True
    return False


# --- a service delivering to a topic or queue whose key it cannot use -------------------------

def _key_of(graph: StackGraph, destination: PolicyResource) -> tuple[str | None, PolicyResource | None]:
    """The destination's KMS key: its literal id or alias, and the key resource it was built from."""
    keys = graph.through(destination, "kmsMasterKeyId", KEY, ALIAS)
    resource = keys[0] if keys else None
    if resource is not None and resource.resource_type == ALIAS:
        targets = graph.through(resource, "targetKeyId", KEY)
        resource = targets[0] if targets else None
    literal = value(destination, "kmsMasterKeyId") if not keys else None
    return literal, resource


@stack_rule("service-delivery-key",
            "A service publishing on its own behalf can use the key of the topic or queue it delivers to.",
            "use a customer managed key whose policy lets the service kms:GenerateDataKey* and kms:Decrypt")
def _encrypted_destinations(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    for type_, (service, props) in PUBLISHERS.items():
        for publisher in graph.of_type(type_):
            for prop in props:
                for destination in graph.through(publisher, prop, TOPIC, QUEUE):
                    judged(destination.urn, lambda publisher=publisher, service=service,
                           destination=destination: _judge_key(graph, publisher, service, destination,
                                                               report_violation))


def _judge_key(graph: StackGraph, publisher: PolicyResource, service: str, destination: PolicyResource,
               report_violation: ReportViolation) -> None:
    kind = "topic" if destination.resource_type == TOPIC else "queue"
    literal, key = _key_of(graph, destination)
    if literal and AWS_MANAGED_KEY.search(str(literal)):
        report_violation(
            f"{service} delivers to {kind} '{destination.name}' (from '{publisher.name}'), which is encrypted "
            f"with the AWS-managed key {literal}: its key policy cannot be changed and does not let {service} "
            "use it, so every delivery fails silently. Encrypt the " + kind + " with a customer managed key "
            f"whose policy allows {service} kms:GenerateDataKey* and kms:Decrypt", destination.urn)
    elif key is not None:
        policy = value(key, "policy")
        if not policy:
            report_violation(f"{service} delivers to {kind} '{destination.name}' (from '{publisher.name}'), encrypted "
                             f"with key '{key.name}' whose default key policy admits only the account's own "
                             f"principals: add a statement allowing the service principal {service} "
                             "kms:GenerateDataKey* and kms:Decrypt", key.urn)
            return
        missing = [a for a in ("kms:GenerateDataKey", "kms:Decrypt") if not _grants(policy, service, a)]
        if missing:
            report_violation(f"{service} delivers to {kind} '{destination.name}' (from '{publisher.name}'), but the "
                             f"policy of its key '{key.name}' does not allow {service} {' and '.join(missing)}: "
                             "every delivery fails silently; grant the service principal kms:GenerateDataKey* and "
                             "kms:Decrypt", key.urn)


# --- a queue consumed by a function that may outlive its visibility timeout --------------------

@stack_rule("sqs-visibility-covers-function-timeout",
            "A queue consumed by a function hides messages at least as long as the function may run.",
            "set the queue's visibility_timeout_seconds to six times the function's timeout")
def _visibility_timeouts(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    for mapping in graph.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        for queue in graph.through(mapping, "eventSourceArn", QUEUE):
            for function in graph.through(mapping, "functionName", FUNCTION):
                try:
                    visibility = value(queue, "visibilityTimeoutSeconds")
                    timeout = value(function, "timeout")
                except Unknown as exc:
                    note(exc.urn, exc.path)
                    continue
                visibility = 30 if visibility is None else int(visibility)  # SQS's default
                timeout = 3 if timeout is None else int(timeout)  # Lambda's default
                if visibility < timeout:
                    report_violation(
                        f"queue '{queue.name}' hides a received message for {visibility}s, less than the "
                        f"{timeout}s function '{function.name}' may take: AWS refuses the event source mapping "
                        f"'{mapping.name}'. Set visibility_timeout_seconds to at least {6 * timeout} (six times "
                        "the function's timeout, as AWS recommends)", queue.urn)


# --- deliveries made before the permission that lets the service deliver ----------------------

def _allowing_policies(graph: StackGraph, destination: PolicyResource, service: str) -> tuple[bool, list]:
    """(the destination itself allows `service`, separate policy resources that do)."""
    if destination.resource_type == QUEUE:
        action, policy_type, prop = "sqs:SendMessage", QUEUE_POLICY, "queueUrl"
    else:
        action, policy_type, prop = "sns:Publish", TOPIC_POLICY, "arn"
    inline = _grants(value(destination, "policy"), service, action)
    separate = [p for p in graph.referring(destination, prop, policy_type) if _grants(value(p, "policy"), service,
                                                                                        action)]
    return inline, separate


@stack_rule("delivery-after-permission",
            "Notifications, EventBridge targets and SNS subscriptions come after the permission or "
            "resource policy that lets the service deliver.",
            "make the delivery depend on the permission (depends_on)")
def _delivery_order(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    for notification in graph.of_type("aws:s3/bucketNotification:BucketNotification"):
        for function in graph.through(notification, "lambdaFunctions", FUNCTION):
            permissions = [p for p in graph.referring(function, "function", PERMISSION)
                           if _safe(lambda p=p: value(p, "principal")) in ("s3.amazonaws.com", None)]
            if not permissions:
                report_violation(f"bucket notification '{notification.name}' invokes function '{function.name}', "
                                 "but no lambda.Permission lets s3.amazonaws.com invoke it: AWS refuses the "
                                 "notification; add one with source_arn set to the bucket", notification.urn)
            elif not any(graph.ordered_after(notification, p) for p in permissions):
                report_violation(f"bucket notification '{notification.name}' is not ordered after the permission "
                                 f"'{permissions[0].name}' that lets S3 invoke '{function.name}': made first, it is "
                                 "refused; add depends_on=[the permission]", notification.urn)
        for prop in ("queues", "topics"):
            for destination in graph.through(notification, prop, QUEUE, TOPIC):
                _needs_policy(graph, notification, destination, "s3.amazonaws.com", report_violation)
    for target in graph.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        for prop in ("deadLetterConfig", "arn"):
            for destination in graph.through(target, prop, QUEUE, TOPIC):
                if prop == "arn" and destination.resource_type == TOPIC:
                    continue  # EventBridge publishes to a topic with the topic's default policy's blessing
                _needs_policy(graph, target, destination, "events.amazonaws.com", report_violation)
    for subscription in graph.of_type("aws:sns/topicSubscription:TopicSubscription"):
        if _safe(lambda s=subscription: value(s, "protocol")) != "sqs":
            continue
        for prop in ("endpoint", "redrivePolicy"):
            for destination in graph.through(subscription, prop, QUEUE):
                _needs_policy(graph, subscription, destination, "sns.amazonaws.com", report_violation)


def _safe(read: Any) -> Any:
    try:
        return read()
    except Unknown:
        return None


def _needs_policy(graph: StackGraph, sender: PolicyResource, destination: PolicyResource, service: str,
                  report_violation: ReportViolation) -> None:
    try:
        inline, separate = _allowing_policies(graph, destination, service)
    except Unknown as exc:
        note(exc.urn, exc.path)
        return
    kind = "queue" if destination.resource_type == QUEUE else "topic"
    if not inline and not separate:
        report_violation(f"'{sender.name}' has {service} deliver to {kind} '{destination.name}', but no {kind} "
                         f"policy lets {service} send to it: every delivery is refused and lost. Add a {kind} "
                         f"policy allowing the service principal {service}, limited by aws:SourceArn",
                         destination.urn)
    elif not inline and not any(graph.ordered_after(sender, p) for p in separate):
        report_violation(f"'{sender.name}' is not ordered after the {kind} policy '{separate[0].name}' that lets "
                         f"{service} deliver to '{destination.name}': what arrives in between is lost; add "
                         "depends_on=[the policy]", sender.urn)


# --- a role handed to a service that it does not trust ------------------------------------------

ROLE = "aws:iam/role:Role"
# (resource type, the property its role comes through) -> the service that assumes the role. A
# topic rule's actions each carry a role: every property of a rule is searched (None).
ASSUMED_BY: dict[tuple[str, str | None], str] = {
    ("aws:cloudwatch/eventTarget:EventTarget", "roleArn"): "events.amazonaws.com",
    ("aws:cloudwatch/eventRule:EventRule", "roleArn"): "events.amazonaws.com",
    ("aws:scheduler/schedule:Schedule", "target"): "scheduler.amazonaws.com",
    ("aws:sfn/stateMachine:StateMachine", "roleArn"): "states.amazonaws.com",
    ("aws:pipes/pipe:Pipe", "roleArn"): "pipes.amazonaws.com",
    ("aws:lambda/function:Function", "role"): "lambda.amazonaws.com",
    ("aws:iot/topicRule:TopicRule", None): "iot.amazonaws.com",
    ("aws:iot/roleAlias:RoleAlias", "roleArn"): "credentials.iot.amazonaws.com",
    ("aws:apigateway/account:Account", "cloudwatchRoleArn"): "apigateway.amazonaws.com",
    ("aws:ecs/taskDefinition:TaskDefinition", "executionRoleArn"): "ecs-tasks.amazonaws.com",
    ("aws:ecs/taskDefinition:TaskDefinition", "taskRoleArn"): "ecs-tasks.amazonaws.com",
    ("aws:glue/job:Job", "roleArn"): "glue.amazonaws.com",
    ("aws:codebuild/project:Project", "serviceRole"): "codebuild.amazonaws.com",
    ("aws:iam/instanceProfile:InstanceProfile", "role"): "ec2.amazonaws.com",
}


def _trusts(document: Any, service: str) -> bool:
    """Whether a trust policy lets `service` assume the role (sts:AssumeRole, or every action)."""
    for statement in statements_of(document):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        actions = [str(a) for a in as_list(statement.get("Action"))]
        if (service in services or principal == "*") and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            return True
    return False


@stack_rule("role-trusts-its-service",
            "A role handed to a service (EventBridge target, scheduler, Step Functions, IoT rule, "
            "Lambda, ...) trusts that service.",
            "let the role's trust policy name the service that assumes it")
def _trust_fit(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    for (type_, prop), service in ASSUMED_BY.items():
        for resource in graph.of_type(type_):
            props = [prop] if prop else list(resource.property_dependencies or {})
            for role in {r.urn: r for p in props for r in graph.through(resource, p, ROLE)}.values():
                try:
                    trust = value(role, "assumeRolePolicy")
                except Unknown as exc:
                    note(exc.urn, exc.path)
                    continue
                if trust is None or _trusts(trust, service):
                    continue
                trusted = sorted({s for st in statements_of(trust) if isinstance(st.get("Principal"), dict)
                                  for s in as_list(st["Principal"].get("Service"))}) or ["no service"]
                report_violation(
                    f"{type_.split(':')[-1]} '{resource.name}' has {service} act as role '{role.name}', whose trust "
                    f"policy lets only {', '.join(trusted)} assume it: AWS refuses to assume it and every run or "
                    f"delivery fails. Add {service} as a Principal Service (sts:AssumeRole), limited by "
                    "aws:SourceAccount or aws:SourceArn", resource.urn)


# --- physical names AWS refuses ------------------------------------------------------------------

def _auto_name(resource: PolicyResource) -> tuple[AutoName, str] | None:
    """The provider's naming rule and the name, when the name is one the aws provider made from the
    resource's own name (the program set none)."""
    rule = override(resource.resource_type, resource.props) if resource.resource_type in OVERRIDES else (
        DEFAULT if resource.resource_type.startswith("aws:") else None)
    made = _safe(lambda: value(resource, rule.prop)) if rule else None
    return (rule, made) if isinstance(made, str) and made_from(rule, resource.name, made) else None


def _names(resource: PolicyResource) -> Iterator[str]:
    auto = _auto_name(resource)
    if auto is not None and auto[0].refusal(resource.name):
        yield (f"{auto[0].prop} is left to the aws provider, which refuses to make it: "
               f"{auto[0].refusal(resource.name)}. Shorten the resource name or set {auto[0].prop}")
        return
    made = (f" (made by the aws provider from the resource name '{resource.name}' and "
            f"{auto[0].randlen} random characters; shorten the resource name or set {auto[0].prop})") if auto else ""
    for (type_, prop), kind in NAMED_TYPES.items():
        if resource.resource_type != type_:
            continue
        try:
            name = value(resource, prop)
        except Unknown as exc:
            note(exc.urn, exc.path)
            continue
        if not isinstance(name, str):
            continue
        problems = bucket_problems(name) if kind == "bucket" else RULES[kind].problems(name)
        if kind in ("queue", "topic"):
            fifo = bool(_safe(lambda p=("fifoQueue" if kind == "queue" else "fifoTopic"): value(resource, p)))
            if fifo != name.endswith(".fifo"):
                problems.append("must end in .fifo exactly when the " + kind + " is FIFO")
        for problem in problems:
            yield f"{prop} {name!r} {problem}{made}"
    for (type_, prop), limit in PREFIX_LIMITS.items():
        if resource.resource_type == type_:
            prefix = _safe(lambda p=prop: value(resource, p))
            if isinstance(prefix, str) and len(prefix) > limit:
                yield f"{prop} {prefix!r} is {len(prefix)} characters; the provider adds a suffix, so at most {limit}"


@stack_rule("physical-name-limits",
            "Physical names keep AWS's length and character rules for their resource type.",
            "shorten the name, or leave it out and let the provider make one")
def _physical_names(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for resource in args.resources:
        for problem in _names(resource):
            report_violation(f"{resource.resource_type} '{resource.name}': {problem}; AWS refuses the name",
                             resource.urn)


# Where a name must be unique: per account and region, a bucket's across AWS, an EventBridge rule's
# per bus. A layer's name is shared by its versions; IAM and S3 ignore case.
SHARED_NAMES = {"layer"}
CASELESS = {"role", "bucket"}


def _name_key(resource: PolicyResource, prop: str, kind: str) -> tuple[Any, ...] | None:
    if kind in SHARED_NAMES:
        return None
    try:
        name = value(resource, prop)
    except Unknown as exc:
        note(exc.urn, exc.path)
        return None
    if not isinstance(name, str):
        return None
    bus = (_safe(lambda: value(resource, "eventBusName")) or "default") if kind == "event-rule" else ""
    provider = getattr(resource.provider, "urn", None)  # another provider may be another account or region
    return kind, name.lower() if kind in CASELESS else name, bus, provider


@stack_rule("physical-names-unique",
            "No two resources of a kind share a physical name where AWS wants it unique.",
            "give each resource a name of its own (the stack's name in it keeps stacks apart)")
def _unique_names(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    first: dict[tuple[Any, ...], PolicyResource] = {}
    for resource in args.resources:
        for (type_, prop), kind in NAMED_TYPES.items():
            key = _name_key(resource, prop, kind) if resource.resource_type == type_ else None
            if key is None:
                continue
            if key in first:
                report_violation(f"{resource.resource_type} '{resource.name}': {prop} {key[1]!r} is already the "
                                 f"{kind} name of '{first[key].name}' in this stack; AWS refuses the second "
                                 "(already exists). Give each its own name", resource.urn)
            else:
                first[key] = resource


POLICIES = [
    _encrypted_destinations,
    _visibility_timeouts,
    _delivery_order,
    _trust_fit,
    _physical_names,
    _unique_names,
]
