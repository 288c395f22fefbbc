"""`conduit cost`: the arithmetic against hand-computed cases, the Kinesis break-even, the command,
and the README's table kept true to what the command prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

from conduit.cost import model as cost
from conduit.cost import price_list
from conduit.local import usage
from conduit.local.usage import stale_flows
from conduit.mqtt_topics import topic_matches
from tests.conftest import REPO

PRICES = {"regions": {"us-east-1": {"source": "test", "retrieved": "2026-11-23", "prices": {
    "lambda.requests": {"usd": 0.20, "per": 1_000_000}, "lambda.gbSeconds": {"usd": 0.0000133334, "per": 1},
    "dynamodb.writeRequestUnits": {"usd": 0.625, "per": 1_000_000}, "s3.putRequests": {"usd": 0.005, "per": 1000},
    "iot.messages": {"usd": 1.00, "per": 1_000_000}, "iot.rulesTriggered": {"usd": 0.15, "per": 1_000_000},
    "iot.actionsExecuted": {"usd": 0.15, "per": 1_000_000}},
    "kinesis": {"onDemandStreamHour": 0.04, "onDemandIngestPerGb": 0.08, "onDemandRetrievalPerGb": 0.04,
                "provisionedShardHour": 0.015, "provisionedPutPayloadUnitsPerMillion": 0.014}}}}
PROFILE = {"measured": "2026-11-23", "note": "test", "flows": {
    "CSV row": {"system": "message-ingest", "unit": "row", "usage": {
        "lambda.requests": 0.12, "lambda.gbSeconds": 0.0025, "dynamodb.writeRequestUnits": 1.0,
        "s3.putRequests": 0.01}},
    "sell event": {"system": "exchange-events", "unit": "event", "usage": {
        "lambda.requests": 1.0, "iot.messages": 1.0, "iot.rulesTriggered": 1.0, "iot.actionsExecuted": 1.0}}}}


def test_a_flow_costs_the_sum_of_its_usage_at_list_prices():
    estimate = cost.estimate(PROFILE, PRICES, "dev", "us-east-1", 250_000)
    row = next(f for f in estimate["flows"] if f["flow"] == "CSV row")
    # By hand, per million rows: requests 0.12 x 0.20 = 0.024; GB-s 2,500 x 0.0000133334 = 0.0333335;
    # writes 1.0 x 0.625 = 0.625; PUTs 10,000 x 0.005 / 1,000 = 0.05. Total 0.7323335.
    assert row["usdPerMillion"] == 0.73
    assert row["items"] == {"dynamodb.writeRequestUnits": 0.625, "s3.putRequests": 0.05,
                            "lambda.gbSeconds": 0.0333, "lambda.requests": 0.024}
    assert row["usdPerDay"] == round(0.7323335 / 4, 2)  # a quarter of a million rows a day
    assert estimate["freeTier"] == "ignored" and estimate["priceRegion"] == "us-east-1"


def test_the_kinesis_break_even_is_where_the_stream_s_fixed_cost_is_paid_back():
    # IoT per event: 1.0 + 0.15 + 0.15 = 1.30 $/million. On demand: 0.96 $/day fixed, and per 1 KB event
    # (0.08 + 0.04) $/GB x 1024 / 2**30 GB = 0.000000114441 $; break-even 0.96 / (1.3e-6 - 1.14441e-7).
    even = cost.estimate(PROFILE, PRICES, "dev", "us-east-1", 1)["kinesisBreakEvenEventsPerDay"]
    assert even["onDemand"] == round(0.96 / (1.3e-6 - 0.12 * 1024 / 2**30))
    # One shard: 0.36 $/day fixed, 0.014 $ per million PUT payload units: 0.36 / (1.3e-6 - 0.014e-6).
    assert even["provisioned"] == round(0.36 / (1.3e-6 - 0.014e-6)) == 279938


def test_kinesis_never_wins_when_iot_costs_less_per_event():
    assert cost.kinesis_break_even(0.0, PRICES["regions"]["us-east-1"]["kinesis"]) == {
        "onDemand": None, "provisioned": None}


def test_a_region_or_a_price_the_table_lacks_is_refused_with_what_it_has():
    with pytest.raises(cost.CostError, match=r"no prices for ap-south-1; it has \['us-east-1'\]"):
        cost.estimate(PROFILE, PRICES, "dev", "ap-south-1", 1)
    odd = {**PROFILE, "flows": {"x": {"system": "s", "unit": "u", "usage": {"sns.publishes": 1.0}}}}
    with pytest.raises(cost.CostError, match=r"no price for sns\.publishes"):
        cost.estimate(odd, PRICES, "dev", "us-east-1", 1)


def test_every_dimension_the_committed_profile_uses_has_a_price():
    profile, prices = cost.load(cost.PROFILE), cost.load(cost.PRICES)
    for region in prices["regions"]:
        cost.estimate(profile, prices, "dev", region, 1)
    assert {"CSV row", "POST /message", "upload", "currency update", "sell event", "buy event", "click"} == set(
        profile["flows"])


def conduit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conduit.main", *args], capture_output=True, text=True, cwd=REPO)


def test_conduit_cost_json_has_the_documented_shape():
    result = conduit("cost", "--stack", "dev", "--events-per-day", "1000000", "--price-region", "us-east-1", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"stack", "eventsPerDay", "flows", "kinesisBreakEvenEventsPerDay"} <= set(document)
    assert document["stack"] == "dev" and document["eventsPerDay"] == 1_000_000 and document["region"] == "eu-west-1"
    for flow in document["flows"]:
        assert {"flow", "usdPerMillion", "usdPerDay", "items"} <= set(flow)
        assert flow["usdPerDay"] == pytest.approx(flow["usdPerMillion"], abs=0.01)
    assert set(document["kinesisBreakEvenEventsPerDay"]) == {"onDemand", "provisioned"}


def test_every_stack_of_the_repo_is_priced_in_its_own_region():
    prices = cost.load(cost.PRICES)
    for stack_file in REPO.glob("Pulumi.*.yaml"):
        region = yaml.safe_load(stack_file.read_text())["config"]["aws:region"]
        assert region in prices["regions"], f"{stack_file.name}: no prices for {region}"
    result = conduit("cost", "--stack", "dev", "--events-per-day", "1000")
    assert result.returncode == 0, result.stderr
    assert "eu-west-1 list prices" in result.stdout


def test_prices_not_confirmed_against_aws_are_named_in_the_output():
    prices = json.loads(json.dumps(PRICES))
    prices["regions"]["us-east-1"]["prices"]["s3.putRequests"]["checked"] = None
    for entry in prices["regions"]["us-east-1"]["prices"].values():
        entry.setdefault("checked", "2026-11-23")
    estimate = cost.estimate(PROFILE, prices, "dev", "us-east-1", 1)
    assert estimate["prices"]["unchecked"] == ["s3.putRequests", "kinesis"]
    assert "Not yet checked against AWS's price list (us-east-1): s3.putRequests, kinesis" in cost.render(estimate)


def test_a_stack_is_priced_for_the_systems_it_deploys_only():
    estimate = cost.estimate(PROFILE, PRICES, "ingest-only", "us-east-1", 1, systems=["message-ingest"])
    assert [f["flow"] for f in estimate["flows"]] == ["CSV row"]
    assert estimate["kinesisBreakEvenEventsPerDay"] is None
    committed = cost.estimate(cost.load(cost.PROFILE), cost.load(cost.PRICES), "s", "eu-west-1", 1,
                              systems=["cat-feeder"])
    assert {f["system"] for f in committed["flows"]} == {"cat-feeder"}


def test_a_program_that_is_not_conduit_is_told_what_its_resources_are_billed_by(tmp_path):
    project = tmp_path / "other"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: other\nruntime: python\n")
    (project / "Pulumi.t.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (project / "__main__.py").write_text(
        "import pulumi_aws as aws\n"
        "role = aws.iam.Role('r', assume_role_policy='{}')\n"
        "aws.lambda_.Function('f', role=role.arn, runtime='python3.13', handler='h.h',\n"
        "                     code=__import__('pulumi').AssetArchive({}))\n"
        "aws.sqs.Queue('q')\naws.ec2.Instance('i', ami='ami-1', instance_type='t3.micro')\n")
    result = subprocess.run([sys.executable, "-m", "conduit.main", "cost", "--stack", "t", "--events-per-day", "10",
                             "-C", str(project)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "is not Conduit" in text and "CSV row" not in text
    priced, rest = text.split("no charge of their own:")
    assert "aws:lambda/function:Function (1): lambda.requests, lambda.gbSeconds" in priced
    assert "aws:sqs/queue:Queue (1): sqs.requests" in priced
    free, unpriced = rest.split("not priced by conduit cost")
    assert "aws:iam/role:Role (1)" in free and "aws:ec2/instance:Instance (1)" in unpriced


def test_refreshing_reads_the_first_tier_of_each_usage_type_from_aws_offer_files():
    def offer(usage_type: str, usd: str) -> dict:
        return {"products": {"SKU1": {"sku": "SKU1", "attributes": {"usagetype": usage_type}}},
                "terms": {"OnDemand": {"SKU1": {"SKU1.JRTCKXETXF": {"priceDimensions": {
                    "SKU1.JRTCKXETXF.6YS6EN2CT7": {"beginRange": "0", "endRange": "7500000000", "unit": "Second",
                                                   "pricePerUnit": {"USD": usd}},
                    "SKU1.JRTCKXETXF.X": {"beginRange": "7500000000", "endRange": "Inf", "unit": "Second",
                                          "pricePerUnit": {"USD": "0.0000120001"}}}}}}}}

    fetched = []

    def fetch(url: str) -> dict:
        fetched.append(url)
        if "/AWSLambda/" in url:
            lambda_offer = offer("EU-Lambda-GB-Second-ARM", "0.0000133334")
            lambda_offer["products"]["SKU2"] = {"attributes": {"usagetype": "EU-Request-ARM"}}
            lambda_offer["terms"]["OnDemand"]["SKU2"] = {"T": {"priceDimensions": {"D": {
                "beginRange": "0", "pricePerUnit": {"USD": "0.0000002"}}}}}
            return lambda_offer
        if "/AmazonDynamoDB/" in url:
            return offer("EU-WriteRequestUnits", "0.0000007068")
        return {"products": {}, "terms": {}}

    table = {"regions": {}}
    missing = price_list.refresh_region(table, "eu-west-1", "2026-12-03", fetch)
    block = table["regions"]["eu-west-1"]
    assert block["prices"]["lambda.gbSeconds"] == {"usd": 0.0000133334, "per": 1, "what": "lambda.gbSeconds",
                                                   "checked": "2026-12-03"}
    assert block["prices"]["lambda.requests"]["usd"] == pytest.approx(0.20)
    assert block["prices"]["dynamodb.writeRequestUnits"]["usd"] == pytest.approx(0.7068)
    assert "sqs.requests" in missing and block["prices"]["sqs.requests"]["checked"] is None
    assert all(u.startswith("https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/") and "/eu-west-1/" in u
               for u in fetched)
    assert len(fetched) == len({d.service for d in price_list.DIMENSIONS.values()}), "one download per service"


def test_the_readme_cost_table_is_what_conduit_cost_prints():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- (conduit cost [^>]+) -->\n```text\n(.*?)\n```", readme, re.S)
    assert block, "the README has no cost table"
    result = conduit(*block.group(1).split()[1:])
    assert result.returncode == 0, result.stderr
    assert block.group(2) == result.stdout.rstrip("\n"), f"the README's cost table drifted: run {block.group(1)}"


@pytest.mark.parametrize(("topic_filter", "topic", "matches"), [
    ("event/+", "event/buy", True), ("event/buy", "event/sell", False), ("cat-feeder/+/states",
                                                                        "cat-feeder/kitchen/states", True),
    ("alert/#", "alert/fraud/x", True), ("event/+", "event/buy/x", False)])
def test_topic_filters_select_topics_as_iot_rules_do(topic_filter, topic, matches):
    assert topic_matches(topic_filter, topic) is matches


def test_a_changed_flow_makes_the_profile_stale_and_says_how():
    committed = {"flows": {"sell event": {"unit": "event", "calls": {"iot:Publish": 1.0}},
                           "gone": {"unit": "event", "calls": {}}}}
    measured = {"flows": {"sell event": {"unit": "event", "calls": {"iot:Publish": 1.0, "dynamodb:PutItem": 1.0}}}}
    assert stale_flows(measured, committed) == {
        "sell event": "dynamodb:PutItem: 0 -> 1.0 per event", "gone": "no longer measured"}
    assert stale_flows({"flows": {"sell event": {"unit": "event", "calls": {"iot:Publish": 1.04}}}},
                       {"flows": {"sell event": {"unit": "event", "calls": {"iot:Publish": 1.0}}}}) == {}


class _Logs:
    """The emulator's CloudWatch Logs as the measurement reads it: REPORT lines per function."""

    class exceptions:
        ResourceNotFoundException = LookupError

    def __init__(self, lines: dict[str, list[str]]) -> None:
        self.lines = lines

    def filter_log_events(self, logGroupName: str, startTime: int) -> dict:
        name = logGroupName.removeprefix("/aws/lambda/")
        if name not in self.lines:
            raise LookupError(name)
        return {"events": [{"timestamp": startTime, "message": m} for m in self.lines[name]]}


def test_a_measurement_that_saw_a_timeout_or_a_failure_is_named_so_it_is_made_again():
    """A loaded machine times an invocation out and its retry adds calls the flow does not make:
    conduit.local.usage measures such a flow again (the REPORT line's status, as the local cloud's
    Lambda rules write it)."""
    logs = _Logs({"store": ["START RequestId: a", "REPORT RequestId: a Duration: 5000.12 ms Phase: invoke "
                            "Status: timeout", "REPORT RequestId: b Duration: 12.00 ms"],
                  "reader": ["REPORT RequestId: c Duration: 30.00 ms Status: error"],
                  "clean": ["REPORT RequestId: d Duration: 8.00 ms"]})
    emulator = type("Emulator", (), {"client": staticmethod(lambda service: logs)})()
    assert usage.disturbed_invocations(emulator, ["store", "reader", "clean", "never-ran"], 0) == [
        "store: timeout", "reader: error"]
