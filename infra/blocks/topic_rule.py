"""An IoT topic rule with its own role and an error action, so no failing action loses a message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.blocks.function import Function
from infra.blocks.iam import Statement, policy_document, trust_policy
from infra.blocks.naming import physical_name
from infra.blocks.queue import DeadLetterQueue


@dataclass(frozen=True)
class TopicRuleArgs:
    """`actions` builds the rule's action arguments from the rule role's ARN; `statements` are
    that role's only permissions (plus sending to the error queue)."""

    sql: str
    actions: Callable[[pulumi.Output[str]], dict[str, Any]]
    statements: Sequence[Statement]
    errors: DeadLetterQueue
    description: str = ""
    functions: Sequence[Function] = ()
    """Functions the rule invokes: each gets a lambda action and IoT's permission to invoke it."""


class TopicRule(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: TopicRuleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:TopicRule", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-role", name=physical_name(name, kind="role"), assume_role_policy=trust_policy(
            "iot.amazonaws.com"), opts=child)
        policy = aws.iam.RolePolicy(f"{name}-permissions", role=role.id, policy=policy_document([
            *args.statements, Statement(["sqs:SendMessage"], [args.errors.arn])]), opts=child)
        actions = args.actions(role.arn)
        if args.functions:
            actions["lambdas"] = [*actions.get("lambdas", []), *({"function_arn": f.arn} for f in args.functions)]
        rule = aws.iot.TopicRule(
            name, name=physical_name(name, kind="iot-rule"), description=args.description, enabled=True,
            sql=args.sql, sql_version="2016-03-23",
            error_action={"sqs": {"queue_url": args.errors.url, "role_arn": role.arn, "use_base64": False}},
            **actions,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        account = aws.get_caller_identity_output().account_id
        for function in args.functions:
            aws.lambda_.Permission(f"{name}-invokes-{function.pulumi_resource_name}", action="lambda:InvokeFunction",
                                   function=function.name, principal="iot.amazonaws.com", source_arn=rule.arn,
                                   source_account=account, opts=child)
        self.arn = rule.arn
        self.register_outputs({"arn": self.arn})
