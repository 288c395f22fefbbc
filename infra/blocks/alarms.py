"""Where every alarm of a stack goes: one encrypted SNS topic CloudWatch can publish to, with an
e-mail subscriber if set."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.blocks.topic import Topic, TopicArgs


class AlarmTopic(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, email: str | None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # CloudWatch publishes alarm actions itself: the topic's key must grant it (not the AWS-managed key).
        topic = Topic(name, TopicArgs(service_publishers=["cloudwatch.amazonaws.com"]), opts=child)
        if email:
            aws.sns.TopicSubscription(f"{name}-email", topic=topic.arn, protocol="email", endpoint=email,
                                      opts=child)
        self.arn = topic.arn
        self.register_outputs({"arn": self.arn})


def alarm_on_any(name: str, description: pulumi.Input[str], namespace: str, metric: str,
                 dimensions: dict[str, pulumi.Input[str]], statistic: str, period: int,
                 topic_arn: pulumi.Input[str] | None, opts: pulumi.ResourceOptions) -> aws.cloudwatch.MetricAlarm:
    """An alarm that fires as soon as the metric is above zero (errors, dead letters): no quiet failures."""
    return aws.cloudwatch.MetricAlarm(
        name, alarm_description=description, namespace=namespace, metric_name=metric, dimensions=dimensions,
        statistic=statistic, period=period, evaluation_periods=1, threshold=0,
        comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
        alarm_actions=[topic_arn] if topic_arn else [], opts=opts)
