"""A Lambda function with its own role, its own logs, a failure destination and an errors alarm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.blocks.alarms import alarm_on_any
from infra.blocks.defaults import FunctionDefaults
from infra.blocks.iam import Statement, policy_document, trust_policy
from infra.blocks.naming import physical_name
from infra.blocks.queue import DeadLetterQueue, DeadLetterQueueArgs
from infra.platform import ARCHITECTURE, RUNTIME


@dataclass(frozen=True)
class FunctionArgs:
    """What a system says about one of its functions; everything else is a shared default.

    `statements` are the only permissions the function gets beyond writing its own logs (and
    sending to its own failure queue): name each next to the resource it is about.
    """

    handler: str
    defaults: FunctionDefaults
    statements: Sequence[Statement] = ()
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    memory_mb: int = 256
    timeout_seconds: int = 30
    invoked_asynchronously: bool = True
    max_async_retries: int = 2
    continues_itself: bool = False
    """It hands unfinished work to a new invocation of itself (asynchronously): it may invoke itself, and
    Lambda's recursive loop detection (which stops the 17th invocation of a chain) is turned off for it:
    a bounded chain of continuations is the design, and the handler ends it at the end of its work."""
    description: str = ""


class Function(pulumi.ComponentResource):
    """Python 3.13 on arm64, code from the `handlers` package, least privilege by construction."""

    arn: pulumi.Output[str]
    name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    failures: DeadLetterQueue | None

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:Function", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        defaults = args.defaults
        function_name = physical_name(name, kind="lambda")

        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=defaults.log_retention_days,
            opts=child,
        )
        statements = [
            Statement(["logs:CreateLogStream", "logs:PutLogEvents"], [logs.arn.apply(lambda a: f"{a}:*")]),
            *args.statements,
        ]
        self.failures = None
        if args.invoked_asynchronously:
            self.failures = DeadLetterQueue(
                f"{name}-failures", DeadLetterQueueArgs(alarm_topic_arn=defaults.alarm_topic_arn), opts=child
            )
            statements.append(Statement(["sqs:SendMessage"], [self.failures.arn]))
        if args.continues_itself:
            # Its own ARN, known before it exists: a role naming the function it belongs to is no cycle.
            own_arn = pulumi.Output.concat("arn:", aws.get_partition_output().partition, ":lambda:",
                                           aws.get_region_output().region, ":",
                                           aws.get_caller_identity_output().account_id, ":function:", function_name)
            statements.append(Statement(["lambda:InvokeFunction"], [own_arn]))
        if defaults.tracing:
            # X-Ray's write actions have no resource-level permissions: "*" is the only valid resource.
            statements.append(Statement(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]))

        role = aws.iam.Role(f"{name}-role", name=physical_name(name, kind="role"),
                            assume_role_policy=trust_policy("lambda.amazonaws.com"), opts=child)
        policy = aws.iam.RolePolicy(
            f"{name}-permissions", role=role.id, policy=policy_document(statements), opts=child
        )
        function = aws.lambda_.Function(
            name,
            name=function_name,
            description=args.description,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=args.handler,
            code=defaults.code,
            layers=list(defaults.layers),
            role=role.arn,
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            environment={"variables": {"POWERTOOLS_SERVICE_NAME": name,
                                       "POWERTOOLS_TRACE_DISABLED": "false" if defaults.tracing else "true",
                                       **args.environment}},
            logging_config={"log_format": "JSON", "log_group": logs.name},
            tracing_config={"mode": "Active" if defaults.tracing else "PassThrough"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, logs]),
        )
        if self.failures is not None:
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-async",
                function_name=function.name,
                maximum_retry_attempts=args.max_async_retries,
                destination_config={"on_failure": {"destination": self.failures.arn}},
                opts=child,
            )
        if args.continues_itself:
            # AWS documents this opt-out for an intentional recursive pattern (PutFunctionRecursionConfig).
            aws.lambda_.FunctionRecursionConfig(f"{name}-continues", function_name=function.name,
                                                recursive_loop="Allow", opts=child)
        alarm_on_any(f"{name}-errors", f"{function_name} raised errors", "AWS/Lambda", "Errors",
                     {"FunctionName": function.name}, "Sum", 300, defaults.alarm_topic_arn, child)
        self.arn, self.name, self.role_arn, self.role_name = function.arn, function.name, role.arn, role.name
        self.timeout_seconds = args.timeout_seconds
        self.invoke_arn = function.invoke_arn
        self.register_outputs({"arn": self.arn, "name": self.name, "roleArn": self.role_arn})
