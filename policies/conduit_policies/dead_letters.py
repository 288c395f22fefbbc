"""Nothing is lost silently: every consumer of a queue, stream, topic or event has somewhere
for what it cannot process to go, and a bound on how often it tries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from conduit_policies.documents import Props, only
from conduit_policies.registry import resource_rule, stack_rule
from conduit_policies.unjudged import is_set, judged, known_or_none

ASYNC_INVOKERS = {"s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "iot.amazonaws.com",
                  "scheduler.amazonaws.com"}


def _resources(args: StackValidationArgs, type_: str) -> Iterator[tuple[Any, Props]]:
    for resource in args.resources:
        if resource.resource_type == type_:
            yield resource, Props(resource.props)


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


# Where each type names a queue that receives what something else could not process.
TERMINAL_REFERENCES: dict[str, tuple[tuple[str, ...], ...]] = {
    "aws:sqs/queue:Queue": (("redrivePolicy", "deadLetterTargetArn"),),
    "aws:sqs/redrivePolicy:RedrivePolicy": (("redrivePolicy", "deadLetterTargetArn"),),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (
        ("destinationConfig", "onFailure", "destination"), ("destinationConfig", "onSuccess", "destination")),
    "aws:lambda/eventSourceMapping:EventSourceMapping": (("destinationConfig", "onFailure", "destinationArn"),),
    "aws:lambda/function:Function": (("deadLetterConfig", "targetArn"),),
    "aws:cloudwatch/eventTarget:EventTarget": (("deadLetterConfig", "arn"),),
    "aws:sns/topicSubscription:TopicSubscription": (("redrivePolicy", "deadLetterTargetArn"),),
    "aws:iot/topicRule:TopicRule": (("errorAction", "sqs", "queueUrl"),),
    "aws:scheduler/schedule:Schedule": (("target", "deadLetterConfig", "arn"),),
}


def _terminal_queues(args: StackValidationArgs) -> tuple[set[str], set[str]]:
    """(URNs, ARNs/URLs) of queues that are themselves where failures go: DLQs and failure destinations.

    Related by URN through the property that names them where the engine recorded it, so a queue
    whose ARN is not known yet (a preview) is still recognised."""
    urns: set[str] = set()
    names: set[str] = set()
    for resource in args.resources:
        for path in TERMINAL_REFERENCES.get(resource.resource_type, ()):
            def read(resource: Any = resource, path: tuple[str, ...] = path) -> Any:
                return Props(resource.props).at(*path)

            if is_set(read):
                names.add(known_or_none(read))
                urns |= {d.urn for d in (resource.property_dependencies or {}).get(path[0], [])
                         if d.resource_type == "aws:sqs/queue:Queue" and d.urn != resource.urn}
    return urns, names


@stack_rule("sqs-dead-letter-queue", "Every queue has a redrive policy unless it is itself a dead-letter target.",
            "set redrive_policy to a dead-letter queue")
def _queues_have_dead_letter_queues(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    terminal_urns, terminal_names = _terminal_queues(args)
    # A DLQ may be set on the queue itself or by a separate aws.sqs.RedrivePolicy resource.
    redriven = {d.urn for r, p in _resources(args, "aws:sqs/redrivePolicy:RedrivePolicy")
                for d in (r.property_dependencies or {}).get("queueUrl", [])}
    redriven_urls = {known_or_none(lambda p=p: p.get("queueUrl")) for _, p in
                     _resources(args, "aws:sqs/redrivePolicy:RedrivePolicy")}

    def lacks_dead_letter_queue(resource: Any, q: Props) -> bool:
        if resource.urn in terminal_urns or resource.urn in redriven:
            return False
        if {q.get("arn"), q.get("url")} & (terminal_names | redriven_urls):
            return False
        return not _json(q.get("redrivePolicy")).get("deadLetterTargetArn")

    for resource, q in _resources(args, "aws:sqs/queue:Queue"):
        if judged(resource.urn, lambda resource=resource, q=q: lacks_dead_letter_queue(
                resource, q)):
            report_violation(f"queue '{resource.name}' has no redrivePolicy: a message its consumer cannot process "
                             "is retried forever or lost; give it a dead-letter queue (infra.blocks.queue.Queue "
                             "does) with a maxReceiveCount", resource.urn)


@stack_rule("lambda-async-failure-destination",
            "A function invoked asynchronously has a DLQ or an on-failure destination.",
            "declare a FunctionEventInvokeConfig with an on_failure destination (or a dead_letter_config)")
def _async_functions_have_failure_destinations(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    configs = [(c, p) for c, p in _resources(args, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
               if is_set(lambda p=p: p.at("destinationConfig", "onFailure", "destination"))]
    covered_urns = {d.urn for c, _ in configs for d in (c.property_dependencies or {}).get("functionName", [])}
    covered_names = {known_or_none(lambda p=p: p.get("functionName")) for _, p in configs}
    reported: set[str] = set()
    by_name = {}
    for f, fp in _resources(args, "aws:lambda/function:Function"):
        for key in ("name", "arn"):
            by_name[known_or_none(lambda fp=fp, key=key: fp.get(key))] = f
    by_name.pop(None, None)
    for permission, p in _resources(args, "aws:lambda/permission:Permission"):
        source = known_or_none(lambda p=p: p.get("principal"))
        if source not in ASYNC_INVOKERS:
            continue
        named = [by_name[n] for n in [known_or_none(lambda p=p: p.get("function"))] if n in by_name]
        for function in [*((permission.property_dependencies or {}).get("function", []) or []), *named]:
            if function.resource_type != "aws:lambda/function:Function" or function.urn in reported:
                continue

            def uncovered(function: Any = function) -> bool:
                f = Props(function.props)
                return not (function.urn in covered_urns or {f.get("name"), f.get("arn")} & covered_names
                            or (f.get("deadLetterConfig") or {}).get("targetArn"))

            if judged(function.urn, uncovered):
                reported.add(function.urn)
                report_violation(f"function '{function.name}' is invoked asynchronously by {source} but has neither "
                                 "a dead-letter queue nor an on-failure destination: events that fail every retry "
                                 "are dropped; add a FunctionEventInvokeConfig with destination_config.on_failure",
                                 function.urn)


@resource_rule("stream-mapping-failure-handling", "Stream mappings have an on-failure destination and bounded "
               "retries.", "set destination_config.on_failure and maximum_retry_attempts")
@only("aws:lambda/eventSourceMapping:EventSourceMapping")
def _stream_mappings(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    m = Props(args.props)
    # A stream mapping names its starting position (a literal); its source's ARN may be unknown yet.
    if not m.get("startingPosition"):
        source = str(m.get("eventSourceArn") or "")
        if not (":stream/" in source or ":kinesis:" in source):
            return
    if not is_set(lambda: m.at("destinationConfig", "onFailure", "destinationArn")):
        report_violation(f"stream mapping '{args.name}' has no on-failure destination: records that fail every "
                         "retry are skipped silently; set destination_config.on_failure")
    retries = m.get("maximumRetryAttempts")
    if retries is None or int(retries) < 0:
        setting = "not set" if retries is None else f"{int(retries)}"
        report_violation(f"stream mapping '{args.name}' retries without bound (maximum_retry_attempts {setting}): "
                         "one bad record blocks its shard until it expires; set a small number and "
                         "bisect_batch_on_function_error")


def _target_setting(args: ResourceValidationArgs, *path: str) -> Any:
    """A target's DLQ or retry setting: a Scheduler schedule keeps them in its `target`, an
    EventBridge target at the top. Read key by key: a target's ARN is unknown in a preview (and so
    may be its DLQ's), the other settings are not."""
    where = ("target", *path) if args.resource_type.startswith("aws:scheduler") else path
    return Props(args.props).at(*where)


