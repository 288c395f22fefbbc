"""The documents of AWS-managed policies that programs commonly attach, so an attachment is judged
by what it grants rather than by its name.

Source: the AWS Managed Policy Reference Guide
(https://docs.aws.amazon.com/aws-managed-policy/latest/reference/), default versions as published
on 2026-11-23. A policy missing here is judged by name only (`iam-no-admin-managed-policies`).
"""

from __future__ import annotations

import re
from typing import Any

_LOG_WRITES = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


def _allow(actions: list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


CATALOGUE: dict[str, dict[str, Any]] = {
    "AWSLambdaBasicExecutionRole": _document(_allow(_LOG_WRITES)),
    "AWSLambdaExecute": _document(_allow(["logs:*"], "arn:aws:logs:*:*:*"),
                                  _allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::*")),
    "AWSLambdaRole": _document(_allow(["lambda:InvokeFunction"], ["*"])),
    "AWSLambdaSQSQueueExecutionRole": _document(
        _allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOG_WRITES])),
    "AWSLambdaDynamoDBExecutionRole": _document(
        _allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                "dynamodb:ListStreams", *_LOG_WRITES])),
    "AWSLambdaKinesisExecutionRole": _document(
        _allow(["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:ListStreams", "kinesis:SubscribeToShard",
                *_LOG_WRITES])),
    "AWSLambdaVPCAccessExecutionRole": _document(
        _allow([*_LOG_WRITES, "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"])),
    "AWSXRayDaemonWriteAccess": _document(
        _allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"])),
    "AmazonS3ReadOnlyAccess": _document(
        _allow(["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"])),
    "AmazonSQSReadOnlyAccess": _document(
        _allow(["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListDeadLetterSourceQueues", "sqs:ListQueues",
                "sqs:ListMessageMoveTasks", "sqs:ListQueueTags"])),
    "CloudWatchLogsReadOnlyAccess": _document(
        _allow(["logs:Describe*", "logs:Get*", "logs:List*", "logs:StartQuery", "logs:StopQuery",
                "logs:TestMetricFilter", "logs:FilterLogEvents", "logs:StartLiveTail", "logs:StopLiveTail",
                "cloudwatch:GenerateQuery"])),
}

AWS_MANAGED_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::aws:policy/(?:[^*]+/)?(?P<name>[A-Za-z0-9+=,.@_-]+)")


def managed_document(arn: str) -> dict[str, Any] | None:
    """The document of an AWS-managed policy ARN in any partition; None if it is not catalogued."""
    match = AWS_MANAGED_ARN.fullmatch(arn)
    return CATALOGUE.get(match["name"]) if match else None
