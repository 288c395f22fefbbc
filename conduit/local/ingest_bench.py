"""The bench's ingest figures: the queueing stage (object in S3 -> every row on the queue) and end to
end (object in S3 -> every row stored), for the stack's ingest and for seed 001's design deployed
beside it on the same emulator, in the same run.

Every figure is read at its destination: queue depth from SQS, stored items from DynamoDB,
invocations and their durations from the functions' REPORT log lines, API calls from the
launcher's audit of every role.
"""

from __future__ import annotations

import io
import json
import math
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conduit.local.audit import TRANSACTION_UNITS, audit_entries, audit_length, function_name, role_name
from conduit.local.emulator import Emulator
from conduit.local.traffic import csv_file, queue_depth, stored_items, wait_until

BASELINE_CODE = Path(__file__).parent / "baseline" / "seed_001_ingest.py"


@dataclass(frozen=True)
class IngestDesign:
    """One ingest pipeline on the emulator: where files go, the queue, the table, its two functions."""

    label: str
    bucket: str
    queue_url: str
    table: str
    ingest_function: str
    store_function: str
    mapping: str
    memory_mb: int


def stack_design(emulator: Emulator, outputs: dict[str, Any]) -> IngestDesign:
    """The deployed stack's ingest, found through its wiring: the queue's mapping and the bucket's notification."""
    lam, sqs, s3 = emulator.client("lambda"), emulator.client("sqs"), emulator.client("s3")
    queue_arn = sqs.get_queue_attributes(QueueUrl=outputs["queueUrl"],
                                         AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    [mapping] = [m for m in lam.list_event_source_mappings()["EventSourceMappings"]
                 if m["EventSourceArn"] == queue_arn]
    notification = s3.get_bucket_notification_configuration(Bucket=outputs["bucket"])
    [ingest] = [c["LambdaFunctionArn"] for c in notification.get("LambdaFunctionConfigurations", [])]
    store = function_name(mapping["FunctionArn"])
    memory = lam.get_function_configuration(FunctionName=store)["MemorySize"]
    return IngestDesign("conduit", outputs["bucket"], outputs["queueUrl"], outputs["table"], function_name(ingest),
                        store, mapping["UUID"], memory)


def deploy_seed_001(emulator: Emulator, memory_mb: int) -> IngestDesign:
    """Seed 001's design with the same memory, its own bucket, queue, table and least-privilege role."""
    suffix = f"{int(time.time())}"
    name = f"seed-001-{suffix}"
    s3, sqs, dynamodb = emulator.client("s3"), emulator.client("sqs"), emulator.client("dynamodb")
    iam, lam = emulator.client("iam"), emulator.client("lambda")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": emulator.region})
    queue_url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    table_arn = dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "date", "KeyType": "HASH"}, {"AttributeName": "time", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "date", "AttributeType": "S"},
                              {"AttributeName": "time", "AttributeType": "S"}])["TableDescription"]["TableArn"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    account = role_arn.split(":")[4]
    iam.put_role_policy(RoleName=name, PolicyName="seed-001", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{name}/*"]},
            {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                                           "sqs:GetQueueAttributes"], "Resource": [queue_arn]},
            {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [table_arn]},
            {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [f"arn:aws:logs:{emulator.region}:{account}:log-group:/aws/lambda/{name}-*"]}]}))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(BASELINE_CODE, BASELINE_CODE.name)
    functions = {}
    for part in ("ingest", "store"):
        function_name = f"{name}-{part}"
        functions[part] = lam.create_function(
            FunctionName=function_name, Runtime="python3.13", Role=role_arn, Handler=f"seed_001_ingest.{part}",
            Code={"ZipFile": archive.getvalue()}, MemorySize=memory_mb, Timeout=60,
            Environment={"Variables": {"QUEUE_URL": queue_url, "TABLE_NAME": name}})["FunctionArn"]
        wait_until(lambda n=function_name: lam.get_function_configuration(FunctionName=n).get("State", "Active")
                   == "Active", 30, f"{function_name} active")
    lam.add_permission(FunctionName=functions["ingest"], StatementId="s3", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{name}", SourceAccount=account)
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": functions["ingest"], "Events": ["s3:ObjectCreated:*"]}]})
    mapping = lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=functions["store"],
                                              BatchSize=10)["UUID"]
    return IngestDesign("seed 001", name, queue_url, name, f"{name}-ingest", f"{name}-store", mapping, memory_mb)


def _set_mapping(emulator: Emulator, design: IngestDesign, enabled: bool) -> None:
    lam = emulator.client("lambda")
    lam.update_event_source_mapping(UUID=design.mapping, Enabled=enabled)
    state = "Enabled" if enabled else "Disabled"
    wait_until(lambda: lam.get_event_source_mapping(UUID=design.mapping)["State"] == state, 30,
               f"the {design.label} queue mapping {state.lower()}")


def report_lines(emulator: Emulator, function: str, since_ms: int) -> list[tuple[int, str]]:
    """(timestamp in ms, line) of each REPORT line `function` logged since `since_ms`, every page of
    them (the emulator stamps each line when the invocation ends); none for a function never run."""
    logs, found, token = emulator.client("logs"), [], None
    while True:
        try:
            page = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", startTime=since_ms,
                                          **({"nextToken": token} if token else {}))
        except logs.exceptions.ResourceNotFoundException:
            return []
        found += [(e["timestamp"], e["message"]) for e in page.get("events", [])
                  if e["message"].startswith("REPORT RequestId:")]
        token = page.get("nextToken")
        if not token:
            return found


def durations(emulator: Emulator, function: str, since_ms: int) -> list[tuple[float, float]]:
    """(end, seconds) of each invocation of `function` since `since_ms`, from its REPORT lines."""
    return [(stamp / 1000, float(line.split("Duration: ", 1)[1].split(" ms", 1)[0]) / 1000)
            for stamp, line in report_lines(emulator, function, since_ms)]


def role_calls(emulator: Emulator, functions: list[str], start_line: int) -> Counter[str]:
    """API calls the functions' roles made since line `start_line` of the audit log, by IAM action;
    `writeRequests` counts DynamoDB item writes as billed (an item of a transaction twice)."""
    lam = emulator.client("lambda")
    roles = {lam.get_function_configuration(FunctionName=f)["Role"].rsplit("/", 1)[1] for f in functions}
    entries = [e for e in audit_entries(emulator.audit_log, start_line) if role_name(e["principal"]) in roles]
    calls = Counter(e["action"] for e in entries)
    calls["writeRequests"] = sum(TRANSACTION_UNITS if e.get("within") else 1 for e in entries
                                 if e["action"] in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"))
    return calls


def busy_seconds(invocations: list[tuple[float, float]], window: tuple[float, float]) -> float:
    """How long within `window` (epoch seconds) at least one of the invocations was running: the
    union of their intervals, clipped to the window."""
    busy, reach = 0.0, window[0]
    for start, end in sorted((end - seconds, min(end, window[1])) for end, seconds in invocations):
        if end > reach:
            busy += end - max(start, reach)
            reach = end
    return busy


def _write_units(emulator: Emulator, design: IngestDesign) -> int:
    """Write units one stored item costs: 1 per started KB of its size (names plus values)."""
    items = emulator.client("dynamodb").scan(TableName=design.table, Limit=1)["Items"]
    size = sum(len(name) + len(next(iter(value.values()))) for name, value in items[0].items()) if items else 0
    return max(1, math.ceil(size / 1024))


def measure(emulator: Emulator, design: IngestDesign, rows: int, first_timestamp: int) -> dict[str, Any]:
    """The queueing stage with the store's mapping off (so the queue keeps every row), then, mapping on,
    end to end with a second file of new rows."""
    def depth() -> int:
        return queue_depth(emulator, design.queue_url)

    def stored() -> int:
        return stored_items(emulator, design.table)

    wait_until(lambda: depth() == 0, 120, f"the {design.label} queue empty before measuring")
    _set_mapping(emulator, design, False)
    s3 = emulator.client("s3")
    stored_before = stored()
    started = time.perf_counter()
    s3.put_object(Bucket=design.bucket, Key="bench/queueing.csv",
                  Body=csv_file(rows, first_timestamp=first_timestamp, location=f"{design.label[:4]}-queue"))
    wait_until(lambda: depth() >= rows, 600, f"{rows} rows on the {design.label} queue", 0.02)
    queue_seconds = time.perf_counter() - started
    _set_mapping(emulator, design, True)
    wait_until(lambda: stored() >= stored_before + rows, 600, "the queueing file drained", 0.2)

    stored_before, audit_start = stored(), audit_length(emulator.audit_log)
    since_ms = int(time.time() * 1000) - 1000
    started, window_start = time.perf_counter(), time.time()
    s3.put_object(Bucket=design.bucket, Key="bench/end-to-end.csv",
                  Body=csv_file(rows, first_timestamp=first_timestamp + rows, location=f"{design.label[:4]}-e2e"))
    wait_until(lambda: stored() >= stored_before + rows, 600, f"{rows} {design.label} rows stored", 0.05)
    seconds, window = time.perf_counter() - started, (window_start, time.time())
    time.sleep(0.5)  # the last REPORT line is written just after the last item
    ingest, store = durations(emulator, design.ingest_function, since_ms), durations(emulator, design.store_function,
                                                                                     since_ms)
    calls = role_calls(emulator, [design.ingest_function, design.store_function], audit_start)
    per_1000 = 1000 / rows
    handler = sum(s for _, s in ingest) + sum(s for _, s in store)
    busy = busy_seconds(ingest + store, window)
    return {
        "rows": rows, "queueSeconds": round(queue_seconds, 3), "queueRowsPerSecond": round(rows / queue_seconds, 1),
        "seconds": round(seconds, 3), "rowsPerSecond": round(rows / seconds, 1),
        "per1000Rows": {
            "invocations": {"ingest": round(len(ingest) * per_1000, 1), "store": round(len(store) * per_1000, 1)},
            "lambdaGbSeconds": round(handler * design.memory_mb / 1024 * per_1000, 3),
            # Lambda's SQS poller: one ReceiveMessage and one DeleteMessageBatch per batch it invokes with
            # (empty long polls while idle are not counted).
            "sqsRequests": {"send": round(calls["sqs:SendMessage"] * per_1000, 1),
                            "receive": round(len(store) * per_1000, 1), "delete": round(len(store) * per_1000, 1)},
            "dynamodbWriteUnits": round(calls.pop("writeRequests") * _write_units(emulator, design) * per_1000, 1),
            "calls": {action: round(n * per_1000, 1) for action, n in sorted(calls.items())},
        },
        "roleCallsPerSecond": round(sum(calls.values()) / seconds, 1),
        "breakdown": {"wallSeconds": round(seconds, 3),
                      "ingestHandlerSeconds": round(sum(s for _, s in ingest), 3),
                      "storeHandlerSeconds": round(sum(s for _, s in store), 3), "storeInvocations": len(store),
                      "handlersRunningSeconds": round(busy, 3),
                      "noHandlerRunningSeconds": round(max(0.0, seconds - busy), 3)},
    }


def worker_peak_mib(function: str) -> float:
    """The highest peak resident memory (VmHWM) of the function's live worker processes, in MiB: the
    emulator runs each as a process whose command line names the function's code folder."""
    peak = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"ministack-lambda-{function}-".encode() not in (proc / "cmdline").read_bytes():
                continue
            status = (proc / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return round(peak / 1024, 1)


def big_file(emulator: Emulator, outputs: dict[str, Any], rows: int) -> dict[str, Any]:
    """One file of `rows` rows through the ingest function, the store's mapping off: how fast the rows
    reach the queue, how many invocations (each chunk's continuation) the file takes, and the ingest
    workers' peak memory. The queue is purged afterwards (storing that many rows is end to end's job)."""
    design = stack_design(emulator, outputs)
    wait_until(lambda: queue_depth(emulator, design.queue_url) == 0, 120, "the queue empty before the big file")
    _set_mapping(emulator, design, False)
    since_ms = int(time.time() * 1000) - 1000
    body = csv_file(rows, first_timestamp=1199145600, location="big-file")
    started = time.perf_counter()
    emulator.client("s3").put_object(Bucket=design.bucket, Key="bench/big.csv", Body=body)
    wait_until(lambda: queue_depth(emulator, design.queue_url) >= rows, 3600, f"{rows} rows on the queue", 0.2)
    seconds = time.perf_counter() - started
    time.sleep(0.5)
    invocations = len(durations(emulator, design.ingest_function, since_ms))
    figures = {"rows": rows, "megabytes": round(len(body) / 2**20, 1), "seconds": round(seconds, 1),
               "rowsPerSecond": round(rows / seconds), "invocations": invocations,
               "workerPeakMiB": worker_peak_mib(design.ingest_function)}
    emulator.client("sqs").purge_queue(QueueUrl=design.queue_url)
    _set_mapping(emulator, design, True)
    print(f"  one file of {rows:,} rows ({figures['megabytes']} MiB): on the queue in {figures['seconds']} s "
          f"({figures['rowsPerSecond']:,} rows/s), {invocations} ingest invocations, ingest workers' peak "
          f"memory {figures['workerPeakMiB']} MiB")
    return figures


def emulator_ceiling(emulator: Emulator, requests: int = 200, threads: int = 8) -> dict[str, float]:
    """What the emulator itself can serve, from the bench host with `threads` callers: SendMessageBatch
    of 10 and conditional PutItem calls per second. A design that needs N such calls per row cannot go
    faster here than the ceiling / N, however it is written; on AWS the ceiling is far higher."""
    sqs, dynamodb = emulator.client("sqs"), emulator.client("dynamodb")
    name = f"bench-ceiling-{int(time.time())}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    body = csv_file(1).decode()
    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        list(pool.map(lambda n: sqs.send_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "MessageBody": body} for i in range(10)]), range(requests)))
        batches = requests / (time.perf_counter() - started)
        started = time.perf_counter()
        list(pool.map(lambda n: dynamodb.put_item(TableName=name, Item={"k": {"S": str(n)}, "v": {"S": body}},
                                                  ConditionExpression="attribute_not_exists(k)"), range(requests)))
        puts = requests / (time.perf_counter() - started)
    sqs.delete_queue(QueueUrl=queue_url)
    dynamodb.delete_table(TableName=name)
    return {"sendMessageBatchPerSecond": round(batches, 1), "conditionalPutItemPerSecond": round(puts, 1)}


def ingest_figures(emulator: Emulator, outputs: dict[str, Any], rows: int) -> dict[str, Any]:
    """Both designs on the same emulator, printed and returned with the ratios the targets are about."""
    ours = stack_design(emulator, outputs)
    baseline = deploy_seed_001(emulator, ours.memory_mb)
    figures = {ours.label: measure(emulator, ours, rows, 1167609600),
               baseline.label: measure(emulator, baseline, rows, 1167609600)}
    now, then = figures["conduit"], figures["seed 001"]
    result = {
        "rows": rows,
        "queueRowsPerSecond": now["queueRowsPerSecond"], "rowsPerSecond": now["rowsPerSecond"],
        "baselineQueueRowsPerSecond": then["queueRowsPerSecond"], "baselineRowsPerSecond": then["rowsPerSecond"],
        "queueSpeedup": round(now["queueRowsPerSecond"] / then["queueRowsPerSecond"], 2),
        "endToEndSpeedup": round(now["rowsPerSecond"] / then["rowsPerSecond"], 2),
        "designs": figures,
        "emulatorCeiling": emulator_ceiling(emulator),
    }
    print(f"  CSV ingest of {rows} rows, this stack vs seed 001's design on the same emulator:")
    print(f"    {'':32s}{'conduit':>12s}{'seed 001':>12s}")
    for label, key in (("queueing stage (rows/s)", "queueRowsPerSecond"), ("end to end (rows/s)", "rowsPerSecond")):
        print(f"    {label:32s}{now[key]:12.0f}{then[key]:12.0f}")
    for label, path in (("ingest invocations /1000 rows", ("invocations", "ingest")),
                        ("store invocations /1000 rows", ("invocations", "store")),
                        ("SQS send requests /1000 rows", ("sqsRequests", "send")),
                        ("SQS receive requests /1000 rows", ("sqsRequests", "receive")),
                        ("SQS delete requests /1000 rows", ("sqsRequests", "delete")),
                        ("DynamoDB write units /1000 rows", ("dynamodbWriteUnits",)),
                        ("Lambda GB-s /1000 rows", ("lambdaGbSeconds",))):
        a, b = now["per1000Rows"], then["per1000Rows"]
        for part in path:
            a, b = a[part], b[part]
        print(f"    {label:32s}{a:12.1f}{b:12.1f}")
    for label, design in figures.items():
        part = design["breakdown"]
        print(f"    {label}: end to end {part['wallSeconds']:.2f} s, of which a handler was running "
              f"{part['handlersRunningSeconds']:.2f} s and none {part['noHandlerRunningSeconds']:.2f} s "
              f"(notification, polling, dispatch); handler time summed: ingest {part['ingestHandlerSeconds']:.2f} s,"
              f" store {part['storeHandlerSeconds']:.2f} s over {part['storeInvocations']} invocations")
    ceiling = result["emulatorCeiling"]
    print(f"    the emulator itself serves {ceiling['sendMessageBatchPerSecond']:.0f} SendMessageBatch/s "
          f"(a queueing ceiling of {ceiling['sendMessageBatchPerSecond'] * 10:.0f} rows/s) and "
          f"{ceiling['conditionalPutItemPerSecond']:.0f} conditional PutItem/s (a storing ceiling of that many rows/s);"
          f" the roles made {now['roleCallsPerSecond']:.0f} (conduit) and {then['roleCallsPerSecond']:.0f} (seed 001)"
          " calls/s end to end")
    print(f"    queueing stage {result['queueSpeedup']}x the baseline (target >= 5x); "
          f"end to end {result['endToEndSpeedup']}x (target >= 2x)")
    return result
