"""The program on the mock engine, for every stack: the rules a reviewer would check by hand."""

from __future__ import annotations

import json

import pytest

from tests.program import STACKS, declared, of_type, policy_statements


@pytest.mark.parametrize("stack", STACKS)
def test_every_work_queue_has_a_dead_letter_queue(stack):
    document = declared(stack)
    queues = of_type(document, "aws:sqs/queue:Queue")
    redrives = [json.loads(q.inputs["redrivePolicy"]) for q in queues if "redrivePolicy" in q.inputs]
    dead_letter_arns = {r["deadLetterTargetArn"] for r in redrives}
    for queue in queues:
        is_dead_letter = queue.outputs["arn"] in dead_letter_arns or "DeadLetterQueue" in queue.urn
        assert is_dead_letter or "redrivePolicy" in queue.inputs, f"{queue.urn} has no DLQ"
        assert queue.inputs.get("sqsManagedSseEnabled") is True, f"{queue.urn} is not encrypted"
    for mapping in of_type(document, "aws:lambda/eventSourceMapping:EventSourceMapping"):
        for source in (q for q in queues if q.outputs["arn"] == mapping.inputs["eventSourceArn"]):
            assert "redrivePolicy" in source.inputs, f"{source.urn} is consumed but has no DLQ"


@pytest.mark.parametrize("stack", STACKS)
def test_no_statement_grants_wildcard_actions(stack):
    for urn, statement in policy_statements(declared(stack)):
        for action in statement["Action"]:
            assert action != "*" and not action.endswith(":*"), f"{urn} grants {action}"
        if statement["Resource"] == ["*"]:
            from conduit_policies.iam_actions import requires_wildcard_resource

            assert all(requires_wildcard_resource(a) for a in statement["Action"]), f"{urn}: {statement}"


@pytest.mark.parametrize("stack", STACKS)
def test_ingest_function_reads_only_its_own_bucket(stack):
    document = declared(stack)
    bucket_arn = next(b.outputs["arn"] for b in of_type(document, "aws:s3/bucket:Bucket")
                      if b.name == "message-ingest-files")
    s3 = [s for urn, s in policy_statements(document) if "message-ingest-ingest" in urn
          and any(a.startswith("s3:") for a in s["Action"])]
    assert s3, "ingest function has no S3 permissions"
    for statement in s3:
        for resource in statement["Resource"]:
            assert resource.startswith(f"{bucket_arn}/"), f"ingest may touch {resource}"
    reads = [s for s in s3 if "s3:GetObject" in s["Action"]]
    assert [s["Resource"] for s in reads] == [[f"{bucket_arn}/*"]]
    writes = [s for s in s3 if "s3:PutObject" in s["Action"]]
    assert [s["Resource"] for s in writes] == [[f"{bucket_arn}/quarantine/*"]]


@pytest.mark.parametrize("stack", STACKS)
def test_functions_run_python_313_on_arm64_with_their_own_role(stack):
    functions = of_type(declared(stack), "aws:lambda/function:Function")
    roles = [f.inputs["role"] for f in functions]
    assert len(set(roles)) == len(functions), "functions share a role"
    for function in functions:
        assert function.inputs["runtime"] == "python3.13", function.urn
        assert function.inputs["architectures"] == ["arm64"], function.urn
        assert function.inputs["handler"].startswith("handlers."), function.urn
        assert function.inputs["layers"], f"{function.urn} has no dependency layer"


@pytest.mark.parametrize("stack", STACKS)
def test_asynchronously_invoked_functions_have_a_failure_destination(stack):
    document = declared(stack)
    configs = {c.inputs["functionName"] for c in
               of_type(document, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
               if c.inputs["destinationConfig"]["onFailure"]["destination"]}
    for permission in of_type(document, "aws:lambda/permission:Permission"):
        if permission.inputs["principal"] in {"s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com"}:
            assert permission.inputs["function"] in configs, f"{permission.urn}: no failure destination"


@pytest.mark.parametrize("stack", STACKS)
def test_api_routes_require_iam_auth(stack):
    for route in of_type(declared(stack), "aws:apigatewayv2/route:Route"):
        assert route.inputs["authorizationType"] == "AWS_IAM", route.urn


@pytest.mark.parametrize("stack", STACKS)
def test_children_are_parented_to_their_component(stack):
    document = declared(stack)
    types = {r.urn: r.type for r in document.resources}
    for resource in document.resources:
        if resource.type.startswith("aws:"):
            parent_type = types.get(resource.parent, "")
            assert parent_type.startswith("conduit:"), f"{resource.urn} is not inside a component"


def test_prod_keeps_data_and_dev_does_not():
    dev, prod = declared("dev"), declared("prod")
    dev_tables, prod_tables = of_type(dev, "aws:dynamodb/table:Table"), of_type(prod, "aws:dynamodb/table:Table")
    assert len(dev_tables) == len(prod_tables) >= 1
    for table in prod_tables:
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}, table.urn
        assert table.inputs["deletionProtectionEnabled"] is True, table.urn
    for table in dev_tables:
        assert table.inputs["pointInTimeRecovery"] == {"enabled": False}, table.urn
    assert of_type(prod, "aws:s3/bucketVersioning:BucketVersioning")
    assert {g.inputs["retentionInDays"] for g in of_type(prod, "aws:cloudwatch/logGroup:LogGroup")} == {365}
    assert {g.inputs["retentionInDays"] for g in of_type(dev, "aws:cloudwatch/logGroup:LogGroup")} == {14}
    def emails(document):
        return [r for r in document.resources if r.type == "aws:sns/topicSubscription:TopicSubscription"
                and r.inputs["protocol"] == "email"]

    assert emails(prod) and not emails(dev)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_name_the_entry_points(stack):
    outputs = declared(stack).outputs["messageIngest"]
    # Bucket names are global: the account and region make them unique (the offline fake account).
    assert outputs["bucket"] == f"conduit-{stack}-message-ingest-files-123456789012-eu-west-1"
    assert outputs["apiUrl"].startswith("https://")


