"""Nothing is lost silently: every consumer of a queue, stream, topic or event has somewhere
for what it cannot process to go, and a bound on how often it tries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.documents import as_list, only, plain

ASYNC_INVOKERS = {"s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "iot.amazonaws.com",
                  "scheduler.amazonaws.com"}


def _resources(args: StackValidationArgs, type_: str) -> Iterator[tuple[Any, dict[str, Any]]]:
    for resource in args.resources:
        if resource.resource_type == type_:
            yield resource, plain(resource.props)


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def _terminal_queue_arns(args: StackValidationArgs) -> set[str]:
    """Queues that are themselves where failures go: DLQs and failure destinations."""
    arns: set[str] = set()
    for _, q in _resources(args, "aws:sqs/queue:Queue"):
        target = _json(q.get("redrivePolicy")).get("deadLetterTargetArn")
        if target:
            arns.add(target)
    for _, c in _resources(args, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        for outcome in ("onFailure", "onSuccess"):
            arns.add(((c.get("destinationConfig") or {}).get(outcome) or {}).get("destination"))
    for _, m in _resources(args, "aws:lambda/eventSourceMapping:EventSourceMapping"):
        arns.add(((m.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn"))
    for _, f in _resources(args, "aws:lambda/function:Function"):
        arns.add((f.get("deadLetterConfig") or {}).get("targetArn"))
    for _, t in _resources(args, "aws:cloudwatch/eventTarget:EventTarget"):
        arns.add((t.get("deadLetterConfig") or {}).get("arn"))
    for _, s in _resources(args, "aws:sns/topicSubscription:TopicSubscription"):
        arns.add(_json(s.get("redrivePolicy")).get("deadLetterTargetArn"))
    for _, r in _resources(args, "aws:iot/topicRule:TopicRule"):
        for action in as_list((r.get("errorAction") or {}).get("sqs")):
            arns.add(action.get("queueUrl"))
    arns.discard(None)
    return arns


def _queues_have_dead_letter_queues(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    terminal = _terminal_queue_arns(args)
    for resource, q in _resources(args, "aws:sqs/queue:Queue"):
        if q.get("arn") in terminal or q.get("url") in terminal:
            continue
        if not _json(q.get("redrivePolicy")).get("deadLetterTargetArn"):
            report_violation(f"queue '{resource.name}' has no redrivePolicy: a message its consumer cannot process "
                             "is retried forever or lost; give it a dead-letter queue (infra.blocks.queue.Queue "
                             "does) with a maxReceiveCount", resource.urn)


def _async_functions_have_failure_destinations(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    functions = {f.get("name"): (r, f) for r, f in _resources(args, "aws:lambda/function:Function")}
    functions.update({f.get("arn"): (r, f) for r, f in _resources(args, "aws:lambda/function:Function")})
    covered = set()
    for _, c in _resources(args, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        if ((c.get("destinationConfig") or {}).get("onFailure") or {}).get("destination"):
            covered.add(c.get("functionName"))
    invoked: dict[str, str] = {}
    for _, p in _resources(args, "aws:lambda/permission:Permission"):
        if p.get("principal") in ASYNC_INVOKERS:
            invoked[p.get("function")] = p["principal"]
    for target, source in invoked.items():
        if target not in functions:
            continue
        resource, function = functions[target]
        names = {function.get("name"), function.get("arn")}
        if names & covered or (function.get("deadLetterConfig") or {}).get("targetArn"):
            continue
        report_violation(f"function '{resource.name}' is invoked asynchronously by {source} but has neither a "
                         "dead-letter queue nor an on-failure destination: events that fail every retry are "
                         "dropped; add a FunctionEventInvokeConfig with destination_config.on_failure",
                         resource.urn)


@only("aws:lambda/eventSourceMapping:EventSourceMapping")
def _stream_mappings(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    m = plain(args.props)
    source = str(m.get("eventSourceArn") or "")
    if not (":stream/" in source or source.startswith("arn:aws:kinesis:") or m.get("startingPosition")):
        return
    if not ((m.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn"):
        report_violation(f"stream mapping '{args.name}' has no on-failure destination: records that fail every "
                         "retry are skipped silently; set destination_config.on_failure")
    retries = m.get("maximumRetryAttempts")
    if retries is None or int(retries) < 0:
        report_violation(f"stream mapping '{args.name}' retries without bound (maximumRetryAttempts "
                         f"{retries!r}): one bad record blocks its shard until it expires; set a small number "
                         "and bisect_batch_on_function_error")


@only("aws:cloudwatch/eventTarget:EventTarget")
def _event_targets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    t = plain(args.props)
    if not (t.get("deadLetterConfig") or {}).get("arn"):
        report_violation(f"EventBridge target '{args.name}' has no dead_letter_config: events it cannot deliver "
                         "are dropped; point it at an SQS queue")
    if not t.get("retryPolicy"):
        report_violation(f"EventBridge target '{args.name}' has no retry_policy; bound maximum_retry_attempts "
                         "and maximum_event_age_in_seconds")


@only("aws:sns/topicSubscription:TopicSubscription")
def _lambda_subscriptions(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    s = plain(args.props)
    if s.get("protocol") == "lambda" and not _json(s.get("redrivePolicy")).get("deadLetterTargetArn"):
        report_violation(f"SNS subscription '{args.name}' delivers to a function without a redrive_policy: "
                         "messages SNS cannot deliver are dropped; add one with deadLetterTargetArn")


@only("aws:iot/topicRule:TopicRule")
def _topic_rules(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not plain(args.props).get("errorAction"):
        report_violation(f"IoT topic rule '{args.name}' has no error_action: a failing action loses the message "
                         "without a trace; add an error action (to SQS, for example)")


POLICIES = [
    StackValidationPolicy(name="sqs-dead-letter-queue",
                          description="Every queue has a redrive policy unless it is itself a dead-letter target.",
                          validate=_queues_have_dead_letter_queues),
    StackValidationPolicy(name="lambda-async-failure-destination",
                          description="A function invoked asynchronously has a DLQ or an on-failure destination.",
                          validate=_async_functions_have_failure_destinations),
    ResourceValidationPolicy(name="stream-mapping-failure-handling",
                             description="Stream mappings have an on-failure destination and bounded retries.",
                             validate=_stream_mappings),
    ResourceValidationPolicy(name="eventbridge-target-dead-letter",
                             description="EventBridge targets have a dead-letter queue and a retry policy.",
                             validate=_event_targets),
    ResourceValidationPolicy(name="sns-lambda-subscription-redrive",
                             description="SNS subscriptions to functions have a redrive policy.",
                             validate=_lambda_subscriptions),
    ResourceValidationPolicy(name="iot-rule-error-action", description="IoT topic rules have an error action.",
                             validate=_topic_rules),
]
