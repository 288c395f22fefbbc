"""Exchange events on the local cloud: events through IoT rules into the archive, fraud alerts out."""

from __future__ import annotations

import time

from conduit.local.scenario import BenchOptions, Scenario, Stage, expect, latencies, percentiles, say
from conduit.local.traffic import call_api, observe_topic, received, wait_until


class ExchangeEventsScenario(Scenario):
    system_name = "exchange-events"

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
        table = emulator.client("dynamodb")

        def archived() -> int:
            return table.scan(TableName=outputs["archiveTable"], Select="COUNT")["Count"]

        wait_until(lambda: archived() >= 3, 30, "archive")
        say(f"{archived()} events archived in {outputs['archiveTable']}", time.perf_counter() - started)
        raised = wait_until(lambda: received(emulator, alerts), 30, "a fraud alert")
        for alert in raised:
            say(f"alert on {alert['event']['type']} {alert['event'].get('price')}: {'; '.join(alert['reasons'])}",
                time.perf_counter() - started)
        say("(alerts are also archived in S3 by the rule's s3 action on AWS; the emulator does not run that action)")
        return all(p.status == 202 for p in posted) and bad.status == 400 and len(raised) == 1

    def bench(self, stage: Stage, options: BenchOptions) -> None:
        emulator, outputs = stage.emulator, stage.outputs
        url, dynamodb = outputs["apiUrl"] + "event", emulator.client("dynamodb")

        def flow(n: int) -> None:
            posted = call_api(emulator, url, "POST", {"type": "sell", "price": n, "id": f"bench-{n}"})
            expect(posted.status == 202, f"POST /event {n} should answer 202", posted)
            wait_until(lambda: dynamodb.query(TableName=outputs["archiveTable"], KeyConditionExpression="id = :i",
                                              ExpressionAttributeValues={":i": {"S": f"bench-{n}"}})["Count"], 60,
                       f"event {n} archived", interval=0.01)

        print(f"  POST /event -> IoT rule -> archive        {percentiles(latencies(options.events, flow))}")
