"""Message ingest on the local cloud: CSV files in, readings out of the table, the quarantine and the DLQ."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conduit.local.emulator import Emulator
from conduit.local.ingest_bench import big_file, ingest_figures
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
from conduit.local.traffic import HttpResult, call_api, csv_file, queue_depth, stored_items, wait_until
from handlers.message_ingest.models import Reading
from infra.systems import MESSAGE_INGEST

BAD_ROWS = [
    "not_a_timestamp!,location-03,wireless,router-1,not_a_number,device-1",  # the originals' bad row
    "1559041000.5,location-09,wired,router-2,abc,device-4,7.25",
    "1559041001.5,location-09,wired,router-2,1.5,device-4,7.25,surplus",
]


class MessageIngestFlow:
    """CSV files into the bucket; readings out of the table, the quarantine and the DLQ."""

    def __init__(self, emulator: Emulator, outputs: dict[str, Any]):
        self.emulator, self.outputs = emulator, outputs
        self.s3, self.sqs = emulator.client("s3"), emulator.client("sqs")
        self.dynamodb = emulator.client("dynamodb")

    def drop_csv(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.outputs["bucket"], Key=key, Body=body)

    def stored(self) -> int:
        return stored_items(self.emulator, self.outputs["table"])

    def quarantine(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.outputs["bucket"], Key=f"quarantine/{key}.rejected.json")["Body"]
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body.read())

    def dead_lettered(self) -> int:
        return queue_depth(self.emulator, self.outputs["deadLetterQueueUrl"])

    def in_flight(self) -> int:
        return queue_depth(self.emulator, self.outputs["queueUrl"])

    def api(self, method: str, path: str, body: Any = None, signed: bool = True, timeout: float = 30.0) -> HttpResult:
        return call_api(self.emulator, self.outputs["apiUrl"].rstrip("/") + path, method, body, signed, timeout)


def _object(flow: MessageIngestFlow, key: str) -> bytes | None:
    try:
        return flow.s3.get_object(Bucket=flow.outputs["bucket"], Key=key)["Body"].read()
    except flow.s3.exceptions.NoSuchKey:
        return None


class MessageIngestScenario(Scenario):
    system = MESSAGE_INGEST

    def demo(self, stage: Stage) -> bool:
        print("\nMessage ingest: a CSV with good and bad rows, then the HTTP API")
        flow = MessageIngestFlow(stage.emulator, stage.outputs)
        good = 50
        body = csv_file(good) + ("\n".join(BAD_ROWS) + "\n").encode()
        stored_before, dead_before = flow.stored(), flow.dead_lettered()  # what earlier traffic left
        started = time.perf_counter()
        flow.drop_csv("demo/readings.csv", body)
        wait_until(lambda: flow.stored() >= stored_before + good, 60, f"{good} stored readings")
        stored_at = time.perf_counter() - started
        report = wait_until(lambda: flow.quarantine("demo/readings.csv"), 30, "the quarantine report")
        stored, dead = flow.stored() - stored_before, flow.dead_lettered() - dead_before
        say(f"dropped s3://{stage.outputs['bucket']}/demo/readings.csv: {good + len(BAD_ROWS)} rows")
        say(f"{stored} readings stored in table {stage.outputs['table']}", stored_at)
        for rejected in report["rejected"]:
            say(f"quarantined line {rejected['line']}: {rejected['reason'][:110]}")
        say(f"{dead} message(s) in the readings DLQ, {flow.in_flight()} still in flight")
        # A second file disagrees with the first about one reading: quarantined with both values.
        first = csv_file(1).decode().splitlines()
        flow.drop_csv("demo/correction.csv", (first[0] + "\n" + first[1].rsplit(",", 1)[0] + ",99.99\n").encode())
        conflict_key = "quarantine/conflicts/demo/correction.csv/line-2.json"
        conflict = json.loads(wait_until(lambda: _object(flow, conflict_key), 30, "the conflicting reading"))
        say(f"demo/correction.csv line 2 disagrees with a stored reading: quarantined at {conflict_key} "
            f"(stored remote_avg {conflict['stored']['remote_avg']}, sent {conflict['rejected']['remote_avg']})")
        sent = good + len(BAD_ROWS) + 1
        accounted = stored + len(report["rejected"]) + 1 + dead
        say(f"nothing lost: {sent} rows sent = {stored} stored + {len(report['rejected']) + 1} quarantined "
            f"+ {dead} dead-lettered" if sent == accounted else f"MISMATCH: {sent} sent, {accounted} accounted for")

        reading = {"timestamp": 1559049999.25, "location": "api-demo", "source": "wired", "local_dest": "r",
                   "local_avg": 1.5, "remote_dest": "d", "remote_avg": 2.5}
        item = "/message/2019-05-28?time=13:26:39.250000@api-demo"
        change = {k: reading[k] for k in ("source", "local_dest", "remote_dest")} | {"local_avg": 9, "remote_avg": 9}
        for label, call in (
            ("POST /message", lambda: flow.api("POST", "/message", reading)),
            ("GET /message?limit=5", lambda: flow.api("GET", "/message?limit=5")),
            ("GET /message/2019-05-28", lambda: flow.api("GET", "/message/2019-05-28")),
            ("PUT /message/2019-05-28?time=...", lambda: flow.api("PUT", item, change)),
            ("GET /message/2019-05-28?time=...", lambda: flow.api("GET", item)),
            ("DELETE /message/2019-05-28?time=...", lambda: flow.api("DELETE", item)),
            ("DELETE it again", lambda: flow.api("DELETE", item)),
            ("POST /message with a malformed body", lambda: flow.api("POST", "/message", b"{oops")),
            ("GET /message unsigned", lambda: flow.api("GET", "/message", signed=False)),
        ):
            started = time.perf_counter()
            result = call()
            detail = result.body.get("message", "") if isinstance(result.body, dict) else ""
            say(f"{label} -> {result.status} {detail[:80]}", time.perf_counter() - started)
        return sent == accounted

    def bench(self, stage: Stage, options: BenchOptions) -> dict[str, Any]:
        emulator, table = stage.emulator, stage.outputs["table"]
        flow = MessageIngestFlow(emulator, stage.outputs)

        def one_row(n: int) -> None:
            timestamp = 1104537600 + n  # 2005-01-01, one reading per event
            flow.drop_csv(f"bench/latency-{n}.csv", csv_file(1, first_timestamp=timestamp, location="latency"))
            key = {"date": {"S": "2005-01-01"},
                   "time": {"S": time.strftime("%H:%M:%S", time.gmtime(timestamp)) + ".000000@latency-0"}}
            wait_until(lambda: "Item" in flow.dynamodb.get_item(TableName=table, Key=key), 60,
                       f"reading {n}", interval=0.01)

        row = measure("CSV row in S3 -> item in DynamoDB", options.events, one_row, options.progress)

        def post(n: int) -> None:
            result = flow.api("POST", "/message", {"timestamp": 1136073600 + n, "location": "bench-api",
                                                   "source": "s", "local_dest": "a", "local_avg": 1,
                                                   "remote_dest": "b", "remote_avg": 2})
            expect(result.status == 201, f"POST /message {n} should answer 201", result)

        api = measure("POST /message (SigV4) -> 201", options.events, post, options.progress)
        figures = {"flows": {"CSV row": row.figures(), "POST /message": api.figures()},
                   "ingest": ingest_figures(emulator, stage.outputs, options.rows)}
        if options.big_file:
            figures["bigFile"] = big_file(emulator, stage.outputs, options.big_file)
        return figures

    def soak(self, stage: Stage, options: SoakOptions) -> list[Account]:
        return [soak_ingest(stage, options), soak_api(stage, options)]

    def usage_flows(self) -> list[UsageFlow]:
        return [UsageFlow("CSV row", "row", 300, usage_csv_rows),
                UsageFlow("POST /message", "request", 20, usage_posts)]


ROWS_PER_FILE = 100  # the profile's files: an S3 PUT and GET are shared by this many rows


def usage_csv_rows(stage: Stage, rows: int) -> ClientUsage:
    flow = MessageIngestFlow(stage.emulator, stage.outputs)
    before, tag, sent, files = flow.stored(), time.time_ns() % 10**9, 0, 0
    while sent < rows:
        count = min(ROWS_PER_FILE, rows - sent)
        flow.drop_csv(f"usage/{tag}-{files}.csv",
                      csv_file(count, first_timestamp=1325376000, location=f"u{tag}-{files}"))
        sent, files = sent + count, files + 1
    wait_until(lambda: flow.stored() >= before + rows, 300, f"{rows} profiled rows stored", interval=0.2)
    return ClientUsage(Counter({"s3.putRequests": files}))


def usage_posts(stage: Stage, requests: int) -> ClientUsage:
    flow, tag = MessageIngestFlow(stage.emulator, stage.outputs), time.time_ns() % 10**9
    for n in range(requests):
        result = flow.api("POST", "/message", {"timestamp": 1356998400 + n, "location": f"u{tag}", "source": "s",
                                               "local_dest": "a", "local_avg": 1, "remote_dest": "b", "remote_avg": 2})
        expect(result.status == 201, f"POST /message {n} should answer 201", result)
    return ClientUsage(Counter({"apiGateway.httpRequests": requests}))


def _reading_row(n: int, location: str, remote_avg: str = "2.5") -> str:
    return f"{1230768000 + n * 0.25:.6f},{location},wired,r-1,1.5,d-1,{remote_avg}"


def soak_ingest(stage: Stage, options: SoakOptions) -> Account:
    """CSV files with good, bad, duplicated and conflicting rows, and poison sent straight to the
    queue: every row must end stored, quarantined (rejected or conflicting) or dead-lettered."""
    flow = MessageIngestFlow(stage.emulator, stage.outputs)
    files, per_file = max(2, options.scale // 25), 25
    expected: dict[str, list[tuple[int, str]]] = {}  # file -> (line, row) of every data row sent
    for f in range(files):
        rows = [_reading_row(f * 1000 + n, f"soak-{f}") for n in range(per_file)]
        rows += ["not_a_timestamp!,soak,wireless,r,not_a_number,d", rows[0],  # bad, and a duplicate of line 2
                 _reading_row(f * 1000 + 1, f"soak-{f}", remote_avg="9.75")]  # a conflict with line 3
        key = f"soak/file-{f}.csv"
        expected[key] = list(enumerate(rows, start=2))
        flow.drop_csv(key, ("timestamp,location,source,local_dest,local_avg,remote_dest,remote_avg\n"
                            + "\n".join(rows) + "\n").encode())
    poison = max(1, options.scale // 50)
    dead_before = flow.dead_lettered()
    for n in range(poison):
        flow.sqs.send_message(QueueUrl=stage.outputs["queueUrl"], MessageBody=json.dumps({"reading": f"poison-{n}"}))
    sent = sum(len(rows) for rows in expected.values()) + poison

    def reports() -> dict[str, dict[str, Any]] | None:
        found = {key: flow.quarantine(key) for key in expected}
        return found if all(found.values()) else None

    rejected = options.wait(stage, reports, "every file's quarantine report") or {
        key: flow.quarantine(key) or {"rejected": []} for key in expected}
    s3, bucket = flow.s3, stage.outputs["bucket"]

    def conflicts() -> set[tuple[str, int]]:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="quarantine/conflicts/soak/").get("Contents", [])
        return {(o["Key"].split("/", 2)[2].rsplit("/line-", 1)[0],
                 int(o["Key"].rsplit("/line-", 1)[1].removesuffix(".json"))) for o in listed}

    options.wait(stage, lambda: len(conflicts()) >= files, "every conflicting row quarantined")
    options.wait(stage, lambda: flow.dead_lettered() - dead_before >= poison, "the poison messages in the DLQ",
                 interval=0.5)

    def account() -> tuple[dict[str, int], list[str]]:
        outcomes = {"stored": 0, "duplicates stored once": 0, "quarantined": 0, "conflicts quarantined": 0,
                    "dead-lettered": flow.dead_lettered() - dead_before}
        problems = []
        conflicting = conflicts()
        for key, rows in expected.items():
            refused = {r["line"] for r in rejected[key]["rejected"]}
            seen: set[str] = set()
            for line, row in rows:
                if line in refused:
                    outcomes["quarantined"] += 1
                elif (key, line) in conflicting:
                    outcomes["conflicts quarantined"] += 1
                elif _stored(flow, row):
                    outcomes["duplicates stored once" if row in seen else "stored"] += 1
                else:
                    problems.append(f"{key} line {line} is neither stored nor quarantined: {row[:60]}")
                seen.add(row)
        return outcomes, problems

    # A batch whose invocation failed (a crash, a timeout) comes back after its visibility timeout:
    # its rows are judged once the local cloud has stored them or gone idle without them.
    options.wait(stage, lambda: not account()[1], "every good row stored", interval=1.0)
    outcomes, problems = account()
    return Account("message ingest (CSV rows + poison)", sent, outcomes, problems)


def _stored(flow: MessageIngestFlow, row: str) -> bool:
    values = dict(zip(("timestamp", "location", "source", "local_dest", "local_avg", "remote_dest", "remote_avg"),
                      row.split(","), strict=True))
    reading = Reading.model_validate(values)
    item = flow.dynamodb.get_item(TableName=flow.outputs["table"], ConsistentRead=True,
                                  Key={k: {"S": v} for k, v in reading.key().items()}).get("Item")
    return item is not None and item["remote_avg"]["N"] == str(reading.remote_avg.normalize())


def soak_api(stage: Stage, options: SoakOptions) -> Account:
    """POST /message with good, malformed and hostile bodies: every call answered, none with a 5xx."""
    flow = MessageIngestFlow(stage.emulator, stage.outputs)
    bodies: list[Any] = [{"timestamp": 1262304000 + n, "location": "soak-api", "source": "s", "local_dest": "a",
                          "local_avg": 1, "remote_dest": "b", "remote_avg": 2} for n in range(options.scale // 2)]
    bodies += [b"[" * 5000 + b"]" * 5000, b'{"timestamp": ' + b"9" * 5000 + b"}", b"{oops",
               {"timestamp": "1e-200", "location": "x"}] * max(1, options.scale // 40)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(
            lambda body: flow.api("POST", "/message", body, timeout=options.patience).status, bodies))
    outcomes = {"created": sum(s == 201 for s in statuses), "refused with a 4xx": sum(400 <= s < 500 for s in statuses)}
    problems = [f"{sum(s >= 500 for s in statuses)} request(s) got a 5xx"] if any(s >= 500 for s in statuses) else []
    return Account("message ingest API (hostile bodies)", len(bodies), outcomes, problems)