@resource_rule("eventbridge-target-dead-letter", "EventBridge targets and Scheduler schedules have a dead-letter "
               "queue.", "set dead_letter_config to a queue")
@only("aws:cloudwatch/eventTarget:EventTarget", "aws:scheduler/schedule:Schedule")
def _event_targets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    kind = "EventBridge Scheduler schedule" if args.resource_type.startswith("aws:scheduler") else "EventBridge target"
    # A DLQ whose ARN is not known yet (a preview) is set all the same: read inside is_set.
    if not is_set(lambda: _target_setting(args, "deadLetterConfig", "arn")):
        report_violation(f"{kind} '{args.name}' has no dead_letter_config: events it cannot deliver are dropped; "
                         "point it at an SQS queue")


@resource_rule("eventbridge-target-retry-policy", "EventBridge targets bound their retries (the default is "
               "bounded too).", "set retry_policy", EnforcementLevel.ADVISORY)
@only("aws:cloudwatch/eventTarget:EventTarget", "aws:scheduler/schedule:Schedule")
def _event_target_retries(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not _target_setting(args, "retryPolicy"):
        report_violation(f"'{args.name}' uses EventBridge's default retry policy (185 attempts over 24 hours); "
                         "set retry_policy to bound maximum_retry_attempts and maximum_event_age_in_seconds")


# AWS Lambda's guidance for a queue a function consumes: "set the maxReceiveCount on the source
# queue's redrive policy to at least 5", so throttles, timeouts and a crash retried do not send good
# messages to the dead-letter queue.
LAMBDA_MIN_RECEIVE_COUNT = 5


@stack_rule("sqs-lambda-receive-count", "A queue a function consumes lets a message be received at least 5 "
            "times before dead-lettering it.", "set maxReceiveCount in the redrive policy to 5 or more",
            EnforcementLevel.ADVISORY)
def _receive_counts(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    queues = {r.urn: (r, q) for r, q in _resources(args, "aws:sqs/queue:Queue")}
    by_arn = {arn: urn for urn, (_, q) in queues.items() if (arn := known_or_none(lambda q=q: q.get("arn")))}
    for mapping in args.resources:
        if mapping.resource_type != "aws:lambda/eventSourceMapping:EventSourceMapping":
            continue
        sources = {r.urn for r in mapping.property_dependencies.get("eventSourceArn", [])} & queues.keys()
        arn = known_or_none(lambda m=mapping: Props(m.props).get("eventSourceArn"))
        sources |= {by_arn[arn]} if arn in by_arn else set()
        for urn in sources:
            queue, q = queues[urn]
            count = judged(queue.urn, lambda q=q: _json(q.get("redrivePolicy")).get("maxReceiveCount"))
            if isinstance(count, int | float) and count < LAMBDA_MIN_RECEIVE_COUNT:
                report_violation(f"queue '{queue.name}' dead-letters after {count:g} receive(s) and a function "
                                 f"consumes it: one throttle, timeout or crash retried may send a good message to "
                                 f"the dead-letter queue; set its maxReceiveCount to at least "
                                 f"{LAMBDA_MIN_RECEIVE_COUNT}, as AWS Lambda advises", queue.urn)


@resource_rule("iot-rule-error-action", "IoT topic rules have an error action.",
               "set error_action (a queue or a log group)")
@only("aws:iot/topicRule:TopicRule")
def _topic_rules(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    # An error action whose queue is not known yet (a preview) is there all the same.
    if not is_set(lambda: Props(args.props).get("errorAction")):
        report_violation(f"IoT topic rule '{args.name}' has no error_action: a failing action loses the message "
                         "without a trace; add an error action (to SQS, for example)")


POLICIES = [
    _queues_have_dead_letter_queues,
    _async_functions_have_failure_destinations,
    _stream_mappings,
    _event_targets,
    _event_target_retries,
    _topic_rules,
    _receive_counts,
]
