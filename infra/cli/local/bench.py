"""`conduit local bench`: figures for the local cloud, printed (never asserted by tests).

- time to start the emulator and deploy the stack;
- end-to-end latency per flow, p50/p95 over `events` events;
- CSV ingest rows per second, and AWS API calls made by the roles per 1,000 rows, set
  against what the service limits allow (SQS batches of 10, DynamoDB batches of 25).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from infra.cli.local import emulator as emulator_module
from infra.cli.local.commands import deploy
from infra.cli.local.emulator import Emulator
from infra.cli.local.flows import MessageIngestFlow, call_api, csv_file, wait_until


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"p50 {statistics.median(ordered) * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms   (n={len(ordered)})"


def _audit_counts(emulator: Emulator, start_line: int) -> Counter[str]:
    lines = Path(emulator.audit_log).read_text().splitlines()[start_line:]
    return Counter(json.loads(line)["action"] for line in lines if line.strip())


def _audit_length(emulator: Emulator) -> int:
    return len(Path(emulator.audit_log).read_text().splitlines())


def bench_message_ingest(emulator: Emulator, outputs: dict, events: int, rows: int) -> None:
    flow = MessageIngestFlow(emulator, outputs)
    table = outputs["table"]

    latencies = []
    for n in range(events):
        timestamp = 1104537600 + n  # 2005-01-01, one reading per event
        started = time.perf_counter()
        flow.drop_csv(f"bench/latency-{n}.csv", csv_file(1, first_timestamp=timestamp, location="latency"))
        key = {"date": {"S": "2005-01-01"}, "time": {"S": time.strftime("%H:%M:%S", time.gmtime(timestamp))
                                                      + ".000000@latency-0"}}
        wait_until(lambda key=key: "Item" in flow.dynamodb.get_item(TableName=table, Key=key), 60,
                   f"reading {n}", interval=0.01)
        latencies.append(time.perf_counter() - started)
    print(f"  CSV row in S3 -> item in DynamoDB        {_percentiles(latencies)}")

    api = []
    for n in range(events):
        started = time.perf_counter()
        result = flow.api("POST", "/message", {"timestamp": 1136073600 + n, "location": "bench-api", "source": "s",
                                               "local_dest": "a", "local_avg": 1, "remote_dest": "b",
                                               "remote_avg": 2})
        api.append(time.perf_counter() - started)
        assert result.status == 201, result
    print(f"  POST /message (SigV4) -> 201             {_percentiles(api)}")

    before_items, before_audit = flow.stored(), _audit_length(emulator)
    started = time.perf_counter()
    flow.drop_csv("bench/throughput.csv", csv_file(rows, first_timestamp=1167609600, location="bulk"))
    wait_until(lambda: flow.stored() >= before_items + rows, 600, f"{rows} stored readings", interval=0.2)
    elapsed = time.perf_counter() - started
    calls = _audit_counts(emulator, before_audit)
    per_thousand = {action: count * 1000 / rows for action, count in sorted(calls.items())}
    print(f"  CSV ingest of {rows} rows                 {rows / elapsed:7.0f} rows/s ({elapsed:.1f} s)")
    print("  AWS API calls by the roles per 1,000 rows:")
    for action, count in per_thousand.items():
        print(f"    {action:28s} {count:8.1f}")
    print("    (floor set by service limits: sqs:SendMessage 100 with batches of 10; DynamoDB 40 BatchWriteItem\n"
          "     with batches of 25. The store function writes with conditional PutItem, one per reading, so a\n"
          "     redelivered message never overwrites: 1,000 per 1,000 rows, by design.)")


def _latencies(events: int, flow: Any) -> list[float]:
    samples = []
    for n in range(events):
        started = time.perf_counter()
        flow(n)
        samples.append(time.perf_counter() - started)
    return samples


def bench_upload_extraction(emulator: Emulator, outputs: dict, events: int) -> None:
    s3 = emulator.client("s3")

    def flow(n: int) -> None:
        term = f"benchterm{n}x"
        s3.put_object(Bucket=outputs["bucket"], Key=f"uploads/bench-{n}.txt", Body=f"report {term}".encode())
        wait_until(lambda: (call_api(emulator, f"{outputs['apiUrl']}search?q={term}").body or {}).get("count"), 60,
                   f"document {n} searchable", interval=0.01)

    print(f"  upload -> extracted -> indexed -> found   {_percentiles(_latencies(events, flow))}")


def bench_currency_stream(emulator: Emulator, outputs: dict, events: int) -> None:
    url = outputs["apiUrl"] + "currency"

    def flow(n: int) -> None:
        rate = f"{n + 1}.25"
        assert call_api(emulator, url, "POST", {"symbol": "BEN", "rate": rate}).status == 200
        wait_until(lambda: call_api(emulator, url).body["rates"].get("BEN") == rate, 60, f"rate {n} in the view",
                   interval=0.01)

    print(f"  POST /currency -> stream -> SNS -> view   {_percentiles(_latencies(events, flow))}")


def bench_exchange_events(emulator: Emulator, outputs: dict, events: int) -> None:
    url, dynamodb = outputs["apiUrl"] + "event", emulator.client("dynamodb")

    def flow(n: int) -> None:
        posted = call_api(emulator, url, "POST", {"type": "sell", "price": n, "id": f"bench-{n}"})
        assert posted.status == 202, posted
        wait_until(lambda: dynamodb.query(TableName=outputs["archiveTable"], KeyConditionExpression="id = :i",
                                          ExpressionAttributeValues={":i": {"S": f"bench-{n}"}})["Count"], 60,
                   f"event {n} archived", interval=0.01)

    print(f"  POST /event -> IoT rule -> archive        {_percentiles(_latencies(events, flow))}")


def bench_cat_feeder(emulator: Emulator, outputs: dict, events: int) -> None:
    """Click -> ledger -> rule -> feeder -> data plane -> the command at the device's MQTT topic."""
    import queue
    import ssl
    import tempfile

    import paho.mqtt.client as mqtt

    device = outputs["devices"]["kitchen"]
    arrived: queue.Queue[bytes] = queue.Queue()
    with tempfile.TemporaryDirectory(prefix="conduit-bench-") as scratch:
        cert, key, ca = (Path(scratch) / n for n in ("cert.pem", "key.pem", "ca.pem"))
        cert.write_text(device["certificatePem"])
        key.write_text(device["privateKey"])
        ca.write_bytes(emulator.mqtt_ca())
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device["thingName"])
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        client.tls_set_context(context)
        client.on_message = lambda _c, _u, message: arrived.put(message.payload)
        client.connect("localhost", emulator.mqtt_port)
        client.subscribe(device["actionTopic"], qos=1)
        client.loop_start()
        time.sleep(0.5)
        url = outputs["apiUrl"] + "click"

        def flow(n: int) -> None:
            assert call_api(emulator, url, "POST", {"feeder": "kitchen", "clickType": "SINGLE"}).status == 202
            arrived.get(timeout=60)

        try:
            print(f"  click -> ledger -> MQTT at the device     {_percentiles(_latencies(events, flow))}")
        finally:
            client.loop_stop()
            client.disconnect()


