"""Exchange events on the local cloud: events through IoT rules into the archive, fraud alerts out."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conduit.local.ingest_bench import durations
from conduit.local.scenario import (
    Account,
    BenchOptions,
    ClientUsage,
    Scenario,
    SoakOptions,
    Stage,
    UsageFlow,
    expect,
    measure,
    say,
)
from conduit.local.traffic import call_api, observe_topic, received, stored_items, wait_until
from infra.systems import EXCHANGE_EVENTS


class ExchangeEventsScenario(Scenario):
    system = EXCHANGE_EVENTS

    def demo(self, stage: Stage) -> bool:
        print("\nExchange events: POST /event -> IoT topics -> archive, fraud check, alerts")
        emulator, outputs = stage.emulator, stage.outputs
        alerts = observe_topic(emulator, outputs["alertsTopicArn"], "demo-fraud-alerts")
        url = outputs["apiUrl"] + "event"
        started = time.perf_counter()
        posted = [call_api(emulator, url, "POST", body) for body in (
            {"type": "buy", "price": 123.45, "account": "alice"}, {"type": "sell", "price": 99.5},
            {"type": "buy", "price": 25000, "account": "bob"})]
        say("POSTed a small buy, a sell and a large buy -> " + ", ".join(str(p.status) for p in posted))
        bad = call_api(emulator, url, "POST", {"type": "buy/#"})
        say(f"POST with type 'buy/#' -> {bad.status} {bad.body.get('message', '')[:80]}")
        def archived() -> int:
            return stored_items(emulator, outputs["archiveTable"])

        wait_until(lambda: archived() >= 3, 30, "archive")
        say(f"{archived()} events archived in {outputs['archiveTable']}", time.perf_counter() - started)
        raised = wait_until(lambda: received(emulator, alerts), 30, "a fraud alert")
        for alert in raised:
            say(f"alert on {alert['event']['type']} {alert['event'].get('price')}: {'; '.join(alert['reasons'])}",
                time.perf_counter() - started)
        say("(alerts are also archived in S3 by the rule's s3 action on AWS; the emulator does not run that action)")
        return all(p.status == 202 for p in posted) and bad.status == 400 and len(raised) == 1

    def bench(self, stage: Stage, options: BenchOptions) -> dict[str, Any]:
        def flow(n: int) -> None:
            post_and_archive(stage, {"type": "sell", "price": n, "id": f"bench-{n}"}, interval=0.01)

        latency = measure("POST /event -> IoT rule -> archive", options.events, flow, options.progress)
        return {"flows": {"sell event": latency.figures()}}

    def soak(self, stage: Stage, options: SoakOptions) -> list[Account]:
        return [soak_events(stage, options)]

    def usage_flows(self) -> list[UsageFlow]:
        return [UsageFlow("sell event", "event", 20, lambda stage, n: usage_events(stage, n, "sell")),
                UsageFlow("buy event", "event", 20, lambda stage, n: usage_events(stage, n, "buy"))]


def post_and_archive(stage: Stage, event: dict[str, Any], interval: float) -> None:
    """POST /event, then wait until the archive holds it (read from the table, not through an API)."""
    posted = call_api(stage.emulator, stage.outputs["apiUrl"] + "event", "POST", event)
    expect(posted.status == 202, f"POST /event {event['id']} should answer 202", posted)
    dynamodb = stage.emulator.client("dynamodb")
    wait_until(lambda: dynamodb.query(TableName=stage.outputs["archiveTable"], KeyConditionExpression="id = :i",
                                      ExpressionAttributeValues={":i": {"S": event["id"]}})["Count"],
               60, f"event {event['id']} archived", interval=interval)


def usage_events(stage: Stage, events: int, kind: str) -> ClientUsage:
    """Events archived; a buy (under the price threshold, each from its own account, so no alert) also
    goes through the fraud checker."""
    tag = time.time_ns() % 10**9
    fraud, since_ms = f"conduit-{stage.stack}-exchange-events-fraud", int(time.time() * 1000)
    for n in range(events):
        post_and_archive(stage, {"type": kind, "price": 500, "id": f"usage-{kind}-{tag}-{n}",
                                 "account": f"usage-{tag}-{n}"}, interval=0.02)
        if kind == "buy":  # one event at a time: a burst would price the cold starts of extra containers
            wait_until(lambda k=n: len(durations(stage.emulator, fraud, since_ms)) > k, 60, f"buy {n} checked", 0.02)
    return ClientUsage(Counter({"apiGateway.httpRequests": events}))


def soak_events(stage: Stage, options: SoakOptions) -> Account:
    """Events at once, with duplicate ids, bad types and unarchivable numbers mixed in: every accepted
    event archived, every other refused with a 4xx, nothing in the rule-error queue."""
    emulator, outputs = stage.emulator, stage.outputs
    url = outputs["apiUrl"] + "event"
    bodies: list[Any] = []
    for n in range(options.scale):
        bodies.append({"type": "sell", "price": n, "id": f"soak-{n}", "account": "soak"})
        if n % 10 == 0:
            bodies += [{"type": "buy/#"}, {"type": "sell", "price": "1e400"}, {"type": "sell", "price": 1e308 * 10},
                       b"[" * 3000 + b"]" * 3000]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda body: call_api(emulator, url, "POST", body, timeout=options.patience), bodies))
    accepted = [r.body["id"] for r in results if r.status == 202]
    dynamodb = emulator.client("dynamodb")

    def archived() -> set[str]:
        found, start = set(), None
        while True:
            page = dynamodb.scan(TableName=outputs["archiveTable"], ConsistentRead=True,
                                 **({"ExclusiveStartKey": start} if start else {}))
            found |= {i["id"]["S"] for i in page["Items"]}
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    problems = []
    try:
        options.wait(stage, lambda: set(accepted) <= archived(), "every accepted event archived",
                   interval=0.5)
    except Exception as exc:
        problems.append(str(exc))
    errors = int(emulator.client("sqs").get_queue_attributes(
        QueueUrl=outputs["ruleErrorsUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"])
    if any(r.status >= 500 for r in results):
        problems.append(f"{sum(r.status >= 500 for r in results)} request(s) got a 5xx")
    outcomes = {"archived": len(set(accepted) & archived()), "refused with a 4xx": sum(
        400 <= r.status < 500 for r in results), "in the rule-error queue": errors}
    return Account("exchange events (hostile events)", len(bodies), outcomes, problems)
