"""Alarms that fire on the first failure; where they go is infra/blocks/alarm_topic.py."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def alarm_on_any(name: str, description: pulumi.Input[str], namespace: str, metric: str,
                 dimensions: dict[str, pulumi.Input[str]], statistic: str, period: int,
                 topic_arn: pulumi.Input[str] | None, opts: pulumi.ResourceOptions) -> aws.cloudwatch.MetricAlarm:
    """An alarm that fires as soon as the metric is above zero (errors, dead letters): no quiet failures."""
    return aws.cloudwatch.MetricAlarm(
        name, alarm_description=description, namespace=namespace, metric_name=metric, dimensions=dimensions,
        statistic=statistic, period=period, evaluation_periods=1, threshold=0,
        comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
        alarm_actions=[topic_arn] if topic_arn else [], opts=opts)
