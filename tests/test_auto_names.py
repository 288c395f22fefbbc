"""Names the aws provider makes for unnamed resources, made offline as the provider makes them, and
judged by `physical-name-limits` as AWS and the provider would: one test per naming family."""

from __future__ import annotations

import re

import pytest

from conduit.check import judge
from conduit.offline.auto_names import rule_for, with_auto_name
from conduit.runner import Mode, run_stack
from conduit_policies.auto_names import DEFAULT, OVERRIDES, made_from
from tests.test_offline_engine import program


def resources(tmp_path, source: str, mode: Mode = Mode.PLAUSIBLE) -> dict[str, dict]:
    document = run_stack(program(tmp_path, source), "t", mode=mode)
    return {r.name: r for r in document.resources}, document


def name_findings(document) -> list[str]:
    return [v.message for v in judge(document, "world").violations if v.policy == "physical-name-limits"]


def test_an_unnamed_function_gets_its_resource_name_a_dash_and_seven_random_characters(tmp_path):
    found, document = resources(tmp_path, """
        import pulumi, pulumi_aws as aws
        fn = aws.lambda_.Function("orders", role="arn:aws:iam::123456789012:role/r", runtime="python3.13",
                                  handler="a.h", code=pulumi.AssetArchive({}))
        pulumi.export("name", fn.name)
    """)
    name = found["orders"].inputs["name"]
    assert re.fullmatch(r"orders-[0-9a-f]{7}", name), "the policies see the name a real preview shows"
    assert document.outputs["name"] == name and not name.endswith("fake")
    assert not name_findings(document)


def test_the_auto_name_is_known_in_a_preview_as_the_provider_makes_it_at_check(tmp_path):
    found, _ = resources(tmp_path, """
        import pulumi_aws as aws
        aws.sqs.Queue("jobs")
    """, mode=Mode.UNKNOWN)
    assert re.fullmatch(r"jobs-[0-9a-f]{7}", found["jobs"].inputs["name"])


def test_a_fifo_queue_and_topic_get_the_fifo_suffix_the_provider_appends(tmp_path):
    found, document = resources(tmp_path, """
        import pulumi_aws as aws
        aws.sqs.Queue("orders", fifo_queue=True)
        aws.sns.Topic("events", fifo_topic=True)
    """)
    assert re.fullmatch(r"orders-[0-9a-f]{7}\.fifo", found["orders"].inputs["name"])
    assert re.fullmatch(r"events-[0-9a-f]{7}\.fifo", found["events"].inputs["name"])
    assert not name_findings(document)


def test_a_fifo_queue_whose_suffix_passes_80_characters_is_refused_by_aws_not_the_provider(tmp_path):
    """The provider keeps name + random part within 80, then appends `.fifo`: 72 + 1 + 7 + 5 = 85."""
    logical = "q" * 72
    _, document = resources(tmp_path, f"""
        import pulumi_aws as aws
        aws.sqs.Queue("{logical}", fifo_queue=True)
    """)
    [finding] = name_findings(document)
    assert "is 85 characters long; SQS queue names are 1 to 80" in finding
    assert f"made by the aws provider from the resource name '{logical}'" in finding


@pytest.mark.parametrize(("token", "limit"), [("lambda_.Function", 64), ("iam.Role", 64), ("sns.Topic", 80)])
def test_a_resource_name_leaving_no_room_for_the_random_part_is_refused_as_the_provider_refuses(
        tmp_path, token, limit):
    logical = "x" * (limit - 7)  # plus the separator: one character too many
    arguments = {"lambda_.Function": 'role="r", runtime="python3.13", handler="a.h", code=pulumi.AssetArchive({})',
                 "iam.Role": 'assume_role_policy="{}"', "sns.Topic": ""}[token]
    _, document = resources(tmp_path, f"""
        import pulumi, pulumi_aws as aws
        aws.{token}("{logical}", {arguments})
    """)
    [finding] = name_findings(document)
    assert (f"name '{logical}-' plus 7 random chars is longer than maximum length {limit}") in finding
    assert "Shorten the resource name or set name" in finding


def test_an_sns_topic_the_provider_refuses_is_one_aws_would_accept(tmp_path):
    """The provider's limit (80) is not AWS's (256): only the provider's refusal can catch it."""
    assert OVERRIDES["aws:sns/topic:Topic"].refusal("t" * 73) and not OVERRIDES["aws:sns/topic:Topic"].refusal("t" * 72)


def test_a_bucket_is_lower_cased_and_an_event_archive_past_48_characters_is_refused(tmp_path):
    found, document = resources(tmp_path, """
        import pulumi_aws as aws
        aws.s3.Bucket("SiteAssets")
        bus = aws.cloudwatch.EventBus("bus", name="bus")
        aws.cloudwatch.EventArchive("a-ledger-archive-kept-for-replays-of-clicks", event_source_arn=bus.arn)
    """)
    assert re.fullmatch(r"siteassets-[0-9a-f]{7}", found["SiteAssets"].inputs["bucket"])
    [finding] = name_findings(document)
    assert "EventBridge archive names are 1 to 48" in finding and "made by the aws provider" in finding


def test_an_iot_rule_is_joined_by_an_underscore_and_a_kms_alias_gets_its_prefix(tmp_path):
    found, document = resources(tmp_path, """
        import pulumi_aws as aws
        aws.iot.TopicRule("states", enabled=True, sql="SELECT * FROM 'a'", sql_version="2016-03-23")
        aws.kms.Alias("orders", target_key_id="k")
    """)
    assert re.fullmatch(r"states_[0-9a-f]{7}", found["states"].inputs["name"]), "a dash is not allowed in rules"
    assert re.fullmatch(r"alias/orders-[0-9a-f]{7}", found["orders"].inputs["name"])
    assert not name_findings(document)


def test_names_the_program_sets_or_prefixes_and_dns_records_are_never_auto_named():
    assert with_auto_name("aws:sqs/queue:Queue", "q", {"name": "mine"})["name"] == "mine"
    assert "name" not in with_auto_name("aws:iam/role:Role", "r", {"namePrefix": "svc-"})
    assert rule_for("aws:route53/record:Record", {}) is None
    assert rule_for("kubernetes:core/v1:Pod", {}) is None


def test_every_other_type_with_a_name_gets_the_providers_default():
    assert rule_for("aws:dynamodb/table:Table", {}) == DEFAULT
    assert rule_for("aws:cloudwatch/eventBus:EventBus", {}) == DEFAULT
    assert rule_for("aws:ec2/vpc:Vpc", {}) is None, "no name property, nothing to name"


def test_sql_server_identifiers_get_the_providers_shorter_rule():
    rule = rule_for("aws:rds/instance:Instance", {"engine": "sqlserver-ex"})
    assert (rule.maxlen, rule.randlen) == (15, 3)
    assert rule.refusal("a" * 12) and not rule.refusal("a" * 11)  # 11 + "-" + 3 = 15


def test_glue_names_use_random_letters_so_athena_accepts_them():
    made = with_auto_name("aws:glue/catalogDatabase:CatalogDatabase", "Sales", {})["name"]
    assert re.fullmatch(r"sales_[a-z]{8}", made)


def test_the_pack_recognises_only_names_made_from_the_resource_name():
    rule = OVERRIDES["aws:lambda/function:Function"]
    assert made_from(rule, "orders", "orders-0a1b2c3")
    assert not made_from(rule, "orders", "orders-prod") and not made_from(rule, "orders", "other-0a1b2c3")
