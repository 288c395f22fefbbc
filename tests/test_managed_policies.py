"""The seam to moto's catalogue of AWS-managed policies (policies/conduit_policies/managed_policies.py):
its shape, and the documents the pack relies on, as AWS publishes them."""

from __future__ import annotations

import pytest

from conduit_policies.managed_policies import catalogue, managed_document


def test_the_catalogue_holds_every_kind_of_aws_managed_policy():
    names = catalogue()
    assert len(names) > 1000
    for name in ("AWSLambdaBasicExecutionRole", "AdministratorAccess", "SecretsManagerReadWrite",
                 "AmazonS3ReadOnlyAccess", "AWSXRayDaemonWriteAccess"):
        assert {"Document", "Path", "DefaultVersionId"} <= set(names[name]), name


@pytest.mark.parametrize(("arn", "found"), [
    ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", True),
    ("arn:aws-us-gov:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", True),
    ("arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole", False),  # not its path: no such policy
    ("arn:aws:iam::aws:policy/SecretsManagerReadWrite", True),
    ("arn:aws:iam::123456789012:policy/SecretsManagerReadWrite", False),  # a customer's, not AWS's
    ("arn:aws:iam::aws:policy/NoSuchPolicyAtAll", False),
])
def test_a_document_is_found_by_arn_path_and_name(arn, found):
    assert (managed_document(arn) is not None) == found


def test_documents_are_as_aws_publishes_them():
    basic = managed_document("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    [statement] = basic["Statement"]
    assert set(statement["Action"]) == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    secrets = managed_document("arn:aws:iam::aws:policy/SecretsManagerReadWrite")
    assert any("secretsmanager:*" in s["Action"] and s["Resource"] == "*" for s in secrets["Statement"])