def run_bench(stack: str, project_dir: Path, events: int = 200, rows: int = 2000) -> int:
    print(f"Conduit local cloud benchmark: stack '{stack}', {events} events per flow, {rows} CSV rows")
    try:
        emulator_module.stop()
        started = time.perf_counter()
        record = deploy(stack, project_dir)
        total = time.perf_counter() - started
        resources = sum(1 for r in record["resources"] if r["custom"])
        print(f"  deploy {resources} resources (emulator start {record['timings']['emulatorSeconds']:.1f} s, "
              f"program {record['timings']['deploySeconds']:.1f} s)   total {total:.1f} s")
        emulator = Emulator(**record["emulator"])
        outputs = record["outputs"]
        print(f"End-to-end latency per flow, {events} events each, one at a time (warm after the first):")
        if "uploadExtraction" in outputs:
            bench_upload_extraction(emulator, outputs["uploadExtraction"], events)
        if "currencyStream" in outputs:
            bench_currency_stream(emulator, outputs["currencyStream"], events)
        if "exchangeEvents" in outputs:
            bench_exchange_events(emulator, outputs["exchangeEvents"], events)
        if "catFeeder" in outputs:
            bench_cat_feeder(emulator, outputs["catFeeder"], events)
        if "messageIngest" in outputs:
            bench_message_ingest(emulator, outputs["messageIngest"], events, rows)
    finally:
        emulator_module.stop()
    return 0
