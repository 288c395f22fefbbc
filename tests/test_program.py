"""The program on the mock engine, for every stack: the rules a reviewer would check by hand."""

from __future__ import annotations

import json

import pytest

from tests.program import STACKS, declared, of_type, policy_statements


@pytest.mark.parametrize("stack", STACKS)
def test_every_work_queue_has_a_dead_letter_queue(stack):
    document = declared(stack)
    queues = of_type(document, "aws:sqs/queue:Queue")
    redrives = [json.loads(q["inputs"]["redrivePolicy"]) for q in queues if "redrivePolicy" in q["inputs"]]
    dead_letter_arns = {r["deadLetterTargetArn"] for r in redrives}
    for queue in queues:
        is_dead_letter = queue["outputs"]["arn"] in dead_letter_arns or "DeadLetterQueue" in queue["urn"]
        assert is_dead_letter or "redrivePolicy" in queue["inputs"], f"{queue['urn']} has no DLQ"
        assert queue["inputs"].get("sqsManagedSseEnabled") is True, f"{queue['urn']} is not encrypted"
    for mapping in of_type(document, "aws:lambda/eventSourceMapping:EventSourceMapping"):
        for source in (q for q in queues if q["outputs"]["arn"] == mapping["inputs"]["eventSourceArn"]):
            assert "redrivePolicy" in source["inputs"], f"{source['urn']} is consumed but has no DLQ"


@pytest.mark.parametrize("stack", STACKS)
def test_no_statement_grants_wildcard_actions(stack):
    for urn, statement in policy_statements(declared(stack)):
        for action in statement["Action"]:
            assert action != "*" and not action.endswith(":*"), f"{urn} grants {action}"
        if statement["Resource"] == ["*"]:
            from policies.iam_actions import requires_wildcard_resource

            assert all(requires_wildcard_resource(a) for a in statement["Action"]), f"{urn}: {statement}"


@pytest.mark.parametrize("stack", STACKS)
def test_ingest_function_reads_only_its_own_bucket(stack):
    document = declared(stack)
    bucket_arn = next(b["outputs"]["arn"] for b in of_type(document, "aws:s3/bucket:Bucket")
                      if b["name"] == "message-ingest-files")
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
    roles = [f["inputs"]["role"] for f in functions]
    assert len(set(roles)) == len(functions), "functions share a role"
    for function in functions:
        assert function["inputs"]["runtime"] == "python3.13", function["urn"]
        assert function["inputs"]["architectures"] == ["arm64"], function["urn"]
        assert function["inputs"]["handler"].startswith("handlers."), function["urn"]
        assert function["inputs"]["layers"], f"{function['urn']} has no dependency layer"


@pytest.mark.parametrize("stack", STACKS)
def test_asynchronously_invoked_functions_have_a_failure_destination(stack):
    document = declared(stack)
    configs = {c["inputs"]["functionName"] for c in
               of_type(document, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
               if c["inputs"]["destinationConfig"]["onFailure"]["destination"]}
    for permission in of_type(document, "aws:lambda/permission:Permission"):
        if permission["inputs"]["principal"] in {"s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com"}:
            assert permission["inputs"]["function"] in configs, f"{permission['urn']}: no failure destination"


@pytest.mark.parametrize("stack", STACKS)
def test_api_routes_require_iam_auth(stack):
    for route in of_type(declared(stack), "aws:apigatewayv2/route:Route"):
        assert route["inputs"]["authorizationType"] == "AWS_IAM", route["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_children_are_parented_to_their_component(stack):
    document = declared(stack)
    types = {r["urn"]: r["type"] for r in document["resources"]}
    for resource in document["resources"]:
        if resource["type"].startswith("aws:"):
            parent_type = types.get(resource["parent"], "")
            assert parent_type.startswith("conduit:"), f"{resource['urn']} is not inside a component"


def test_prod_keeps_data_and_dev_does_not():
    dev, prod = declared("dev"), declared("prod")
    dev_tables, prod_tables = of_type(dev, "aws:dynamodb/table:Table"), of_type(prod, "aws:dynamodb/table:Table")
    assert len(dev_tables) == len(prod_tables) >= 1
    for table in prod_tables:
        assert table["inputs"]["pointInTimeRecovery"] == {"enabled": True}, table["urn"]
        assert table["inputs"]["deletionProtectionEnabled"] is True, table["urn"]
    for table in dev_tables:
        assert table["inputs"]["pointInTimeRecovery"] == {"enabled": False}, table["urn"]
    assert of_type(prod, "aws:s3/bucketVersioning:BucketVersioning")
    assert {g["inputs"]["retentionInDays"] for g in of_type(prod, "aws:cloudwatch/logGroup:LogGroup")} == {365}
    assert {g["inputs"]["retentionInDays"] for g in of_type(dev, "aws:cloudwatch/logGroup:LogGroup")} == {14}
    def emails(document):
        return [r for r in document["resources"] if r["type"] == "aws:sns/topicSubscription:TopicSubscription"
                and r["inputs"]["protocol"] == "email"]

    assert emails(prod) and not emails(dev)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_name_the_entry_points(stack):
    outputs = declared(stack)["outputs"]["messageIngest"]
    assert outputs["bucket"] == f"conduit-{stack}-message-ingest-files"
    assert outputs["apiUrl"].startswith("https://")