BUCKET_CONFIGURATION = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                        "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketPolicy:BucketPolicy",
                        "aws:s3/bucketNotification:BucketNotification")


@pytest.mark.parametrize("stack", STACKS)
def test_alarms_reach_a_topic_whose_own_key_lets_cloudwatch_publish(stack):
    """CloudWatch cannot use the AWS-managed key alias/aws/sns: alarm actions to such a topic fail."""
    document = declared(stack)
    by_urn = {r.urn: r for r in document.resources}
    topics = {urn for alarm in of_type(document, "aws:cloudwatch/metricAlarm:MetricAlarm")
              for urn in alarm.property_dependencies.get("alarmActions", [])}
    assert topics, "no alarm has an action"
    for urn in topics:
        topic = by_urn[urn]
        assert topic.type == "aws:sns/topic:Topic" and "alias/aws/" not in topic.inputs["kmsMasterKeyId"]
        [key_urn] = topic.property_dependencies["kmsMasterKeyId"]
        statements = json.loads(by_urn[key_urn].inputs["policy"])["Statement"]
        grants = [s for s in statements if s.get("Principal") == {"Service": ["cloudwatch.amazonaws.com"]}]
        assert grants and set(grants[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}, statements
        assert any(s["Principal"].get("AWS") == ["arn:aws:iam::123456789012:root"] for s in statements), \
            "the key must stay manageable by the account"


@pytest.mark.parametrize("stack", STACKS)
def test_a_buckets_configuration_is_written_one_change_at_a_time(stack):
    """S3 answers OperationAborted to concurrent configuration changes of one bucket."""
    document = declared(stack)
    for bucket in of_type(document, "aws:s3/bucket:Bucket"):
        changes = [r for r in document.resources if r.type in BUCKET_CONFIGURATION
                   and bucket.urn in r.property_dependencies.get("bucket", [])]
        assert len(changes) >= 4, bucket.urn
        earlier = {r.urn: _all_dependencies(document, r) for r in changes}
        for a in changes:
            for b in changes:
                if a is not b:
                    assert a.urn in earlier[b.urn] or b.urn in earlier[a.urn], (
                        f"{a.urn} and {b.urn} may be written at the same time")


def _all_dependencies(document, resource) -> set[str]:
    by_urn = {r.urn: r for r in document.resources}
    seen, stack = set(), list(resource.dependencies)
    while stack:
        urn = stack.pop()
        if urn not in seen and urn in by_urn:
            seen.add(urn)
            stack.extend(by_urn[urn].dependencies)
    return seen


@pytest.mark.parametrize("stack", STACKS)
def test_velocity_counters_expire(stack):
    tables = of_type(declared(stack), "aws:dynamodb/table:Table")
    [table] = [t for t in tables if t.name == "exchange-events-velocity"]
    assert table.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}, table.inputs.get("ttl")


def test_bucket_names_differ_per_account_and_region_and_fit_s3():
    from infra.blocks.private_bucket import bucket_name

    names = {bucket_name("message-ingest-files", account, region)
             for account in ("111111111111", "222222222222") for region in ("eu-west-1", "us-east-1")}
    assert len(names) == 4 and all(len(n) <= 63 and n == n.lower() for n in names), names


@pytest.mark.parametrize("stack", STACKS)
def test_list_streams_is_granted_on_the_only_resource_iam_accepts(stack):
    statements = [s for _, s in policy_statements(declared(stack)) if "dynamodb:ListStreams" in s["Action"]]
    assert statements and all(s["Resource"] == ["*"] and s["Action"] == ["dynamodb:ListStreams"]
                              for s in statements), statements


@pytest.mark.parametrize("stack", STACKS)
def test_only_a_function_that_continues_itself_may_loop_past_lambdas_recursion_limit(stack):
    """Lambda stops the 17th invocation of a chain of requests unless the function's recursion
    config allows it: a 1,000,000-row CSV takes 20 invocations of the ingest, one handing to the next.
    Only the ingest is allowed, and it may invoke only itself."""
    document = declared(stack)
    allowed = of_type(document, "aws:lambda/functionRecursionConfig:FunctionRecursionConfig")
    assert [(c.inputs["functionName"], c.inputs["recursiveLoop"]) for c in allowed] == [
        (f"conduit-{stack}-message-ingest-ingest", "Allow")]
