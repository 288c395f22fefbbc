"""Deploy a Pulumi program onto the emulator: each registered resource is created for real.

This takes the place of the engine and the AWS provider. The Pulumi SDK hands every resource's
resolved inputs (camelCase engine names) to `new_resource`; the matching creator makes the
AWS calls and returns the real outputs (ARNs, URLs, stream ARNs), which flow back into the
program, so wiring errors surface as they would against AWS. A type without a creator stops
the deployment with its name.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dill
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from conduit.local.emulator import Emulator, find
from conduit.local.options import STATE_DIR_VARIABLE
from conduit.offline.cloud import fake_call
from conduit.offline.engine import is_secret
from conduit.offline.shapes import Place, arn_of

Outputs = tuple[str, dict[str, Any]]
Creator = Callable[["Deployment", str, dict[str, Any]], Outputs]
CREATORS: dict[str, Creator] = {}

# The layer is built for arm64 Lambda; the emulator runs handlers on its own interpreter, which
# has the same pinned packages installed. The local layer is a marker, not the dependencies.
LOCAL_LAYER_NOTE = b"Conduit local cloud: dependencies come from the emulator's interpreter.\n"


class LocalCloudError(RuntimeError):
    """A resource could not be created in the local cloud."""


def creates(type_token: str) -> Callable[[Creator], Creator]:
    def register(creator: Creator) -> Creator:
        CREATORS[type_token] = creator
        return creator

    return register


def supported_types() -> list[str]:
    return sorted(CREATORS)


@dataclass
class Deployment:
    emulator: Emulator
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str) -> Any:
        """One client per service; the SDK registers resources from several threads."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.emulator.client(service)
            return self._clients[service]

    @property
    def region(self) -> str:
        return self.emulator.region

    @functools.cached_property
    def account(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    @property
    def place(self) -> Place:
        return Place(self.region, self.account)


def _ints(mapping: dict[str, Any], *keys: str) -> dict[str, int]:
    """Pulumi's mock engine hands numbers over as floats; AWS wants integers."""
    return {k: int(mapping[k]) for k in keys if mapping.get(k) is not None}


def unsecret(value: Any) -> Any:
    """Inputs marked secret reach the mock engine wrapped; AWS wants the values themselves."""
    if isinstance(value, dict):
        if is_secret(value):
            return unsecret(value.get("value"))
        return {k: unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsecret(v) for v in value]
    return value


def _archive_bytes(archive: Any) -> bytes:
    path = getattr(archive, "path", None)
    if path is None:
        raise LocalCloudError(f"only FileArchive code is supported locally, not {type(archive).__name__}")
    return Path(path).read_bytes()


# --- SNS -------------------------------------------------------------------------------------

@creates("aws:sns/topic:Topic")
def _topic(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    attributes = {"KmsMasterKeyId": i["kmsMasterKeyId"]} if i.get("kmsMasterKeyId") else {}
    arn = d.client("sns").create_topic(Name=i.get("name") or name, Attributes=attributes)["TopicArn"]
    return arn, {**i, "arn": arn, "name": arn.rsplit(":", 1)[1]}


@creates("aws:sns/topicSubscription:TopicSubscription")
def _subscription(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    attributes = {k[0].upper() + k[1:]: i[k] for k in ("rawMessageDelivery", "filterPolicy", "redrivePolicy")
                  if i.get(k) is not None}
    attributes = {k: v if isinstance(v, str) else json.dumps(v).lower() for k, v in attributes.items()}
    arn = d.client("sns").subscribe(TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"],
                                    Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
    return arn, {**i, "arn": arn}


# --- S3 --------------------------------------------------------------------------------------

@creates("aws:s3/bucket:Bucket")
def _bucket(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    bucket = i.get("bucket") or name
    d.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": d.region})
    return bucket, {**i, "bucket": bucket, "arn": arn_of("aws:s3/bucket:Bucket", bucket, d.place), "region": d.region}


@creates("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
def _encryption(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    rules = []
    for rule in i["rules"]:
        default = rule["applyServerSideEncryptionByDefault"]
        by_default = {"SSEAlgorithm": default["sseAlgorithm"]}
        if default.get("kmsMasterKeyId"):
            by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        rules.append({"ApplyServerSideEncryptionByDefault": by_default,
                      "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled"))})
    d.client("s3").put_bucket_encryption(Bucket=i["bucket"], ServerSideEncryptionConfiguration={"Rules": rules})
    return i["bucket"], i


def _filter(rule: dict[str, Any]) -> dict[str, Any]:
    rules = [{"Name": n, "Value": rule[k]} for n, k in (("prefix", "filterPrefix"), ("suffix", "filterSuffix"))
             if rule.get(k)]
    return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}


@creates("aws:s3/bucketNotification:BucketNotification")
def _notification(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    configuration = {
        "LambdaFunctionConfigurations": [
            {"Id": r.get("id") or f"{name}-{n}", "LambdaFunctionArn": r["lambdaFunctionArn"], "Events": r["events"],
             **_filter(r)} for n, r in enumerate(i.get("lambdaFunctions") or [])],
        "QueueConfigurations": [
            {"Id": r.get("id") or f"{name}-q{n}", "QueueArn": r["queueArn"], "Events": r["events"], **_filter(r)}
            for n, r in enumerate(i.get("queues") or [])],
        "TopicConfigurations": [
            {"Id": r.get("id") or f"{name}-t{n}", "TopicArn": r["topicArn"], "Events": r["events"], **_filter(r)}
            for n, r in enumerate(i.get("topics") or [])],
    }
    d.client("s3").put_bucket_notification_configuration(
        Bucket=i["bucket"], NotificationConfiguration={k: v for k, v in configuration.items() if v})
    return i["bucket"], i


# --- DynamoDB --------------------------------------------------------------------------------

@creates("aws:dynamodb/table:Table")
def _table(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    table_name = i.get("name") or name
    keys = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
    if i.get("rangeKey"):
        keys.append({"AttributeName": i["rangeKey"], "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": table_name, "KeySchema": keys, "BillingMode": i.get("billingMode", "PAY_PER_REQUEST"),
        "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]} for a in i["attributes"]],
        "SSESpecification": {"Enabled": bool((i.get("serverSideEncryption") or {}).get("enabled"))},
        "DeletionProtectionEnabled": bool(i.get("deletionProtectionEnabled")),
    }
    if i.get("streamEnabled"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": i["streamViewType"]}
    dynamodb = d.client("dynamodb")
    table = dynamodb.create_table(**request)["TableDescription"]
    if (i.get("pointInTimeRecovery") or {}).get("enabled"):
        dynamodb.update_continuous_backups(
            TableName=table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    ttl = i.get("ttl") or {}
    if ttl.get("enabled"):
        dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": ttl["attributeName"]})
    outputs = {**i, "name": table_name, "arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        outputs["streamArn"] = table["LatestStreamArn"]
    return table_name, outputs


# --- KMS -------------------------------------------------------------------------------------

@creates("aws:kms/key:Key")
def _key(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    kms = d.client("kms")
    request = {"Description": i.get("description", "")}
    if i.get("policy"):
        request["Policy"] = i["policy"]
    key = kms.create_key(**request)["KeyMetadata"]
    if i.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    return key["KeyId"], {**i, "arn": key["Arn"], "keyId": key["KeyId"]}


@creates("aws:kms/alias:Alias")
def _alias(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    d.client("kms").create_alias(AliasName=i["name"], TargetKeyId=i["targetKeyId"])
    return i["name"], {**i, "arn": f"arn:aws:kms:{d.region}:{d.account}:{i['name']}"}


# --- SQS -------------------------------------------------------------------------------------

_QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout", "messageRetentionSeconds": "MessageRetentionPeriod",
    "delaySeconds": "DelaySeconds", "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "redrivePolicy": "RedrivePolicy", "sqsManagedSseEnabled": "SqsManagedSseEnabled", "policy": "Policy",
    "kmsMasterKeyId": "KmsMasterKeyId",
}


@creates("aws:sqs/queue:Queue")
def _queue(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    attributes = {}
    for key, attribute in _QUEUE_ATTRIBUTES.items():
        value = i.get(key)
        if value is None:
            continue
        attributes[attribute] = str(value).lower() if isinstance(value, bool) else str(
            int(value) if isinstance(value, float) else value)
    sqs = d.client("sqs")
    url = sqs.create_queue(QueueName=i.get("name") or name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {**i, "url": url, "arn": arn, "name": arn.rsplit(":", 1)[1]}


# --- CloudWatch ------------------------------------------------------------------------------

@creates("aws:cloudwatch/logGroup:LogGroup")
def _log_group(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    group = i.get("name") or name
    logs = d.client("logs")
    logs.create_log_group(logGroupName=group)
    if i.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=group, retentionInDays=int(i["retentionInDays"]))
    return group, {**i, "name": group, "arn": arn_of("aws:cloudwatch/logGroup:LogGroup", group, d.place)}


@creates("aws:cloudwatch/metricAlarm:MetricAlarm")
def _alarm(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    alarm = i.get("name") or name
    d.client("cloudwatch").put_metric_alarm(
        AlarmName=alarm, AlarmDescription=i.get("alarmDescription", ""), Namespace=i["namespace"],
        MetricName=i["metricName"],
        Dimensions=[{"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()],
        Statistic=i["statistic"], Threshold=float(i["threshold"]), ComparisonOperator=i["comparisonOperator"],
        TreatMissingData=i.get("treatMissingData", "missing"), AlarmActions=list(i.get("alarmActions") or []),
        **{"Period": int(i["period"]), "EvaluationPeriods": int(i["evaluationPeriods"])},
    )
    return alarm, {**i, "arn": arn_of("aws:cloudwatch/metricAlarm:MetricAlarm", alarm, d.place)}


# --- IAM -------------------------------------------------------------------------------------

@creates("aws:iam/role:Role")
def _role(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    role = d.client("iam").create_role(RoleName=i.get("name") or name,
                                       AssumeRolePolicyDocument=i["assumeRolePolicy"])["Role"]
    return role["RoleName"], {**i, "name": role["RoleName"], "arn": role["Arn"], "uniqueId": role["RoleId"]}


@creates("aws:iam/rolePolicy:RolePolicy")
def _role_policy(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    policy_name = i.get("name") or name
    d.client("iam").put_role_policy(RoleName=i["role"], PolicyName=policy_name, PolicyDocument=i["policy"])
    return f"{i['role']}:{policy_name}", {**i, "name": policy_name}


# --- Lambda ----------------------------------------------------------------------------------

@creates("aws:lambda/layerVersion:LayerVersion")
def _layer(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    _archive_bytes(i["code"])  # the real layer must exist even though a marker is published
    marker = io.BytesIO()
    with zipfile.ZipFile(marker, "w") as archive:
        archive.writestr("python/CONDUIT_LOCAL_LAYER.txt", LOCAL_LAYER_NOTE)
    layer = d.client("lambda").publish_layer_version(
        LayerName=i["layerName"], Description=i.get("description", ""), Content={"ZipFile": marker.getvalue()},
        CompatibleRuntimes=list(i.get("compatibleRuntimes") or []))
    return layer["LayerVersionArn"], {**i, "arn": layer["LayerVersionArn"], "layerArn": layer["LayerArn"],
                                      "version": str(layer["Version"])}


def _wait_active(d: Deployment, function_name: str) -> None:
    for _ in range(100):
        state = d.client("lambda").get_function_configuration(FunctionName=function_name).get("State", "Active")
        if state == "Active":
            return
        if state == "Failed":
            raise LocalCloudError(f"function {function_name} failed to become active")
        time.sleep(0.05)


@creates("aws:lambda/function:Function")
def _function(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    function_name = i.get("name") or name
    request: dict[str, Any] = {
        "FunctionName": function_name, "Role": i["role"], "Handler": i["handler"], "Runtime": i["runtime"],
        "Code": {"ZipFile": _archive_bytes(i["code"])}, "Description": i.get("description", ""),
        "Architectures": list(i.get("architectures") or ["x86_64"]), "Layers": list(i.get("layers") or []),
        "Environment": {"Variables": dict((i.get("environment") or {}).get("variables") or {})},
        "TracingConfig": {"Mode": (i.get("tracingConfig") or {}).get("mode", "PassThrough")},
        **{k: v for k, v in (("MemorySize", i.get("memorySize")), ("Timeout", i.get("timeout"))) if v},
    }
    request.update(_ints(request, "MemorySize", "Timeout"))
    if i.get("loggingConfig"):
        logging = i["loggingConfig"]
        request["LoggingConfig"] = {k: v for k, v in (("LogFormat", logging.get("logFormat")),
                                                      ("LogGroup", logging.get("logGroup"))) if v}
    function = d.client("lambda").create_function(**request)
    _wait_active(d, function_name)
    arn = function["FunctionArn"]
    invoke_arn = f"arn:aws:apigateway:{d.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return function_name, {**i, "name": function_name, "arn": arn, "invokeArn": invoke_arn,
                           "qualifiedArn": f"{arn}:$LATEST", "version": "$LATEST"}


@creates("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
def _invoke_config(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    destinations = {}
    for key, aws_key in (("onFailure", "OnFailure"), ("onSuccess", "OnSuccess")):
        target = ((i.get("destinationConfig") or {}).get(key) or {}).get("destination")
        if target:
            destinations[aws_key] = {"Destination": target}
    request = {"FunctionName": i["functionName"], "DestinationConfig": destinations,
               **_ints(i, "maximumRetryAttempts", "maximumEventAgeInSeconds")}
    request = {k[0].upper() + k[1:]: v for k, v in request.items()}
    d.client("lambda").put_function_event_invoke_config(**request)
    return i["functionName"], i


@creates("aws:lambda/functionRecursionConfig:FunctionRecursionConfig")
def _recursion_config(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    d.client("lambda").put_function_recursion_config(FunctionName=i["functionName"], RecursiveLoop=i["recursiveLoop"])
    return i["functionName"], i


@creates("aws:lambda/permission:Permission")
def _permission(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    request = {"FunctionName": i["function"], "StatementId": i.get("statementId") or name, "Action": i["action"],
               "Principal": i["principal"]}
    for key, aws_key in (("sourceArn", "SourceArn"), ("sourceAccount", "SourceAccount")):
        if i.get(key):
            request[aws_key] = i[key]
    d.client("lambda").add_permission(**request)
    return request["StatementId"], i


@creates("aws:lambda/eventSourceMapping:EventSourceMapping")
def _event_source_mapping(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    request: dict[str, Any] = {"EventSourceArn": i["eventSourceArn"], "FunctionName": i["functionName"],
                               "FunctionResponseTypes": list(i.get("functionResponseTypes") or [])}
    request.update({k[0].upper() + k[1:]: v for k, v in _ints(
        i, "batchSize", "maximumBatchingWindowInSeconds", "maximumRetryAttempts",
        "maximumRecordAgeInSeconds", "parallelizationFactor").items()})
    for key in ("startingPosition", "bisectBatchOnFunctionError"):
        if i.get(key) is not None:
            request[key[0].upper() + key[1:]] = i[key]
    failure = ((i.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
    if failure:
        request["DestinationConfig"] = {"OnFailure": {"Destination": failure}}
    if i.get("filterCriteria"):
        request["FilterCriteria"] = {"Filters": [{"Pattern": f["pattern"]} for f in i["filterCriteria"]["filters"]]}
    mapping = d.client("lambda").create_event_source_mapping(**request)
    return mapping["UUID"], {**i, "uuid": mapping["UUID"], "functionArn": mapping.get("FunctionArn")}


# --- API Gateway v2 --------------------------------------------------------------------------

@creates("aws:apigatewayv2/api:Api")
def _api(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    api = d.client("apigatewayv2").create_api(Name=i.get("name") or name, ProtocolType=i["protocolType"])
    api_id = api["ApiId"]
    return api_id, {**i, "apiEndpoint": f"{d.emulator.endpoint}/_aws/execute-api/{api_id}",
                    "executionArn": f"arn:aws:execute-api:{d.region}:{d.account}:{api_id}",
                    "arn": f"arn:aws:apigateway:{d.region}::/apis/{api_id}"}


@creates("aws:apigatewayv2/stage:Stage")
def _stage(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    settings = i.get("defaultRouteSettings") or {}
    request: dict[str, Any] = {"ApiId": i["apiId"], "StageName": i["name"], "AutoDeploy": bool(i.get("autoDeploy"))}
    if settings:
        request["DefaultRouteSettings"] = {
            "ThrottlingRateLimit": float(settings.get("throttlingRateLimit", 0)),
            "ThrottlingBurstLimit": int(settings.get("throttlingBurstLimit", 0))}
    if i.get("accessLogSettings"):
        request["AccessLogSettings"] = {"DestinationArn": i["accessLogSettings"]["destinationArn"],
                                        "Format": i["accessLogSettings"]["format"]}
    d.client("apigatewayv2").create_stage(**request)
    path = "" if i["name"] == "$default" else f"{i['name']}/"
    return i["name"], {**i, "invokeUrl": f"{d.emulator.endpoint}/_aws/execute-api/{i['apiId']}/{path}"}


# --- IoT -------------------------------------------------------------------------------------

def _rule_action(kind: str, a: dict[str, Any]) -> dict[str, Any]:
    """One Pulumi rule action (camelCase inputs) as the IoT API's action document."""
    match kind:
        case "dynamodbv2s":
            return {"dynamoDBv2": {"roleArn": a["roleArn"], "putItem": {"tableName": a["putItem"]["tableName"]}}}
        case "lambdas":
            return {"lambda": {"functionArn": a["functionArn"]}}
        case "s3":
            return {"s3": {"bucketName": a["bucketName"], "key": a["key"], "roleArn": a["roleArn"]}}
        case "sns":
            return {"sns": {"targetArn": a["targetArn"], "roleArn": a["roleArn"],
                            "messageFormat": a.get("messageFormat", "RAW")}}
        case "sqs":
            return {"sqs": {"queueUrl": a["queueUrl"], "roleArn": a["roleArn"], "useBase64": bool(a.get("useBase64"))}}
        case "republishes":
            return {"republish": {"topic": a["topic"], "roleArn": a["roleArn"], "qos": int(a.get("qos", 0))}}
    raise LocalCloudError(f"IoT rule action {kind} is not supported by the local cloud")


_RULE_ACTION_KINDS = ("dynamodbv2s", "lambdas", "s3", "sns", "sqs", "republishes")
# A rule's error action is one action, named in the singular.
_ERROR_ACTION_KINDS = {"dynamodbv2": "dynamodbv2s", "lambda": "lambdas", "s3": "s3", "sns": "sns", "sqs": "sqs",
                       "republish": "republishes"}


@creates("aws:iot/topicRule:TopicRule")
def _topic_rule(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    rule_name = i.get("name") or name.replace("-", "_")
    actions = [_rule_action(kind, a) for kind in _RULE_ACTION_KINDS for a in i.get(kind) or []]
    unsupported = [k for k in i if k not in {*_RULE_ACTION_KINDS, "name", "enabled", "sql", "sqlVersion",
                                              "description", "errorAction", "tags"}]
    if unsupported:
        raise LocalCloudError(f"IoT rule {rule_name}: {unsupported} not supported by the local cloud")
    payload: dict[str, Any] = {"sql": i["sql"], "awsIotSqlVersion": i.get("sqlVersion", "2016-03-23"),
                               "actions": actions, "ruleDisabled": not i.get("enabled", True),
                               "description": i.get("description", "")}
    if i.get("errorAction"):
        [(kind, action)] = [(k, v) for k, v in i["errorAction"].items() if v]
        payload["errorAction"] = _rule_action(_ERROR_ACTION_KINDS[kind], action)
    d.client("iot").create_topic_rule(ruleName=rule_name, topicRulePayload=payload)
    return rule_name, {**i, "name": rule_name, "arn": arn_of("aws:iot/topicRule:TopicRule", rule_name, d.place)}


@creates("aws:iot/thing:Thing")
def _thing(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    attributes = {"attributes": dict(i["attributes"])} if i.get("attributes") else {}
    thing = d.client("iot").create_thing(thingName=i.get("name") or name,
                                         **({"attributePayload": attributes} if attributes else {}))
    return thing["thingName"], {**i, "name": thing["thingName"], "arn": thing["thingArn"],
                                "defaultClientId": thing["thingName"]}


@creates("aws:iot/policy:Policy")
def _iot_policy(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    policy = d.client("iot").create_policy(policyName=i.get("name") or name, policyDocument=i["policy"])
    return policy["policyName"], {**i, "name": policy["policyName"], "arn": policy["policyArn"],
                                  "defaultVersionId": policy.get("policyVersionId", "1")}


# --- EventBridge -----------------------------------------------------------------------------

@creates("aws:cloudwatch/eventBus:EventBus")
def _event_bus(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    bus = d.client("events").create_event_bus(Name=i.get("name") or name)
    return i.get("name") or name, {**i, "arn": bus["EventBusArn"]}


@creates("aws:cloudwatch/eventArchive:EventArchive")
def _event_archive(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    request = {"ArchiveName": i.get("name") or name, "EventSourceArn": i["eventSourceArn"],
               "RetentionDays": int(i.get("retentionDays") or 0)}
    if i.get("eventPattern"):
        request["EventPattern"] = i["eventPattern"]
    archive = d.client("events").create_archive(**request)
    return request["ArchiveName"], {**i, "name": request["ArchiveName"], "arn": archive["ArchiveArn"]}


@creates("aws:cloudwatch/eventRule:EventRule")
def _event_rule(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    rule_name = i.get("name") or name
    rule = d.client("events").put_rule(Name=rule_name, EventBusName=i.get("eventBusName", "default"),
                                       EventPattern=i["eventPattern"], State="ENABLED")
    return rule_name, {**i, "name": rule_name, "arn": rule["RuleArn"]}


@creates("aws:cloudwatch/eventTarget:EventTarget")
def _event_target(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    target: dict[str, Any] = {"Id": i.get("targetId") or name, "Arn": i["arn"]}
    if (i.get("deadLetterConfig") or {}).get("arn"):
        target["DeadLetterConfig"] = {"Arn": i["deadLetterConfig"]["arn"]}
    if i.get("retryPolicy"):
        target["RetryPolicy"] = {"MaximumRetryAttempts": int(i["retryPolicy"]["maximumRetryAttempts"]),
                                 "MaximumEventAgeInSeconds": int(i["retryPolicy"]["maximumEventAgeInSeconds"])}
    response = d.client("events").put_targets(Rule=i["rule"], EventBusName=i.get("eventBusName", "default"),
                                              Targets=[target])
    if response.get("FailedEntryCount"):
        raise LocalCloudError(f"event target {name}: {response['FailedEntries']}")
    return target["Id"], {**i, "targetId": target["Id"]}


# --- types whose creation only renames properties: one row each ------------------------------

@dataclass(frozen=True)
class Renamed:
    """One AWS call whose request is the resource's inputs under AWS's names.

    `request` maps each request field to an input path (`"rule.objectOwnership"`), a nested
    mapping, or a one-element list of either; absent inputs are left out. `id` is the input
    paths joined by `|`, or `response` names the field of the answer that is the id.
    """

    service: str
    operation: str
    request: dict[str, Any]
    id: tuple[str, ...] = ()
    response: str | None = None


def _path(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _fill(spec: Any, inputs: dict[str, Any]) -> Any:
    if isinstance(spec, str):
        return _path(inputs, spec)
    if isinstance(spec, list):
        return [_fill(item, inputs) for item in spec]
    filled = {key: _fill(value, inputs) for key, value in spec.items()}
    return {key: value for key, value in filled.items() if value is not None}


RENAMED: dict[str, Renamed] = {
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Renamed(
        "s3", "put_public_access_block", {"Bucket": "bucket", "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": "blockPublicAcls", "BlockPublicPolicy": "blockPublicPolicy",
            "IgnorePublicAcls": "ignorePublicAcls", "RestrictPublicBuckets": "restrictPublicBuckets"}},
        id=("bucket",)),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": Renamed(
        "s3", "put_bucket_ownership_controls",
        {"Bucket": "bucket", "OwnershipControls": {"Rules": [{"ObjectOwnership": "rule.objectOwnership"}]}},
        id=("bucket",)),
    "aws:s3/bucketVersioning:BucketVersioning": Renamed(
        "s3", "put_bucket_versioning",
        {"Bucket": "bucket", "VersioningConfiguration": {"Status": "versioningConfiguration.status"}},
        id=("bucket",)),
    "aws:s3/bucketPolicy:BucketPolicy": Renamed(
        "s3", "put_bucket_policy", {"Bucket": "bucket", "Policy": "policy"}, id=("bucket",)),
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": Renamed(
        "sqs", "set_queue_attributes",
        {"QueueUrl": "queueUrl", "Attributes": {"RedriveAllowPolicy": "redriveAllowPolicy"}}, id=("queueUrl",)),
    "aws:sqs/queuePolicy:QueuePolicy": Renamed(
        "sqs", "set_queue_attributes", {"QueueUrl": "queueUrl", "Attributes": {"Policy": "policy"}},
        id=("queueUrl",)),
    "aws:apigatewayv2/integration:Integration": Renamed(
        "apigatewayv2", "create_integration",
        {"ApiId": "apiId", "IntegrationType": "integrationType", "IntegrationUri": "integrationUri",
         "IntegrationMethod": "integrationMethod", "PayloadFormatVersion": "payloadFormatVersion"},
        response="IntegrationId"),
    "aws:apigatewayv2/route:Route": Renamed(
        "apigatewayv2", "create_route",
        {"ApiId": "apiId", "RouteKey": "routeKey", "AuthorizationType": "authorizationType", "Target": "target"},
        response="RouteId"),
    "aws:iot/policyAttachment:PolicyAttachment": Renamed(
        "iot", "attach_policy", {"policyName": "policy", "target": "target"}, id=("policy", "target")),
    "aws:iot/thingPrincipalAttachment:ThingPrincipalAttachment": Renamed(
        "iot", "attach_thing_principal", {"thingName": "thing", "principal": "principal"}, id=("thing", "principal")),
}


def _renamed(spec: Renamed) -> Creator:
    def create(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
        answer = getattr(d.client(spec.service), spec.operation)(**_fill(spec.request, i))
        resource_id = answer[spec.response] if spec.response else "|".join(str(_path(i, p)) for p in spec.id)
        return resource_id, i

    return create


for _type, _spec in RENAMED.items():
    creates(_type)(_renamed(_spec))


# --- dynamic providers -----------------------------------------------------------------------

PROVIDER_KEY = "__provider"


def _dynamic(d: Deployment, name: str, i: dict[str, Any]) -> Outputs:
    """Run the program's own dynamic provider, unpickled as the engine does, against the emulator.

    The deployer stands in for the engine and the AWS provider's configuration alike: a provider's
    `connection` (the stack's `aws:*` settings, see infra/aws_connection.py) is replaced by the
    running emulator's, whatever port it was started on.
    """
    provider = dill.loads(base64.b64decode(i[PROVIDER_KEY]))
    props = {k: v for k, v in i.items() if k != PROVIDER_KEY}
    if "connection" in props:
        props["connection"] = d.emulator.connection()
    result = provider.create(props)
    return result.id, {**props, **(result.outs or {})}


# --- the engine ------------------------------------------------------------------------------

class LocalCloud(Mocks):
    """Pulumi mocks that create resources in the emulator and return their real outputs."""

    def __init__(self, emulator: Emulator):
        self.deployment = Deployment(emulator)

    @classmethod
    def from_environment(cls) -> LocalCloud:
        """The emulator of the state directory the parent process named."""
        emulator = find(Path(os.environ[STATE_DIR_VARIABLE])) if STATE_DIR_VARIABLE in os.environ else None
        if emulator is None:
            raise LocalCloudError("the local cloud is not running; start it with: conduit local up --stack dev")
        return cls(emulator)

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return "", {}
        creator = CREATORS.get(args.typ)
        if creator is None and args.typ.startswith("pulumi-python:dynamic"):
            creator = _dynamic
        if creator is None:
            raise LocalCloudError(
                f"resource type {args.typ} ({args.name}) is not supported by the local cloud; "
                f"supported types: {', '.join(supported_types())}")
        try:
            return creator(self.deployment, args.name, unsecret(dict(args.inputs)))
        except LocalCloudError:
            raise
        except Exception as exc:
            raise LocalCloudError(f"creating {args.typ} {args.name} failed: {exc}") from exc

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:iot/getEndpoint:getEndpoint":
            address = self.deployment.client("iot").describe_endpoint(
                endpointType=args.args.get("endpointType", "iot:Data-ATS"))["endpointAddress"]
            return {"endpointAddress": address, "id": address}, []
        return fake_call(args, region=self.deployment.region, account=self.deployment.account), []
