"""An HTTP API in front of a function (and optionally more, each serving its own routes):
IAM-authenticated routes, throttling, access logs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.naming import physical_name


@dataclass(frozen=True)
class ApiRoutes:
    """Routes served by another function than the API's first, e.g. reads with their own role."""

    function_name: pulumi.Input[str]
    invoke_arn: pulumi.Input[str]
    routes: Sequence[str]
    label: str


@dataclass(frozen=True)
class HttpApiArgs:
    """Every route requires SigV4-signed requests from a principal allowed `execute-api:Invoke`."""

    function_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]
    invoke_arn: pulumi.Input[str]
    routes: Sequence[str]
    rate_limit: int
    burst_limit: int
    log_retention_days: int
    more: Sequence[ApiRoutes] = ()


class HttpApi(pulumi.ComponentResource):
    url: pulumi.Output[str]
    execution_arn: pulumi.Output[str]

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:HttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        api = aws.apigatewayv2.Api(name, name=physical_name(name, kind="api"), protocol_type="HTTP", opts=child)
        served = [ApiRoutes(args.function_name, args.invoke_arn, args.routes, "function"), *args.more]
        for target in served:
            self._serve(name, api, target)
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs", name=f"/aws/apigateway/{physical_name(name, kind='log-group')}",
            retention_in_days=args.log_retention_days, opts=child,
        )
        stage = aws.apigatewayv2.Stage(
            f"{name}-default", api_id=api.id, name="$default", auto_deploy=True,
            default_route_settings={"throttling_rate_limit": args.rate_limit,
                                    "throttling_burst_limit": args.burst_limit},
            access_log_settings={"destination_arn": access_logs.arn, "format": (
                '{"requestId":"$context.requestId","caller":"$context.identity.caller",'
                '"route":"$context.routeKey","status":"$context.status",'
                '"latencyMs":"$context.responseLatency","error":"$context.integrationErrorMessage"}')},
            opts=child,
        )
        self.url, self.execution_arn = stage.invoke_url, api.execution_arn
        self.register_outputs({"url": self.url})

    def _serve(self, name: str, api: aws.apigatewayv2.Api, target: ApiRoutes) -> None:
        """One integration per function, its routes, and API Gateway's permission to invoke it."""
        child = pulumi.ResourceOptions(parent=self)
        integration = aws.apigatewayv2.Integration(
            f"{name}-{target.label}", api_id=api.id, integration_type="AWS_PROXY", integration_uri=target.invoke_arn,
            integration_method="POST", payload_format_version="2.0", opts=child,
        )
        for route_key in target.routes:
            aws.apigatewayv2.Route(
                f"{name}-{re.sub(r'[^a-z0-9]+', '-', route_key.lower()).strip('-')}",
                api_id=api.id, route_key=route_key, authorization_type="AWS_IAM",
                target=integration.id.apply(lambda i: f"integrations/{i}"), opts=child,
            )
        suffix = "" if target.label == "function" else f"-{target.label}"
        aws.lambda_.Permission(
            f"{name}-invoke{suffix}", action="lambda:InvokeFunction", function=target.function_name,
            principal="apigateway.amazonaws.com", source_arn=api.execution_arn.apply(lambda a: f"{a}/*/*"),
            opts=child,
        )
