"""SQS -> Lambda: a function consumes a queue through an event source mapping.

The connection carries the consumer's permissions (its own statement on the function's role, in
place before the mapping), partial batch responses (`ReportBatchItemFailures`, so one bad message
does not send its batch-mates back), and AWS's rule that the queue's visibility timeout be at least
the function's timeout (AWS refuses the mapping otherwise and recommends six times it).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.function import Function
from infra.blocks.iam import policy_document
from infra.blocks.queue import Queue


class VisibilityTimeoutError(ValueError):
    """The queue would hide a message for less time than the function may take on it."""


@dataclass(frozen=True)
class QueueToFunctionArgs:
    batch_size: int = 10
    max_batching_window_seconds: int = 0


class QueueToFunction(pulumi.ComponentResource):
    def __init__(self, name: str, queue: Queue, function: Function, args: QueueToFunctionArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:QueueToFunction", name, None, opts)
        if queue.visibility_timeout_seconds < function.timeout_seconds:
            raise VisibilityTimeoutError(
                f"{name}: the queue's visibility timeout ({queue.visibility_timeout_seconds}s) is shorter than the "
                f"function's timeout ({function.timeout_seconds}s); AWS refuses the mapping. Set it to at least "
                f"{6 * function.timeout_seconds}s (six times the timeout, as AWS recommends)")
        consume = aws.iam.RolePolicy(f"{name}-consume", role=function.role_name,
                                     policy=policy_document([queue.consumer()]),
                                     opts=pulumi.ResourceOptions(parent=self))
        aws.lambda_.EventSourceMapping(
            name, event_source_arn=queue.arn, function_name=function.arn, batch_size=args.batch_size,
            maximum_batching_window_in_seconds=args.max_batching_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[consume]))
        self.register_outputs({})
