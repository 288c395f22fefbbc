"""Measure, per event of each flow, the service usage AWS prices: `conduit local profile`.

Each system's scenario declares its flows (`Scenario.usage_flows`): how to send a number of events
and what the client itself spends doing so (an API request, an S3 PUT, a device's MQTT messages).
Everything else is read on the local cloud while the flow runs alone:

- Lambda requests and GB-s from every function's REPORT log lines (memory x duration);
- API calls of every role (functions and IoT rule roles) from the launcher's audit, priced per
  call: SQS, DynamoDB, S3, SNS, EventBridge, IoT data plane and KMS requests;
- what AWS does on the program's behalf, derived from the deployed wiring: Lambda's SQS poller
  (one ReceiveMessage and one DeleteMessageBatch per invocation it makes), IoT rules triggered
  and actions executed for every message published on a topic their SQL selects.

The result is the usage profile (`conduit/cost/usage-profile.json`) that `conduit cost` prices.
Durations come from the emulator on this machine and overstate what Lambda bills on AWS; the
profile says so.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from conduit.cost.model import PROFILE
from conduit.local import emulator as emulators
from conduit.local.audit import TRANSACTION_UNITS, audit_entries, audit_length, function_name, role_name
from conduit.local.deployment import LocalDeployment, deploy
from conduit.local.emulator import Emulator
from conduit.local.ingest_bench import durations, report_lines
from conduit.local.scenario import Stage, UsageFlow
from conduit.local.scenarios import SCENARIOS
from conduit.local.traffic import stored_items
from conduit.mqtt_topics import topic_matches

# Each role call is priced as one request of its service's dimension; writes and reads are
# request units of items under 1 KB / 4 KB (the program's items are), reads counted as strongly
# consistent (the dearer case).
PRICED_CALLS = {
    "sqs:SendMessage": "sqs.requests", "sqs:ReceiveMessage": "sqs.requests", "sqs:DeleteMessage": "sqs.requests",
    "sqs:ChangeMessageVisibility": "sqs.requests", "sqs:GetQueueAttributes": "sqs.requests",
    "dynamodb:PutItem": "dynamodb.writeRequestUnits", "dynamodb:UpdateItem": "dynamodb.writeRequestUnits",
    "dynamodb:DeleteItem": "dynamodb.writeRequestUnits",
    "dynamodb:GetItem": "dynamodb.readRequestUnits", "dynamodb:Query": "dynamodb.readRequestUnits",
    "dynamodb:Scan": "dynamodb.readRequestUnits", "dynamodb:BatchGetItem": "dynamodb.readRequestUnits",
    "s3:PutObject": "s3.putRequests", "s3:CopyObject": "s3.putRequests", "s3:ListBucket": "s3.putRequests",
    "s3:GetObject": "s3.getRequests", "s3:HeadObject": "s3.getRequests",
    "sns:Publish": "sns.publishes", "events:PutEvents": "eventbridge.events", "iot:Publish": "iot.messages",
    "kms:Decrypt": "kms.requests", "kms:GenerateDataKey": "kms.requests", "kms:Encrypt": "kms.requests",
}
# BatchWriteItem writes up to 25 items a call: its units are the items it wrote (table growth).
BATCH_WRITE = "dynamodb:BatchWriteItem"
# Calls made once per container, not per event: kept out of the per-event profile.
ONCE_PER_CONTAINER = {"iot:DescribeEndpoint", "iot:DescribeThing"}  # a feeder is looked up once per container
EXCLUDED = ("CloudWatch Logs ingestion and storage", "X-Ray traces", "EventBridge archive storage and replays",
            "DynamoDB storage and stream reads (free for Lambda triggers)", "S3 storage", "data transfer",
            "SQS empty long polls while idle", "SQS requests of SNS deliveries into a queue",
            "KMS requests the services make with the program's keys", "the free tier")


# What a topic rule's action does on the rule role's behalf, priced like the call it makes (the
# emulator runs rule actions without the audit seeing them). A lambda action's invocation is
# measured from the function's REPORT lines instead.
RULE_ACTIONS = {"dynamodbv2s": "dynamodb.writeRequestUnits", "dynamodbs": "dynamodb.writeRequestUnits",
                "s3": "s3.putRequests", "sns": "sns.publishes", "sqs": "sqs.requests", "republishes": "iot.messages",
                "lambdas": None}


def topic_rules(deployment: LocalDeployment) -> list[tuple[str, list[str]]]:
    """(topic filter, action kinds) of every topic rule the stack deploys."""
    rules = []
    for resource in deployment.resources:
        if resource.type != "aws:iot/topicRule:TopicRule":
            continue
        inputs = resource.inputs
        topic_filter = inputs["sql"].split(" FROM '", 1)[1].split("'", 1)[0]
        kinds = [kind for kind in RULE_ACTIONS for _ in inputs.get(kind) or []]
        rules.append((topic_filter, kinds))
    return rules


def _rule_roles(deployment: LocalDeployment) -> set[str]:
    """Names of the roles IoT rules act as: their calls are priced through RULE_ACTIONS."""
    return {r.inputs.get("name", "") for r in deployment.resources
            if r.type == "aws:iam/role:Role" and "iot.amazonaws.com" in str(r.inputs.get("assumeRolePolicy"))}


def _functions(emulator: Emulator) -> dict[str, int]:
    lam, found, marker = emulator.client("lambda"), {}, None
    while True:
        page = lam.list_functions(**({"Marker": marker} if marker else {}))
        found.update({f["FunctionName"]: f.get("MemorySize", 128) for f in page["Functions"]})
        marker = page.get("NextMarker")
        if not marker:
            return found


def _queue_mappings(emulator: Emulator) -> list[dict[str, Any]]:
    """The event source mappings through which a function consumes a queue."""
    mappings = emulator.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    return [m for m in mappings if m["EventSourceArn"].startswith("arn:aws:sqs:")]


def _queue_triggered(emulator: Emulator) -> set[str]:
    return {function_name(m["FunctionArn"]) for m in _queue_mappings(emulator)}


def _settle(emulator: Emulator, functions: list[str], since_ms: int, quiet_seconds: float = 2.0) -> None:
    """Wait until nothing more happens: no role call and no invocation for `quiet_seconds`."""
    def activity() -> tuple[int, int]:
        return audit_length(emulator.audit_log), sum(len(durations(emulator, f, since_ms)) for f in functions)

    last, quiet_since, deadline = activity(), time.monotonic(), time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = activity()
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return


def _drained(emulator: Emulator, patience_seconds: float = 180) -> None:
    """Wait until no queue a function consumes holds a message, visible, in flight or delayed: an
    earlier flow's retry (a poison message's next receive) would otherwise land in this one."""
    sqs = emulator.client("sqs")
    urls = [sqs.get_queue_url(QueueName=m["EventSourceArn"].rsplit(":", 1)[1])["QueueUrl"]
            for m in _queue_mappings(emulator)]
    counts = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
              "ApproximateNumberOfMessagesDelayed"]
    deadline = time.monotonic() + patience_seconds
    while time.monotonic() < deadline:
        held = [sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counts)["Attributes"] for url in urls]
        if not any(int(attributes.get(count, 0)) for attributes in held for count in counts):
            return
        time.sleep(1)


def disturbed_invocations(emulator: Emulator, functions: list[str], since_ms: int) -> list[str]:
    """Invocations since `since_ms` that timed out or failed: the retries they cause are the machine's
    load, not the flow, and a measurement that saw one is made again."""
    return [f"{function}: {line.rsplit('Status: ', 1)[1].strip()}" for function in functions
            for _, line in report_lines(emulator, function, since_ms)
            if "Status: timeout" in line or "Status: error" in line]


def measure_flow(stage: Stage, flow: UsageFlow, units: int | None = None, attempts: int = 3) -> dict[str, Any]:
    """Run the flow alone and return its usage per unit, its role calls and invocations per unit; a
    run in which an invocation timed out or failed (a loaded machine) is run again, up to `attempts`."""
    measured, disturbed = _measure_flow(stage, flow, units)
    for _ in range(attempts - 1):
        if not disturbed:
            break
        print(f"  measuring {flow.name} again: {', '.join(disturbed[:3])}", file=sys.stderr)
        measured, disturbed = _measure_flow(stage, flow, units)
    return measured


def _measure_flow(stage: Stage, flow: UsageFlow, units: int | None) -> tuple[dict[str, Any], list[str]]:
    emulator, units = stage.emulator, units or flow.units
    functions = _functions(emulator)
    _drained(emulator)
    _settle(emulator, list(functions), int(time.time() * 1000) - 5000, quiet_seconds=1.0)  # earlier traffic done
    tables = emulator.client("dynamodb").list_tables()["TableNames"]
    sizes_before, audit_start = {t: stored_items(emulator, t) for t in tables}, audit_length(emulator.audit_log)
    since_ms = int(time.time() * 1000) - 500
    client = flow.run(stage, units)
    _settle(emulator, list(functions), since_ms)
    rule_roles = _rule_roles(stage.deployment)
    audited = [e for e in audit_entries(emulator.audit_log, audit_start)
               if e["allowed"] and role_name(e["principal"]) not in rule_roles]
    calls = Counter(e["action"] for e in audited)
    published = [e["resource"].split(":topic/", 1)[1] for e in audited
                 if e["action"] == "iot:Publish" and ":topic/" in e["resource"]]
    sizes_after = {t: stored_items(emulator, t) for t in tables}
    usage: Counter[str] = Counter(client.counts)
    invocations: dict[str, float] = {}
    queue_triggered = _queue_triggered(emulator)
    for function, memory in functions.items():
        runs = durations(emulator, function, since_ms)
        if not runs:
            continue
        invocations[function] = len(runs)
        usage["lambda.requests"] += len(runs)
        usage["lambda.gbSeconds"] += sum(seconds for _, seconds in runs) * memory / 1024
        if function in queue_triggered:  # Lambda's poller: a receive and a delete per batch it delivers
            usage["sqs.requests"] += 2 * len(runs)
    for entry in audited:
        if entry["action"] in PRICED_CALLS:
            usage[PRICED_CALLS[entry["action"]]] += TRANSACTION_UNITS if entry.get("within") else 1
    if calls[BATCH_WRITE]:
        usage["dynamodb.writeRequestUnits"] += sum(max(0, sizes_after[t] - sizes_before[t]) for t in tables)
    for topic in published + client.device_topics:
        for topic_filter, kinds in topic_rules(stage.deployment):
            if topic_matches(topic_filter, topic):
                usage["iot.rulesTriggered"] += 1
                usage["iot.actionsExecuted"] += len(kinds)
                for kind in kinds:
                    if RULE_ACTIONS[kind]:
                        usage[RULE_ACTIONS[kind]] += 1
    short = {f: f.removeprefix(f"conduit-{stage.stack}-") for f in invocations}
    return {
        "unit": flow.unit, "measuredUnits": units,
        "usage": {k: round(v / units, 6) for k, v in sorted(usage.items()) if v},
        "calls": {a: round(n / units, 3) for a, n in sorted(calls.items()) if a not in ONCE_PER_CONTAINER},
        "invocations": {short[f]: round(n / units, 3) for f, n in sorted(invocations.items())},
    }, disturbed_invocations(emulator, list(functions), since_ms)


def measure_profile(deployment: LocalDeployment, project_dir: Path, scale: float = 1.0) -> dict[str, Any]:
    flows: dict[str, Any] = {}
    for scenario in SCENARIOS:
        stage = scenario.stage(deployment, project_dir)
        if stage is None:
            continue
        for flow in scenario.usage_flows():
            units = max(1, round(flow.units * scale))
            print(f"  measuring {flow.name}: {units} {flow.unit}(s)", file=sys.stderr)
            flows[flow.name] = {"system": scenario.system_name, **measure_flow(stage, flow, units)}
    return {
        "measured": datetime.date.today().isoformat(), "stack": deployment.stack,
        "note": ("Measured by `conduit local profile` on the local cloud: Lambda durations are the emulator's on "
                 "the measuring machine (an upper bound for AWS); write and read units assume items under 1 KB "
                 "and 4 KB, reads strongly consistent. Not included: " + ", ".join(EXCLUDED) + "."),
        "flows": flows,
    }


def stale_flows(measured: dict[str, Any], committed: dict[str, Any]) -> dict[str, str]:
    """Flows whose role calls per unit differ from the committed profile's, and how."""
    problems = {}
    for name, flow in measured["flows"].items():
        known = committed["flows"].get(name)
        if known is None:
            problems[name] = "not in the committed profile"
            continue
        now, then = flow["calls"], known["calls"]
        diffs = [f"{a}: {then.get(a, 0)} -> {now.get(a, 0)} per {flow['unit']}" for a in sorted(set(now) | set(then))
                 if abs(now.get(a, 0) - then.get(a, 0)) > 0.05 + 0.15 * max(now.get(a, 0), then.get(a, 0))]
        if diffs:
            problems[name] = "; ".join(diffs)
    for name in set(committed["flows"]) - set(measured["flows"]):
        problems[name] = "no longer measured"
    return problems


def load_profile(path: Path = PROFILE) -> dict[str, Any]:
    return json.loads(path.read_text())


def write_profile(profile: dict[str, Any], path: Path = PROFILE) -> None:
    path.write_text(json.dumps(profile, indent=2, sort_keys=False) + "\n")


def run_profile(stack: str, project_dir: Path, state_dir: Path, scale: float, write: bool) -> int:
    """Deploy, measure every flow alone, stop; print the profile, or write it where `conduit cost` reads it."""
    print(f"Measuring the usage profile on the local cloud: stack '{stack}', scale {scale}", file=sys.stderr)
    try:
        emulators.stop(state_dir)
        profile = measure_profile(deploy(stack, project_dir, state_dir), project_dir, scale)
    finally:
        emulators.stop(state_dir)
    if write:
        write_profile(profile)
        print(f"wrote {PROFILE}", file=sys.stderr)
    else:
        print(json.dumps(profile, indent=2))
    return 0
