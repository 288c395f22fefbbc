"""The offline engine's tables: every row of name guesses makes its example in its shape and is the
first row to claim it (none is dead behind an earlier one); every row of AWS shapes makes ARNs of
the partition its region is in."""

from __future__ import annotations

import re

import pytest

from conduit.offline import guesses
from conduit.offline.guesses import GUESSES, Named, first_guess, string_for
from conduit.offline.shapes import SHAPES, Place, arn_of, shaped


@pytest.mark.parametrize("index", range(len(GUESSES)), ids=[g.example[0] for g in GUESSES])
def test_each_guess_makes_its_example_first_and_in_its_shape(index):
    guess = GUESSES[index]
    name, service, kind = guess.example
    assert first_guess(Named(name, "api", service, kind)) == index, f"{name!r} is claimed by an earlier row"
    made = string_for(name, {"name": "api", "service": service, "kind": kind})
    assert re.fullmatch(guess.shape, made), (name, made)


def test_a_name_no_row_knows_gets_the_label_and_the_name():
    assert first_guess(Named("colour", "api", "s3", "bucket")) is None
    assert string_for("colour", {"name": "api"}) == "api-colour"


@pytest.mark.parametrize("token", sorted(SHAPES))
@pytest.mark.parametrize(("region", "partition"), [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"),
                                                   ("us-gov-west-1", "aws-us-gov")])
def test_each_shape_names_the_partition_of_its_region(token, region, partition):
    made_id, made = shaped(token, "orders", "orders-physical", {"streamEnabled": True, "apiId": "abc"},
                           Place(region, "123456789012"))
    assert made_id, token
    arns = [v for k, v in made.items() if k.lower().endswith("arn")]
    assert arns and all(v.startswith(f"arn:{partition}:") for v in arns), made
    if "url" in made:
        assert made["url"].endswith(".com.cn/123456789012/orders-physical") == (partition == "aws-cn")


def test_ids_and_outputs_are_as_aws_gives_them():
    place = Place("eu-west-1", "123456789012")
    assert shaped("aws:sqs/queue:Queue", "q", "jobs", {}, place) == (
        "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
        {"arn": "arn:aws:sqs:eu-west-1:123456789012:jobs", "url": "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"})
    assert shaped("aws:dynamodb/table:Table", "t", "readings", {}, place)[1] == {
        "arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/readings"}
    assert shaped("aws:dynamodb/table:Table", "t", "readings", {"streamEnabled": True}, place)[1]["streamArn"] == (
        "arn:aws:dynamodb:eu-west-1:123456789012:table/readings/stream/1970-01-01T00:00:00.000")
    assert arn_of("aws:cloudwatch/eventRule:EventRule", "nightly", place) == (
        "arn:aws:events:eu-west-1:123456789012:rule/default/nightly")
    assert arn_of("aws:iot/topicRule:TopicRule", "archive_rule", place) == (
        "arn:aws:iot:eu-west-1:123456789012:rule/archive_rule")
    assert arn_of("aws:s3/bucket:Bucket", "logs", Place("cn-north-1", "1")) == "arn:aws-cn:s3:::logs"
    assert shaped("aws:ec2/vpc:Vpc", "v", "main", {}, place) == (
        None, {"arn": "arn:aws:ec2:eu-west-1:123456789012:main"})


@pytest.mark.parametrize("name", ["endpoint", "invokeUrl", "dnsName", "secretString"])
def test_host_names_end_in_the_domain_of_the_stacks_partition(monkeypatch, name):
    """China's endpoints end in amazonaws.com.cn, as `shapes` already names its queue URLs."""
    context = {"name": "api", "service": "rds" if name in ("endpoint", "secretString") else "lb", "kind": "x"}
    assert ".amazonaws.com" in string_for(name, context) and ".com.cn" not in string_for(name, context)
    monkeypatch.setattr(guesses, "region", lambda: "cn-north-1")
    made = string_for(name, context)
    assert "cn-north-1" in made and re.search(r"\.amazonaws\.com\.cn(:5432|/|\"|$)", made), made
